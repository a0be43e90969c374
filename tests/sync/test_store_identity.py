"""The store's identity and health, on SQLite on disk: a random store id kept in the database, a last
sequence number pruning never lowers, a marker file beside it, and files that are not a store."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync_client.outbox import Outbox, StoreUnusable
from sync_client.store_marker import (
    MarkerError,
    StoreIdentity,
    StoreMarker,
    marker_path,
    mismatch,
    read_identity,
    read_marker,
    write_marker,
)
from sync_client.uploader import Uploader
from tests.sync.conftest import Site


def test_a_store_keeps_its_random_id_and_its_last_seq_survives_pruning(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "cabinet.db", "cab-1")
    store_id = outbox.store_id
    events = [outbox.append("heartbeat", {}) for _ in range(3)]
    outbox.mark_sent([e.id for e in events])
    assert outbox.prune_sent(-1) == 3  # acknowledged and gone from the table
    assert outbox.last_seq() == 3
    outbox.close()
    again = Outbox(tmp_path / "cabinet.db", "cab-1")
    assert again.store_id == store_id and again.last_seq() == 3
    again.close()
    other = Outbox(tmp_path / "other.db", "cab-1")
    assert other.store_id != store_id and other.last_seq() == 0
    with sqlite3.connect(tmp_path / "cabinet.db") as conn:
        assert read_identity(conn) == StoreIdentity(store_id, 3)
    other.close()


def test_the_marker_is_written_whole_and_read_back(tmp_path: Path) -> None:
    path = marker_path(tmp_path / "cabinet.db")
    assert read_marker(path) is None
    marker = StoreMarker("abc", 41, acked_seq=40)
    write_marker(path, marker)
    assert read_marker(path) == marker
    assert not list(tmp_path.glob("*.part"))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{",
        "[]",
        '{"seq": 1}',
        '{"store_id": "a", "seq": "x"}',
        "\xff",
        '{"store_id": "a", "seq": Infinity}',
        '{"store_id": "a", "seq": -1}',
        '{"store_id": "a", "seq": true}',
        '{"store_id": "a", "seq": 1, "fault": 3}',
    ],
)
def test_a_damaged_marker_is_an_error_naming_the_file(tmp_path: Path, text: str) -> None:
    path = tmp_path / "store-marker.json"
    path.write_bytes(text.encode("utf-8", "surrogateescape") if text != "\xff" else b"\xff\xfe")
    with pytest.raises(MarkerError, match=str(path)):
        read_marker(path)


@settings(max_examples=200, deadline=None)
@given(
    st.binary(max_size=200)
    | st.builds(
        lambda d: json.dumps(d).encode(),
        st.dictionaries(
            st.sampled_from(["store_id", "seq", "acked_seq", "fault", "x"]),
            st.none() | st.integers() | st.text(max_size=8) | st.floats() | st.lists(st.integers(), max_size=2),
        ),
    )
)
def test_any_marker_bytes_give_a_marker_or_a_marker_error(tmp_path_factory, data: bytes) -> None:
    path = tmp_path_factory.mktemp("m") / "store-marker.json"
    path.write_bytes(data)
    try:
        marker = read_marker(path)
    except MarkerError as exc:
        assert str(path) in str(exc)
    else:
        assert isinstance(marker, StoreMarker) and isinstance(marker.seq, int)


DB = Path("/data/cabinet.db")


@pytest.mark.parametrize(
    "found, words",
    [
        (StoreIdentity(None, 0), "is missing"),
        (StoreIdentity("other", 99), "another store"),
        (StoreIdentity("abc", 10), "only up to #10"),
        (StoreIdentity("abc", 35), "had reached #40"),  # below what the cloud acknowledged
    ],
)
def test_a_store_that_vanished_was_replaced_or_is_older_does_not_match(found: StoreIdentity, words: str) -> None:
    marker = StoreMarker("abc", 30, acked_seq=40)
    problem = mismatch(marker, found, DB)
    assert problem is not None and words in problem and str(DB) in problem


def test_the_same_store_further_on_matches_and_no_marker_is_a_first_start() -> None:
    assert mismatch(StoreMarker("abc", 30, 28), StoreIdentity("abc", 31), DB) is None
    assert mismatch(None, StoreIdentity(None, 0), DB) is None
    assert mismatch(StoreMarker("abc", 30, fault="gone before"), StoreIdentity("abc", 31), DB) == "gone before"


@pytest.mark.parametrize(
    "content, words",
    [
        (b"this is not a database, it is a shopping list" * 100, "not a usable SQLite database"),
        (None, "not a usable SQLite database"),  # a real store with its pages overwritten
    ],
)
def test_a_file_that_is_not_a_store_is_refused_naming_it(tmp_path: Path, content: bytes | None, words: str) -> None:
    path = tmp_path / "cabinet.db"
    if content is None:
        outbox = Outbox(path, "cab-1")
        for _ in range(200):
            outbox.append("heartbeat", {"faults": ["x" * 50]})
        outbox.close()
        data = bytearray(path.read_bytes())
        data[4096 : len(data)] = os.urandom(len(data) - 4096)  # every page but the header page
        path.write_bytes(bytes(data))
    else:
        path.write_bytes(content)
    with pytest.raises(StoreUnusable) as caught:
        Outbox(path, "cab-1")
    assert str(path) in str(caught.value) and words in str(caught.value)


def test_health_sees_a_deleted_file_and_a_store_below_its_reserve(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "cabinet.db", "cab-1")
    assert outbox.health(1 << 20).ok
    conn = outbox.db.conn
    conn.execute(f"PRAGMA max_page_count = {conn.execute('PRAGMA page_count').fetchone()[0] + 10}")
    low = outbox.health(1 << 20)
    assert not low.ok and low.free_bytes <= 10 * 4096 and "reserve 1 MB" in low.problem
    conn.execute("PRAGMA max_page_count = 1000000")
    os.unlink(outbox.path)
    gone = outbox.health(1 << 20)
    assert not gone.ok and "deleted or replaced" in gone.problem and str(outbox.path) in gone.problem
    outbox.close()


async def test_the_uploader_knows_the_highest_seq_the_cloud_acknowledged(site: Site) -> None:
    events = [site.outbox.append("heartbeat", {}) for _ in range(4)]
    uploader = Uploader(site.outbox, site.url, site.key)
    assert uploader.status.acked_seq == 0
    assert await uploader.upload_pending() == 4
    assert uploader.status.acked_seq == events[-1].seq
