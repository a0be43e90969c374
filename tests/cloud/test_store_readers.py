"""Reads never queue behind writes: SQLite's reads run on read-only WAL connections and reader threads beside its
single writer (PostgreSQL's on its pool), and a read begun after a commit sees it."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cloud_stub.core import Core
from cloud_stub.limits import DEFAULT_LIMITS
from cloud_stub.store import SqlCloudStore, SqliteCloudStore
from sync_client.schema import Event
from tests.cloud.cloud_helpers import CAB, Cloud, make_event

WAIT_S = 10  # a bound on every wait: a read that queued behind the held write would run into it
SALE = {"sku": "BIKE-C7", "amount_cents": 129900, "currency": "EUR", "method": "terminal"}


class HeldWrite:
    """A write transaction held open on a thread of its own until ``release``: it has written ``statement``."""

    def __init__(self, store: SqlCloudStore, statement: str, params: tuple[Any, ...]) -> None:
        self.open = threading.Event()
        self._release = threading.Event()
        self._thread = threading.Thread(target=self._hold, args=(store, statement, params))

    def _hold(self, store: SqlCloudStore, statement: str, params: tuple[Any, ...]) -> None:
        with store._db.write() as conn:
            conn.execute(statement, params)
            self.open.set()
            self._release.wait(WAIT_S)

    def __enter__(self) -> HeldWrite:
        self._thread.start()
        assert self.open.wait(WAIT_S), "the write transaction never began"
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        self._thread.join(WAIT_S)


def in_thread(call: Callable[[], Any]) -> Any:
    """``call()`` on another thread, given WAIT_S to finish (a blocked read fails the test instead of hanging)."""
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(call()), daemon=True)
    thread.start()
    thread.join(WAIT_S)
    assert result, f"the read did not finish within {WAIT_S} s"
    return result[0]


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[SqliteCloudStore]:
    store = SqliteCloudStore(tmp_path / "cloud.db")
    store.add_retailer("shop-a")
    store.add_cabinet(CAB, "shop-a")
    yield store
    store.close()


def sale_batch(sale_id: str, first_seq: int) -> list[dict[str, Any]]:
    """A sale approved and completed, as the cabinet uploads it."""
    return [
        make_event(
            first_seq,
            type_="payment.approved",
            payload={**SALE, "sale_id": sale_id, "receipt_no": sale_id, "trace_no": None},
        ),
        make_event(
            first_seq + 1,
            type_="sale.completed",
            payload={**SALE, "sale_id": sale_id, "door_opened_at": "x", "door_closed_at": "y"},
        ),
    ]


def sale_events(sale_id: str, first_seq: int) -> list[Event]:
    return [Event(**e) for e in sale_batch(sale_id, first_seq)]


def test_a_read_completes_while_a_write_transaction_is_open_and_sees_it_once_committed(
    sqlite_store: SqliteCloudStore,
) -> None:
    with HeldWrite(
        sqlite_store, "INSERT INTO retailers (name, token_sha256, created_at) VALUES (?, ?, ?)", ("shop-b", "x", "t")
    ):
        assert in_thread(lambda: sqlite_store.has_retailer("shop-a")) is True
        assert in_thread(lambda: sqlite_store.has_retailer("shop-b")) is False, "not committed yet"
    assert sqlite_store.has_retailer("shop-b") is True, "a read after the commit sees it"


def test_a_read_only_connection_refuses_a_write(sqlite_store: SqliteCloudStore) -> None:
    with sqlite_store._db.read() as conn, pytest.raises(sqlite3.OperationalError, match="readonly"):
        conn.execute("DELETE FROM retailers")
    assert sqlite_store.has_retailer("shop-a")


async def test_the_apps_reads_run_beside_its_writer_thread_and_writes_keep_their_order(
    sqlite_store: SqliteCloudStore,
) -> None:
    core = Core(sqlite_store, lambda: 0.0, DEFAULT_LIMITS)
    open_, release = threading.Event(), threading.Event()

    def long_write() -> None:  # not marked as a read: it runs on the writer's thread
        with sqlite_store._db.write():
            open_.set()
            release.wait(WAIT_S)

    try:
        held = asyncio.create_task(core.db(long_write))
        assert await asyncio.to_thread(open_.wait, WAIT_S)
        first = asyncio.create_task(core.db(sqlite_store.store_events, CAB, sale_events("s-1", 1)))
        second = asyncio.create_task(core.db(sqlite_store.store_events, CAB, sale_events("s-2", 3)))
        sales = await asyncio.wait_for(core.db(sqlite_store.sales_of, CAB), WAIT_S)
        assert sales == [], "the read answered from the last commit while the writer's thread was busy"
        assert not first.done() and not second.done(), "the writes wait for the writer's thread"
        release.set()
        await asyncio.wait_for(asyncio.gather(held, first, second), WAIT_S)
        sales = await asyncio.wait_for(core.db(sqlite_store.sales_of, CAB), WAIT_S)
        assert [(s["sale_id"], s["status"]) for s in sales] == [("s-1", "completed"), ("s-2", "completed")]
        assert [e["seq"] for e in sqlite_store.events_of(CAB, ("payment.approved", "sale.completed"))] == [1, 2, 3, 4]
    finally:
        release.set()
        await core.close()


async def test_the_retailers_pages_answer_while_a_write_is_held_open(cloud: Cloud) -> None:
    """On both stores: the sales, stock and alarms pages answer from the last commit while a write transaction
    holds the cabinet's row (an ingest waits for it); once it commits, the pages show the new sale."""
    assert (await cloud.post(sale_batch("s-1", 1))).body["rejected"] == []
    base = f"/v1/retailer/cabinets/{CAB}"
    with HeldWrite(cloud.store, "UPDATE cabinets SET last_sync_at = ? WHERE id = ?", ("held", CAB)):
        ingest = asyncio.create_task(cloud.post(sale_batch("s-2", 3)))
        for page in ("/sales", "/stock", "/alarms"):
            reply = await asyncio.wait_for(cloud.retailer("GET", base + page), WAIT_S)
            assert reply.status == 200, (page, reply.body)
        sales = (await asyncio.wait_for(cloud.retailer("GET", base + "/sales"), WAIT_S)).body["sales"]
        assert [s["sale_id"] for s in sales] == ["s-1"]
        assert not ingest.done()
    assert (await asyncio.wait_for(ingest, WAIT_S)).body["rejected"] == []
    sales = (await cloud.retailer("GET", base + "/sales")).body["sales"]
    assert [(s["sale_id"], s["status"]) for s in sales] == [("s-1", "completed"), ("s-2", "completed")]
