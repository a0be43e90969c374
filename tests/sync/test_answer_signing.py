"""What the cabinet believes from the cloud: only answers signed for its own request.

A middlebox (a real aiohttp server on loopback, between the cabinet and the real cloud stub)
plays the hostile network: it forges answers without the key, replays genuine answers it
captured earlier, and alters answers in transit. Each is refused, nothing of it is used, and it
is recorded as an alarm, at most once per interval.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st

from cloud_stub.server import start_cloud
from cloud_stub.store import SqliteCloudStore
from sync_client.cloud_client import CloudClient, CloudRefused, CloudUntrusted, UntrustedAnswerAlarm
from sync_client.commands import Command, CommandInbox
from sync_client.config_sync import ConfigSync
from sync_client.outbox import Outbox, Transaction
from sync_client.scan_to_pay import ScanToPayClient
from sync_client.schema import (
    HDR_CLOUD_SIGNATURE,
    HDR_CLOUD_TIME,
    HDR_NONCE,
    SIGNED_HEADERS,
    AnswerSignatureError,
    dumps,
    sign_answer,
    utc_iso,
    verify_answer,
)
from sync_client.uploader import Uploader, UploadError
from tests.sync.conftest import CAB, GOOD_CONFIG

FORWARDED = (*SIGNED_HEADERS, "Content-Type", "If-None-Match")
KEPT = ("Content-Type", "ETag", "Retry-After", HDR_CLOUD_TIME, HDR_CLOUD_SIGNATURE)


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


Intercept = Callable[[web.Request, bytes], "Answer | None"]
Rewrite = Callable[[web.Request, Answer], Answer]


@dataclass
class Middlebox:
    """Forwards to the real cloud and keeps every genuine answer by path; ``intercept`` answers
    instead of the cloud (the request never arrives), ``rewrite`` changes the cloud's answer."""

    upstream: str
    session: aiohttp.ClientSession
    answers: list[tuple[str, Answer]] = field(default_factory=list)
    intercept: Intercept | None = None
    rewrite: Rewrite | None = None

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        answer = self.intercept(request, body) if self.intercept else None
        if answer is None:
            headers = {k: request.headers[k] for k in FORWARDED if k in request.headers}
            async with self.session.request(
                request.method, self.upstream + request.path_qs, data=body, headers=headers
            ) as resp:
                answer = Answer(resp.status, {k: resp.headers[k] for k in KEPT if k in resp.headers}, await resp.read())
            self.answers.append((request.path, answer))
            if self.rewrite:
                answer = self.rewrite(request, answer)
        return web.Response(status=answer.status, headers=answer.headers, body=answer.body or None)

    def captured(self, path: str) -> Answer:
        return [a for p, a in self.answers if p == path][-1]


@dataclass
class Net:
    store: SqliteCloudStore
    cloud_url: str
    key: bytes
    token: str
    box: Middlebox
    outbox: Outbox
    client: CloudClient  # the cabinet's, through the middlebox
    alarm: UntrustedAnswerAlarm
    clock: list[float]  # the alarm's monotonic clock

    async def retailer(self, method: str, path: str, body: object = None) -> dict:
        async with self.box.session.request(
            method, self.cloud_url + path, json=body, headers={"Authorization": f"Bearer {self.token}"}
        ) as resp:
            assert resp.status < 300, await resp.text()
            return await resp.json()

    def alarms(self) -> list[str]:
        return [e.payload["detail"] for e in self.outbox.events("alarm") if e.payload["kind"] == "cloud_answer_forged"]


@pytest.fixture
async def net(tmp_path: Path) -> AsyncIterator[Net]:
    store = SqliteCloudStore(tmp_path / "cloud.db")
    token = store.add_retailer("shop-a")
    key = store.add_cabinet(CAB, "shop-a")
    cloud, cloud_url = await start_cloud(store, simulate_payments=True)
    async with aiohttp.ClientSession() as session:
        box = Middlebox(cloud_url, session)
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", box.handle)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        outbox = Outbox(tmp_path / "cabinet.db", CAB)
        clock = [1000.0]
        alarm = UntrustedAnswerAlarm(outbox, min_interval_s=600, clock=lambda: clock[0])
        client = CloudClient(
            f"http://127.0.0.1:{runner.addresses[0][1]}", CAB, key, request_timeout_s=5, on_untrusted=alarm
        )
        yield Net(store, cloud_url, key, token, box, outbox, client, alarm, clock)
        await client.close()
        await runner.cleanup()
    await cloud.cleanup()
    outbox.close()
    store.close()


def forged(
    request: web.Request, status: int, document: object, key: bytes = b"a guess at the cabinet's key!!!!"
) -> Answer:
    """What an attacker without the key can do at best: a well-formed answer signed for this very request."""
    body = dumps(document)
    headers = {"Content-Type": "application/json"}
    return Answer(
        status,
        {**headers, **sign_answer(key, status, request.headers[HDR_NONCE], headers, body, now=time.time())},
        body,
    )


