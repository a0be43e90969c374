"""The ingest CPU breakdown (benchmarks/bench_ingest_cpu.py) runs every step of a real ingest on a SQLite file
and accounts for the store's statements: one commit a request (the batch's, which claims the nonce too)."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.bench_ingest_cpu import STEPS, main


def test_every_step_is_timed_and_the_store_commits_once_a_request(tmp_path: Path) -> None:
    out = tmp_path / "cpu.json"
    document = main(["--requests", "40", "--cabinets", "4", "--statements", "--json", str(out)])
    assert json.loads(out.read_text()) == document
    assert document["requests"] == 40 and 1 <= document["events_per_request"] <= 20
    assert set(document["cpu_ms_per_request"]) == set(STEPS)
    assert document["cpu_ms_per_request"]["store_events (store, nonce claimed, commit)"] > 0
    statements = document["statements"]
    assert statements["COMMIT"]["per_request"] == 1.0  # store_events' transaction, the nonce's claim in it
    assert statements["BEGIN IMMEDIATE"]["per_request"] == 1.0
    inserts = [v for sql, v in statements.items() if sql.startswith("INSERT INTO events ")]
    assert inserts and 0 < inserts[0]["per_request"] <= 1.0  # at most one executemany a batch (none when all stored)
    assert "| COMMIT |" not in out.with_suffix(".md").read_text()  # statements are shown as code
    assert "| `COMMIT` | 1.0 |" in out.with_suffix(".md").read_text()
