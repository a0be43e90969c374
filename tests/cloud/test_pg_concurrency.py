"""Two cloud nodes on one PostgreSQL: two store instances with a pool each, doing the same thing at the same
moment (a cabinet's retry reaching the other node, two owners pressing the same button). Each thing happens
once: that rests on the database's constraints and row locks, since the nodes share no memory."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

import aiohttp
import psycopg
import pytest

from cloud_stub.core import Core
from cloud_stub.limits import DEFAULT_LIMITS
from cloud_stub.server import start_cloud
from cloud_stub.store import CabinetExistsError, InvalidToken, PostgresCloudStore
from sync_client.schema import Event, dumps, sign_request
from tests.cloud.cloud_helpers import CAB, Clock, make_event

T = TypeVar("T")
SHOP = "shop-a"
DAY = "2026-11-30"
ROUNDS = 12


@pytest.fixture
def nodes(pg_url: str) -> Iterator[tuple[PostgresCloudStore, PostgresCloudStore]]:
    one, two = PostgresCloudStore(pg_url, pool_size=4), PostgresCloudStore(pg_url, pool_size=4)
    yield one, two
    one.close()
    two.close()


def at_once(*calls: Callable[[], T]) -> list[T | BaseException]:
    """Run the calls on threads released together; each one's result or exception, in order."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], T]) -> T | BaseException:
        barrier.wait(10)
        try:
            return call()
        except Exception as exc:  # compared by the caller
            return exc

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def sale_batch(cabinet_id: str, first_seq: int, sale_id: str) -> list[Event]:
    facts: dict[str, Any] = {"sale_id": sale_id, "sku": "SCOOT-S1", "amount_cents": 100, "currency": "EUR"}
    kinds = [
        ("heartbeat", {"backlog": 0, "software": "1", "faults": []}),
        ("payment.approved", {**facts, "method": "terminal", "receipt_no": "1"}),
        ("sale.completed", facts),
        ("stock.changed", {"sku": "SCOOT-S1", "count": 5}),
    ]
    return [
        Event(str(uuid.uuid4()), cabinet_id, first_seq + i, kind, f"{DAY}T10:00:{i:02d}.000Z", float(i), payload)
        for i, (kind, payload) in enumerate(kinds)
    ]


def test_the_same_batches_through_two_nodes_are_stored_and_counted_once(
    nodes: tuple[PostgresCloudStore, PostgresCloudStore],
) -> None:
    one, two = nodes
    one.add_retailer(SHOP)
    cabinets = ["cab-1", "cab-2"]
    for cabinet_id in cabinets:
        one.add_cabinet(cabinet_id, SHOP)
    for n in range(ROUNDS):
        batches = {c: sale_batch(c, 1 + 4 * n, f"{c}-s{n}") for c in cabinets}
        # Each cabinet's batch through both nodes at once, and the two cabinets (one retailer's fleet rows) too.
        results = at_once(*(partial(s.store_events, c, batches[c]) for s in nodes for c in cabinets))
        for result in results:
            assert not isinstance(result, BaseException), result
        for i, cabinet_id in enumerate(cabinets):
            mine = [results[i], results[len(cabinets) + i]]  # this cabinet's two answers
            ids = [e.id for e in batches[cabinet_id]]
            assert [r.acked for r in mine] == [ids, ids]  # type: ignore[union-attr]
            assert sorted(r.stored for r in mine) == [0, 4]  # type: ignore[union-attr]
    assert one.count_events() == two.count_events() == ROUNDS * 4 * len(cabinets)
    summary = two.sales_summary(SHOP, since_day=DAY, until_day=DAY)
    assert [(p["count"], p["cents"]) for p in summary["periods"]] == [(ROUNDS * 2, ROUNDS * 2 * 100)]
    page, total = one.fleet_page(SHOP, online_since="2000-01-01T00:00:00.000Z")
    assert total == 2 and [r["sales_count"] for r in page] == [ROUNDS, ROUNDS]
    funnel = one.funnel(SHOP, since_day=DAY, until_day=DAY)
    assert sum(d["sold"] for d in funnel["days"]) == ROUNDS * 2