def unsigned(answer: Answer) -> Answer:
    return replace(
        answer, headers={k: v for k, v in answer.headers.items() if k not in (HDR_CLOUD_TIME, HDR_CLOUD_SIGNATURE)}
    )


class Door:
    def __init__(self) -> None:
        self.pulses: list[float] = []

    def apply(self, command: Command, tx: Transaction) -> str:
        return "unlocking"

    def effect(self, command: Command) -> None:
        self.pulses.append(command.args["seconds"])


async def queue_unlock(net: Net, seconds: int = 3) -> str:
    created = await net.retailer(
        "POST",
        f"/v1/retailer/cabinets/{CAB}/commands",
        {"kind": "unlock", "args": {"seconds": seconds, "reason": "customer at the door"}},
    )
    return created["id"]


# --- forged ---------------------------------------------------------------------------------
@pytest.mark.parametrize("how", ["signed with a guessed key", "not signed"])
async def test_a_forged_unlock_command_is_refused_recorded_and_opens_nothing(net: Net, how: str) -> None:
    evil = {
        "commands": [
            {
                "id": "evil-1",
                "kind": "unlock",
                "args": {"seconds": 30, "reason": "open sesame"},
                "created_at": utc_iso(time.time()),
                "expires_at": utc_iso(time.time() + 120),
            }
        ]
    }

    def inject(request: web.Request, _body: bytes) -> Answer | None:
        answer = forged(request, 200, evil)
        return answer if how == "signed with a guessed key" else unsigned(answer)

    net.box.intercept = inject
    door = Door()
    inbox = CommandInbox(net.outbox, net.client)
    inbox.register("unlock", door.apply, door.effect)

    with pytest.raises(CloudUntrusted, match="GET /v1/commands: cloud answered 200 without a valid signature"):
        await inbox.poll()
    assert door.pulses == [] and inbox.state_of("evil-1") is None
    [detail] = net.alarms()
    assert "GET /v1/commands" in detail and ("missing" if how == "not signed" else "does not fit") in detail


async def test_forged_acknowledgements_neither_drop_nor_dead_letter_a_sale(net: Net) -> None:
    with net.outbox.transaction(durable=True) as tx:
        sale = tx.append(
            "payment.approved",
            {
                "sale_id": "s-1",
                "sku": "BIKE-C7",
                "amount_cents": 129900,
                "currency": "EUR",
                "method": "card",
                "receipt_no": "1",
                "trace_no": "2",
            },
        )
    uploader = Uploader(net.outbox, "", b"", client=net.client)
    # The attacker keeps the batch from the cloud and answers "acknowledged", then "refused for good".
    for document, status in (({"acked": [sale.id], "rejected": []}, 200), ({"error": "sale_id: bad"}, 400)):
        net.box.intercept = lambda request, _body, d=document, s=status: forged(request, s, d)
        with pytest.raises(UploadError, match="without a valid signature"):
            await uploader.upload_pending()
        assert sale.id in [e.id for e in net.outbox.pending(10)] and net.outbox.dead_letters() == []
    assert list(net.store.export_events()) == []

    net.box.intercept = None  # the network is honest again
    await uploader.upload_pending()
    stored = {e["id"]: e["type"] for e in net.store.export_events()}
    assert stored[sale.id] == "payment.approved" and list(stored.values()).count("alarm") == 1


# --- replayed -------------------------------------------------------------------------------
async def test_a_replayed_paid_answer_does_not_pay_for_another_sale(net: Net) -> None:
    pay = ScanToPayClient(net.client)
    first = await pay.create("sale-1", 129900, "EUR")
    async with net.box.session.post(f"{net.cloud_url}/sim/payments/{first.payment_id}/pay") as resp:
        assert resp.status == 200  # the first shopper paid on the phone
    assert (await pay.status(first.payment_id)).status == "paid"
    paid_answer = net.box.captured(f"/v1/payments/{first.payment_id}")  # genuine, signed by the cloud

    second = await pay.create("sale-2", 129900, "EUR")
    net.box.rewrite = lambda request, answer: paid_answer if request.path.endswith(second.payment_id) else answer
    with pytest.raises(CloudUntrusted, match="does not fit this request"):
        await pay.status(second.payment_id)
    [detail] = net.alarms()
    assert f"GET /v1/payments/{second.payment_id}" in detail

    net.box.rewrite = None
    assert (await pay.status(second.payment_id)).status == "pending"


