"""Crash safety: the real cabinet process is SIGKILLed at points of sales and uploads chosen at random
with a fixed seed, and restarted on the same data directory each time. Afterwards the cloud holds every
approved sale exactly once, each with exactly one outcome, and the cabinet database passes PRAGMA
integrity_check (checked after every kill, not only at the end).

The short run (25 kills: 19 different points, 11 of them after the approval) is part of `make test`; the
long one (200 kills, the same seed: its first 25 are the short run's) runs under `make bench`."""

from __future__ import annotations

import random
import sqlite3
import time
from collections import Counter
from pathlib import Path

import pytest

from firmware.control_client import (
    ControlClient,
    ControlError,
    add_cabinet,
    export_events,
    start_sim_cabinet,
)

CABINET_ID = "crash-cabinet"
SEED = 20261125
APPROVED_JOURNEYS = {"approved", "door_unlocked", "door_opened", "door_closed", "done"}


def sale_steps(client: ControlClient, sku: str) -> list:
    """One sale as the shopper's actions, each returning once the cabinet has reacted."""
    return [
        lambda: client.tap("start"),
        lambda: client.wait_screen("catalog"),
        lambda: client.tap(f"product:{sku}"),
        lambda: client.wait_screen("product"),
        lambda: client.tap("buy"),
        lambda: client.wait_screen("checkout"),
        lambda: client.tap("pay:terminal"),
        lambda: client.wait_for(lambda s: s["payment_status"] == "present_card", what="terminal asks for a card"),
        lambda: client.sim("pos/approve"),
        lambda: client.wait_for(lambda s: s["journey"] == "door_unlocked", what="door unlocked"),
        lambda: client.sim("door/open"),
        lambda: client.wait_for(lambda s: s["journey"] == "door_opened", what="door opened"),
        lambda: client.sim("door/close"),
        lambda: client.wait_screen("thanks"),
        lambda: client.tap("done"),
        lambda: client.wait_screen("attract"),
    ]


def integrity(db: Path) -> str:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


def local_events(db: Path) -> list[tuple[int, str, str, str]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT seq, id, type, payload FROM events ORDER BY seq").fetchall()
    finally:
        conn.close()


@pytest.mark.parametrize(
    "kills",
    [
        pytest.param(25, id="short", marks=pytest.mark.timeout(300)),
        pytest.param(200, id="long", marks=[pytest.mark.bench, pytest.mark.timeout(3600)]),
    ],
)
def test_sigkill_at_random_points_loses_and_duplicates_nothing(cloud, kills: int) -> None:
    workdir, url = cloud
    key_file = workdir / "cabinet.key"
    key_file.write_text(add_cabinet(workdir, CABINET_ID) + "\n")
    key_file.chmod(0o600)
    config = f"""
[cabinet]
id = "{CABINET_ID}"
key_file = "{key_file}"
[lock]
resume_window_s = 0.0
[sync]
backoff_initial_s = 0.05
backoff_max_s = 0.5
[[products]]
sku = "BIKE-C7"
name = "Cruiser C7 e-bike"
price_cents = 129900
stock = 999
"""
    db = workdir / "data" / "cabinet.db"
    rng = random.Random(SEED)
    approvals_seen = approve_calls = 0
    kill_points: Counter[str] = Counter()
    started = time.monotonic()
    for _ in range(kills):
        proc, client = start_sim_cabinet(workdir, config_text=config, cloud_url=url)
        steps = sale_steps(client, "BIKE-C7")
        network_down = rng.random() < 0.25  # some sales pile up a backlog that drains as it is killed
        kill_after = rng.randrange(len(steps) + 1)
        try:
            if network_down:
                client.sim("network/down")
            for index, step in enumerate(steps[:kill_after]):
                step()
                if index == 8:
                    approve_calls += 1
            if network_down:
                client.sim("network/up")
            time.sleep(rng.uniform(0, 0.03))
            if client.state()["journey"] in APPROVED_JOURNEYS:
                approvals_seen += 1
        except (ControlError, TimeoutError) as exc:
            raise AssertionError(f"sale step failed before the kill: {exc}\n{proc.log_tail()}") from exc
        finally:
            proc.kill()
        kill_points[f"after step {kill_after}{' (backlog)' if network_down else ''}"] += 1
        assert integrity(db) == "ok"

    # One last boot with the network up lets everything drain; then a clean stop.
    proc, client = start_sim_cabinet(workdir, config_text=config, cloud_url=url)
    client.wait_for(lambda s: s["outbox"]["pending"] == 0 and s["online"], timeout=60, what="outbox drained")
    assert proc.stop() == 0, proc.log_tail()
    elapsed = time.monotonic() - started
    assert integrity(db) == "ok"
    assert len(kill_points) >= 10, f"kill points not spread: {kill_points}"

    local = local_events(db)
    assert [seq for seq, *_ in local] == list(range(1, len(local) + 1)), "gap in the local sequence"
    cloud_events = [e for e in export_events(workdir) if e["cabinet_id"] == CABINET_ID]
    ids = [e["id"] for e in cloud_events]
    assert len(ids) == len(set(ids)), "an event was stored twice"
    assert sorted(ids) == sorted(event_id for _, event_id, _, _ in local), "cloud and cabinet disagree"

    approved = Counter(e["payload"]["sale_id"] for e in cloud_events if e["type"] == "payment.approved")
    assert approvals_seen >= 1 and len(approved) >= approvals_seen, (approvals_seen, approved)
    assert set(approved.values()) == {1}, "a sale was approved twice"
    outcomes = Counter(
        e["payload"]["sale_id"] for e in cloud_events if e["type"] in ("sale.completed", "sale.unclaimed")
    )
    assert {sale: outcomes[sale] for sale in approved} == {sale: 1 for sale in approved}, (
        "every approved sale ends completed or unclaimed, exactly once"
    )
    # An approval the terminal gave but the cabinet never committed is not silently lost either.
    interrupted = [
        e for e in cloud_events if e["type"] == "payment.failed" and e["payload"]["outcome"] == "interrupted"
    ]
    assert approve_calls <= len(approved) + len(interrupted)
    print(f"{kills} kills in {elapsed:.0f} s; {len(approved)} approved sales; {kill_points}")