def test_a_nonce_is_used_once_across_nodes(nodes: tuple[PostgresCloudStore, PostgresCloudStore]) -> None:
    one, two = nodes
    one.add_cabinet("cab-1")
    for _ in range(ROUNDS):
        nonce = uuid.uuid4().hex
        answers = at_once(*(partial(s.remember_nonce, "cab-1", nonce, keep_s=600) for s in nodes))
        assert sorted(answers) == [False, True]  # type: ignore[type-var]


def test_an_enrollment_token_registers_one_cabinet_across_nodes(
    nodes: tuple[PostgresCloudStore, PostgresCloudStore],
) -> None:
    one, two = nodes
    one.add_retailer(SHOP)
    for n in range(ROUNDS):
        token = one.add_enroll_token(SHOP, 3600)
        keys = [bytes(range(k, k + 32)) for k in (n, n + 100)]
        answers = at_once(
            partial(one.enroll, token, f"new-{n}-a", keys[0]), partial(two.enroll, token, f"new-{n}-b", keys[1])
        )
        assert sorted(type(a).__name__ for a in answers) == ["InvalidToken", "str"], answers
        assert answers.count(SHOP) == 1 and sum(isinstance(a, InvalidToken) for a in answers) == 1
    assert len(one.cabinets_of(SHOP)) == ROUNDS


def test_a_command_is_delivered_and_acknowledged_once_across_nodes(
    nodes: tuple[PostgresCloudStore, PostgresCloudStore],
) -> None:
    one, two = nodes
    one.add_cabinet("cab-1")
    for n in range(ROUNDS):
        command_id = one.add_command("cab-1", "refresh_config", {}, now=1_800_000_000.0 + n)
        polls = at_once(
            partial(one.deliver_commands, "cab-1", now=1_800_000_100.0 + n),
            partial(two.deliver_commands, "cab-1", now=1_800_000_200.0 + n),
        )
        delivered = {c["delivered_at"] for poll in polls for c in poll if c["id"] == command_id}  # type: ignore[union-attr]
        assert len(delivered) == 1, "the first hand-over is noted once"
        acks = at_once(
            partial(one.ack_command, command_id, "applied-by-one"),
            partial(two.ack_command, command_id, "applied-by-two"),
        )
        assert acks[0] == acks[1], "both nodes answer with the one acknowledgement stored"
        assert acks[0]["result"] in ("applied-by-one", "applied-by-two")  # type: ignore[index]
    assert one.pending_commands("cab-1") == []


def test_a_payment_moves_once_across_nodes(nodes: tuple[PostgresCloudStore, PostgresCloudStore]) -> None:
    one, two = nodes
    one.add_cabinet("cab-1")
    for n in range(ROUNDS):
        payment, created = one.create_payment("cab-1", f"s{n}", 500, "EUR", 4_000_000_000.0)
        assert created
        moves = at_once(*(partial(s.move_payment, payment["id"], "pending", "paid") for s in nodes))
        assert sorted(changed for _, changed in moves) == [False, True]  # type: ignore[misc]
        assert {record["status"] for record, _ in moves} == {"paid"}  # type: ignore[misc]


async def test_a_batch_sent_to_two_nodes_at_once_is_acknowledged_by_both_and_stored_once(
    nodes: tuple[PostgresCloudStore, PostgresCloudStore],
) -> None:
    """Over HTTP: two servers on the one database, the cabinet's batch reaching both (a retry through the
    other node while the first still works on it); a request replayed to the other node is refused."""
    one, _ = nodes
    one.add_retailer(SHOP)
    key = one.add_cabinet(CAB, SHOP)
    clock = Clock()
    servers = [await start_cloud(store, now=clock) for store in nodes]
    try:
        async with aiohttp.ClientSession() as session:
            for n in range(ROUNDS):
                batch = [make_event(1 + 3 * n + i) for i in range(3)]
                body = dumps({"cabinet_id": CAB, "events": batch})

                async def post(url: str, headers: dict[str, str], body: bytes = body) -> tuple[int, Any]:
                    async with session.post(url + "/v1/events", data=body, headers=headers) as resp:
                        return resp.status, await resp.json()

                signed = [sign_request(key, CAB, "POST", "/v1/events", body, now=clock.t) for _ in servers]
                answers = await asyncio.gather(*(post(url, h) for (_, url), h in zip(servers, signed, strict=True)))
                ids = [e["id"] for e in batch]
                assert answers == [(200, {"acked": ids, "rejected": []})] * 2
                replayed = await post(servers[1][1], signed[0])  # the first node's request, again at the second
                assert replayed[0] == 401
        assert one.count_events() == 3 * ROUNDS
    finally:
        for runner, _ in servers:
            await runner.cleanup()