async def test_a_replayed_not_modified_does_not_hold_the_cabinet_on_an_old_configuration(net: Net) -> None:
    await net.retailer("PUT", f"/v1/retailer/cabinets/{CAB}/config", GOOD_CONFIG)
    sync = ConfigSync(net.outbox, net.client)
    assert (await sync.pull()).outcome == "applied"
    assert (await sync.pull()).outcome == "unchanged"
    not_modified = net.box.captured("/v1/config")
    assert not_modified.status == 304

    repriced = {
        **GOOD_CONFIG,
        "products": [{**p, "price_cents": p["price_cents"] + 1000} for p in GOOD_CONFIG["products"]],
    }
    await net.retailer("PUT", f"/v1/retailer/cabinets/{CAB}/config", repriced)
    net.box.rewrite = lambda request, answer: not_modified
    with pytest.raises(CloudUntrusted):
        await sync.pull()
    assert len(net.alarms()) == 1

    net.box.rewrite = None
    result = await sync.pull()
    assert result.outcome == "applied" and result.config.products[0].price_cents == 49900 + 1000


# --- altered in transit ---------------------------------------------------------------------
async def test_an_unlock_altered_in_transit_is_refused_until_the_genuine_one_arrives(net: Net) -> None:
    command_id = await queue_unlock(net, seconds=3)
    net.box.rewrite = lambda request, answer: replace(
        answer, body=re.sub(rb'"seconds": ?3\b', b'"seconds": 30', answer.body)
    )
    door = Door()
    inbox = CommandInbox(net.outbox, net.client)
    inbox.register("unlock", door.apply, door.effect)
    with pytest.raises(CloudUntrusted):
        await inbox.poll()
    assert re.search(rb'"seconds": ?3\b', net.box.captured("/v1/commands").body)  # what the cloud sent
    assert door.pulses == [] and inbox.state_of(command_id) is None
    assert net.store.command(command_id)["acked_at"] is None

    net.box.rewrite = None
    await inbox.poll()
    assert door.pulses == [3]


async def test_a_configuration_whose_etag_was_altered_is_refused(net: Net) -> None:
    await net.retailer("PUT", f"/v1/retailer/cabinets/{CAB}/config", GOOD_CONFIG)
    net.box.rewrite = lambda request, answer: replace(answer, headers={**answer.headers, "ETag": '"attacker"'})
    sync = ConfigSync(net.outbox, net.client)
    with pytest.raises(CloudUntrusted):
        await sync.pull()
    assert sync.current() is None and net.outbox.events("config.applied") == []


# --- what is trusted, and how often refusals are recorded ------------------------------------
async def test_a_genuine_answer_brings_the_clouds_clock_and_a_signed_refusal_is_believed(net: Net) -> None:
    before = time.time()
    reply = await net.client.request("GET", "v1/commands")
    assert before - 1 <= reply.cloud_time <= time.time() + 1
    with pytest.raises(CloudRefused) as refused:  # signed 404: a real "no"
        await ScanToPayClient(net.client).status("no-such-payment")
    assert refused.value.status == 404
    assert net.alarms() == []


async def test_a_hostile_network_gets_one_alarm_per_interval_not_one_per_answer(net: Net) -> None:
    net.box.rewrite = lambda request, answer: unsigned(answer)
    for _ in range(20):
        with pytest.raises(CloudUntrusted):
            await net.client.request("GET", "v1/commands")
    assert len(net.alarms()) == 1
    net.clock[0] += 601
    with pytest.raises(CloudUntrusted):
        await net.client.request("GET", "v1/commands")
    first, second = net.alarms()
    assert second.endswith("(19 more refused since the last alarm)")


# --- the parser of the answer's signature, fuzzed --------------------------------------------
KEY = b"k" * 32
header_text = st.text(st.characters(codec="latin-1"), max_size=80)


@given(
    status=st.integers(100, 599),
    nonce=st.text(max_size=40),
    body=st.binary(max_size=200),
    headers=st.dictionaries(
        st.sampled_from([HDR_CLOUD_TIME, HDR_CLOUD_SIGNATURE, "ETag", "Retry-After", "X-Other"]),
        header_text | st.text(max_size=40),
    ),
)
def test_any_answer_verifies_only_with_its_genuine_signature(
    status: int, nonce: str, body: bytes, headers: dict[str, str]
) -> None:
    try:
        verify_answer(KEY, nonce, status, headers, body)
    except AnswerSignatureError:
        pass
    else:
        raise AssertionError("an answer nobody signed verified")
    signed = {**headers, **sign_answer(KEY, status, nonce, headers, body, now=1_800_000_000.5)}
    assert verify_answer(KEY, nonce, status, signed, body) == 1_800_000_000.5
    for other in (
        (KEY, nonce + "x", status, signed, body),
        (KEY, nonce, status + 1, signed, body),
        (KEY, nonce, status, signed, body + b"x"),
        (b"j" * 32, nonce, status, signed, body),
        (KEY, nonce, status, {**signed, "ETag": signed.get("ETag", "") + "x"}, body),
    ):
        with pytest.raises(AnswerSignatureError):
            verify_answer(*other)
