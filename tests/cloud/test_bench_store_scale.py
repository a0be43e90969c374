"""The store-scale benchmark (benchmarks/bench_store_scale.py) measures a store like one ingest filled: its bulk
fill builds the sales the retailer reads as ingest builds them, and a small run measures at every size."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.bench_console import RETAILER, cabinet_events
from benchmarks.bench_store_scale import Fleet, grow, main
from cloud_stub.store import open_store

DAYS = 10


def test_the_bulk_fill_holds_the_events_and_sales_ingest_would_have_stored(cloud_target: str, tmp_path: Path) -> None:
    fleet = Fleet(cloud_target, DAYS, 66)
    filled = grow(fleet, 2 * DAYS * 66)
    assert (filled["events"], filled["cabinets"]) == (2 * DAYS * 66, 2)

    ingested = open_store(tmp_path / "ingested.db")  # the same cabinets' events through ingest
    ingested.add_retailer(RETAILER)
    for index, cabinet_id in enumerate(fleet.keys):
        ingested.add_cabinet(cabinet_id, RETAILER)
        events = list(cabinet_events(cabinet_id, fleet.per_cabinet, DAYS, fleet.end, index))
        for start in range(0, len(events), 100):
            ingested.store_events(cabinet_id, events[start : start + 100], now=fleet.end)
    bulk = open_store(cloud_target)
    try:
        assert bulk.count_events() == ingested.count_events()
        for cabinet_id in fleet.keys:
            sales = bulk.sales_of(cabinet_id)
            assert len(sales) == 5 * DAYS
            assert sales == ingested.sales_of(cabinet_id)
        days = {"since_day": "2000-01-01", "until_day": "2100-01-01"}
        assert bulk.sales_summary(RETAILER, **days) == ingested.sales_summary(RETAILER, **days)
    finally:
        bulk.close()
        ingested.close()


def test_a_small_run_measures_ingest_and_the_sales_queries_at_each_size(tmp_path: Path) -> None:
    out = tmp_path / "scale.json"
    document = main(
        ["--events", "1320,2640", "--days", "20", "--seconds", "2", "--requests", "3", "--ingest-cabinets", "2"]
        + ["--json", str(out)]
    )
    assert json.loads(out.read_text()) == json.loads(json.dumps(document))
    sizes = document["sizes"]
    # the second size: a new cabinet's history beside the first's and the batches of 10 ingest stored
    sent = 10 * sizes[0]["ingest"]["count"]
    assert [(s["events"], s["cabinets"]) for s in sizes] == [(1320, 1), (2640 + sent, 2)]
    for size in sizes:
        assert size["ingest"]["count"] > 0 and size["ingest"]["answered_500"] == 0
        assert size["sales"]["sales, all"]["sales"] >= 5 * 20  # the history's, and those ingest added since
        assert size["sales"]["sales, newest 100"]["sales"] == 100
    assert f"| {2640 + sent:,} | 2 |" in out.with_suffix(".md").read_text()