async def test_a_call_postgresql_rolled_back_to_break_a_deadlock_is_run_again_and_other_errors_are_not(
    nodes: tuple[PostgresCloudStore, PostgresCloudStore],
) -> None:
    core = Core(nodes[0], Clock(), DEFAULT_LIMITS)
    calls: list[int] = []

    def victim_once() -> str:  # as a store call whose transaction PostgreSQL chose as the deadlock's victim
        calls.append(1)
        if len(calls) == 1:
            raise psycopg.errors.DeadlockDetected("deadlock detected")
        return "stored"

    assert await core.db(victim_once) == "stored" and len(calls) == 2

    def always_conflicting() -> None:
        calls.append(1)
        raise psycopg.errors.UniqueViolation("duplicate key")

    calls.clear()
    with pytest.raises(psycopg.errors.UniqueViolation):
        await core.db(always_conflicting)
    assert len(calls) == 1, "a broken constraint is an answer, not a reason to try again"
    await core.close(aiohttp.web.Application())


def test_two_cabinets_enrolling_one_new_id_at_once_one_is_registered_the_other_told_it_is_taken(
    nodes: tuple[PostgresCloudStore, PostgresCloudStore],
) -> None:
    """Two technicians' cabinets, each with a token of its own, enrolling the same new id through two nodes at
    the same instant: one is registered, the other gets CabinetExistsError (the API's 409) and keeps its token."""
    one, two = nodes
    one.add_retailer(SHOP)
    for n in range(ROUNDS):
        tokens = [one.add_enroll_token(SHOP, 3600), two.add_enroll_token(SHOP, 3600)]
        keys = [bytes(range(k, k + 32)) for k in (n, n + 100)]
        answers = at_once(*(partial(s.enroll, t, f"new-{n}", k) for s, t, k in zip(nodes, tokens, keys, strict=True)))
        assert sorted(type(a).__name__ for a in answers) == ["CabinetExistsError", "str"], answers
        loser = tokens[[isinstance(a, CabinetExistsError) for a in answers].index(True)]
        assert one.enroll(loser, f"other-{n}", keys[0]) == SHOP, "the refused cabinet's token is still unspent"
    assert len(one.cabinets_of(SHOP)) == 2 * ROUNDS


def test_a_cabinet_id_added_by_two_nodes_at_once_is_registered_once(
    nodes: tuple[PostgresCloudStore, PostgresCloudStore],
) -> None:
    one, two = nodes
    one.add_retailer(SHOP)
    for n in range(ROUNDS):
        answers = at_once(*(partial(s.add_cabinet, f"cab-{n}", SHOP) for s in nodes))
        assert sorted(type(a).__name__ for a in answers) == ["CabinetExistsError", "bytes"], answers
    assert len(one.cabinets_of(SHOP)) == ROUNDS


def test_a_sales_payment_asked_for_through_two_nodes_at_once_is_created_once(
    nodes: tuple[PostgresCloudStore, PostgresCloudStore],
) -> None:
    """A cabinet's retry of its scan-to-pay request reaching the other node while the first still works on it."""
    one, _ = nodes
    one.add_cabinet("cab-1")
    for n in range(ROUNDS):
        answers = at_once(*(partial(s.create_payment, "cab-1", f"s{n}", 500, "EUR", 4_000_000_000.0) for s in nodes))
        assert sorted(created for _, created in answers) == [False, True], answers  # type: ignore[misc]
        assert len({payment["id"] for payment, _ in answers}) == 1  # type: ignore[misc]


