"""bench_funnel's bulk fill (--bulk-above): the read models it rebuilds from bulk-written events are those ingest
would have kept, so its figures at 10 million events stand for ingest's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import bench_funnel
from benchmarks.bench_funnel import RETAILER, Filler
from cloud_stub.store import SqliteCloudStore
from sync_client.schema import utc_iso


def _funnel_and_sales(tmp_path: Path, name: str, *, bulk: bool) -> tuple[object, object, int]:
    """600 events through ingest, then 1,200 more (spread over the same days) through ingest or bulk-written."""
    store = SqliteCloudStore(tmp_path / f"{name}.db")
    filler = Filler(store, cabinets=3, days=4)
    filler.end = 1_780_000_000.0  # both stores the same events (their ids aside)
    filler.start = filler.end - 4 * 86400.0
    filler.fill(600)
    if bulk:
        filler.bulk_fill(1800)
    else:
        filler.fill(1800)
    first, last = utc_iso(filler.start)[:10], utc_iso(filler.end)[:10]
    funnel = filler.store.funnel(RETAILER, since_day=first, until_day=last)
    sales = filler.store.sales_summary(RETAILER, since_day=first, until_day=last)
    stored = filler.store.count_events()
    filler.store.close()
    return funnel, sales, stored


def test_the_bulk_filled_store_answers_the_funnel_and_sales_as_the_ingested_one(tmp_path: Path) -> None:
    ingested = _funnel_and_sales(tmp_path, "ingested", bulk=False)
    bulk = _funnel_and_sales(tmp_path, "bulk", bulk=True)
    assert bulk[2] == ingested[2] == 1800
    assert bulk[0] == ingested[0], "the funnel rebuilt from the bulk-written events is the one ingest kept"
    assert bulk[1] == ingested[1], "and so are the sales"
    assert any(row["sessions"] for row in ingested[0]["days"]), "the fill has sessions to count"


def test_a_small_bulk_run_measures_every_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "funnel.json"
    argv = ["bench_funnel", "--cabinets", "3", "--events", "600,1800", "--days", "3", "--requests", "2"]
    monkeypatch.setattr("sys.argv", [*argv, "--bulk-above", "600", "--json", str(out)])
    assert bench_funnel.main() == 0
    runs = json.loads(out.read_text())["runs"]
    assert [r["events"] for r in runs] == [600, 1800] and "rebuild_s" in runs[1]
