"""A store that vanished between two runs, through real processes: the cabinet refuses to sell, says so
on screen, the alarm reaches the cloud, and `kiosk store accept-new` puts it back in service."""

import os
import subprocess
import sys
from pathlib import Path

from firmware.control_client import export_events

ROOT = Path(__file__).resolve().parents[2]


def test_a_vanished_store_is_out_of_service_until_a_technician_accepts_the_new_one(cloud, sim_cabinet):
    workdir, _ = cloud
    cabinet = sim_cabinet()
    cabinet.wait_for(lambda s: s["outbox"]["pending"] == 0, what="first events uploaded")
    assert cabinet.process.stop() == 0
    data = workdir / "data"
    for name in ("cabinet.db", "cabinet.db-wal", "cabinet.db-shm"):
        (data / name).unlink(missing_ok=True)  # a card swapped, a cleanup script gone wrong

    cabinet = sim_cabinet()
    state = cabinet.wait_screen("out_of_service")
    assert "is missing" in state["faults"]["storage"]
    cabinet.tap(x=500, y=300)  # a shopper touches the screen: nothing to buy
    assert cabinet.state()["screen"] == "out_of_service" and cabinet.state()["journey"] == "idle"
    cabinet.tap("lang")
    assert {w["label"] for w in cabinet.state()["widgets"]} >= {"暂停服务"}
    cabinet.wait_for(lambda s: s["outbox"]["pending"] == 0, what="the alarm uploaded")
    alarms = [e["payload"] for e in export_events(workdir) if e["type"] == "alarm"]
    assert any(a["kind"] == "store_replaced" and "is missing" in a["detail"] for a in alarms)
    assert cabinet.process.stop() == 0

    accepted = subprocess.run(
        [sys.executable, "-m", "firmware.cli", "store", "accept-new", "--data-dir", str(data)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert accepted.returncode == 0 and "accepted" in accepted.stdout, accepted.stderr
    cabinet = sim_cabinet()
    state = cabinet.wait_screen("attract")
    assert "storage" not in state["faults"]
    cabinet.tap("start")
    cabinet.wait_screen("catalog")