def test_an_invitation_link_opened_on_two_nodes_at_once_sets_one_password(
    nodes: tuple[PostgresCloudStore, PostgresCloudStore],
) -> None:
    one, _ = nodes
    one.add_retailer(SHOP)
    for n in range(ROUNDS):
        invite = f"invite-{n}"
        one.add_user(SHOP, f"u{n}@shop.example", "staff", invite_sha256=invite, invite_expires_at=4_000_000_000.0)
        answers = at_once(*(partial(s.accept_invite, invite, f"hash-{i}") for i, s in enumerate(nodes)))
        assert sorted(type(a).__name__ for a in answers) == ["NotFound", "dict"], answers
        accepted = next(a for a in answers if isinstance(a, dict))
        assert one.password_hash(accepted["id"]) in ("hash-0", "hash-1")


async def test_two_cabinets_enrolling_one_id_through_two_nodes_get_201_and_409_never_a_500(
    nodes: tuple[PostgresCloudStore, PostgresCloudStore],
) -> None:
    one, _ = nodes
    one.add_retailer(SHOP)
    clock = Clock()
    servers = [await start_cloud(store, now=clock) for store in nodes]
    try:
        async with aiohttp.ClientSession() as session:

            async def enroll(url: str, token: str, cabinet_id: str, key: bytes) -> tuple[int, Any]:
                body = {"token": token, "cabinet_id": cabinet_id, "key": key.hex()}
                async with session.post(url + "/v1/enroll", json=body) as resp:
                    return resp.status, await resp.json()

            for n in range(ROUNDS):
                tokens = [one.add_enroll_token(SHOP, 3600, now=clock.t) for _ in servers]
                keys = [bytes(range(k, k + 32)) for k in (n, n + 100)]
                answers = await asyncio.gather(
                    *(enroll(url, t, f"new-{n}", k) for (_, url), t, k in zip(servers, tokens, keys, strict=True))
                )
                assert sorted(status for status, _ in answers) == [201, 409], answers
                refusal = next(body for status, body in answers if status == 409)
                assert refusal == {"error": f"cabinet_id: cabinet 'new-{n}' is already registered"}
    finally:
        for runner, _ in servers:
            await runner.cleanup()


def test_a_payment_naming_how_a_sale_was_paid_waits_for_an_upload_of_its_cabinet(
    nodes: tuple[PostgresCloudStore, PostgresCloudStore], pg_url: str
) -> None:
    """An upload holds its cabinet's row while it folds the cabinet's sales and moves their share of the daily
    rollup from the rows it read first; a provider's word on how a sale was paid moves the same share. Were it
    to slip in between, the upload would move the share from a row that is no longer so, and the sales by
    method would count the sale twice. So the payment takes the cabinet's row first and waits."""
    one, two = nodes
    one.add_retailer(SHOP)
    one.add_cabinet("cab-1", SHOP)
    facts: dict[str, Any] = {"sale_id": "s1", "sku": "SCOOT-S1", "amount_cents": 500, "currency": "EUR"}
    sale = [
        Event(
            str(uuid.uuid4()), "cab-1", 1, "payment.approved", f"{DAY}T10:00:00.000Z", 0.0, {**facts, "method": "qr"}
        ),
        Event(str(uuid.uuid4()), "cab-1", 2, "sale.completed", f"{DAY}T10:00:30.000Z", 30.0, facts),
    ]
    one.store_events("cab-1", sale)
    payment, _ = one.create_payment("cab-1", "s1", 500, "EUR", 4_000_000_000.0)
    with psycopg.connect(pg_url) as upload:  # what an upload holds while it works
        upload.execute("SELECT 1 FROM cabinets WHERE id = 'cab-1' FOR NO KEY UPDATE")
        with ThreadPoolExecutor(1) as pool:
            moved = pool.submit(two.move_payment, payment["id"], "pending", "paid", details={"method_detail": "alipay"})
            with psycopg.connect(pg_url, autocommit=True) as watch:
                waiting, deadline = False, time.monotonic() + 30
                while not (waiting or moved.done()) and time.monotonic() < deadline:
                    waiting = watch.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                        "AND query LIKE '%FROM cabinets%FOR NO KEY UPDATE%'"
                    ).fetchone() == (1,)
            assert waiting and not moved.done(), "the payment waits for the upload's lock on its cabinet"
            upload.rollback()
            record, changed = moved.result(timeout=30)
    assert changed and record["status"] == "paid"
    summary = one.sales_summary(SHOP, since_day=DAY, until_day=DAY)
    assert [(m["method_detail"], m["count"], m["cents"]) for m in summary["methods"]] == [("alipay", 1, 500)]
