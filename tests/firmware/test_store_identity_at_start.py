"""A store that vanished or was emptied is a fault, not a fresh start: starts as the runtime makes them
(the marker checked before selling), and `kiosk run` on a store it cannot use, as a real process."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from firmware.cli import main as kiosk_main
from firmware.storage import DB_NAME, StorageGuard
from firmware.technician.status import collect_status, format_status
from sync_client.outbox import Outbox
from sync_client.store_marker import marker_path, read_marker

ROOT = Path(__file__).resolve().parents[2]


def boot(data_dir: Path, acked: int = 0) -> tuple[Outbox, StorageGuard]:
    """What firmware/runtime.py does with the store at start."""
    db = data_dir / DB_NAME
    existed = db.exists()
    outbox = Outbox(db, "cab-1")
    guard = StorageGuard(outbox, 1 << 20, marker_path(db), acked_seq=lambda: acked)
    guard.verify_identity(existed)
    guard.check()
    return outbox, guard


def run_for_a_while(data_dir: Path, events: int, acked: int = 0) -> None:
    outbox, guard = boot(data_dir, acked)
    assert guard.problem is None
    for _ in range(events):
        outbox.append("heartbeat", {})
    guard.save_marker()  # periodically and at a clean stop
    outbox.close()


def alarms(outbox: Outbox) -> list[dict]:
    return [e.payload for e in outbox.events("alarm")]


def test_a_deleted_store_stops_selling_until_a_technician_accepts_the_new_one(tmp_path: Path, capsys) -> None:
    run_for_a_while(tmp_path, 5, acked=4)
    assert read_marker(marker_path(tmp_path / DB_NAME)).acked_seq == 4
    (tmp_path / DB_NAME).unlink()

    outbox, guard = boot(tmp_path)
    assert guard.problem is not None and "is missing" in guard.problem and "#5" in guard.problem
    assert [a["kind"] for a in alarms(outbox)] == ["store_replaced"]  # in the fresh store, for upload
    outbox.append("heartbeat", {})
    outbox.close()

    report = format_status(collect_status(tmp_path / "none.toml", tmp_path))
    assert "NOT SELLING" in report and "kiosk store accept-new" in report

    outbox, guard = boot(tmp_path)  # the fault outlives a restart, however far the new store got
    assert guard.problem is not None and "is missing" in guard.problem
    outbox.close()

    assert kiosk_main(["store", "accept-new", "--data-dir", str(tmp_path)]) == 0
    assert "accepted" in capsys.readouterr().out
    outbox, guard = boot(tmp_path)
    assert guard.problem is None
    outbox.close()


def test_an_older_copy_of_the_store_is_noticed(tmp_path: Path) -> None:
    run_for_a_while(tmp_path, 3)
    shutil.copy(tmp_path / DB_NAME, tmp_path / "backup.db")
    run_for_a_while(tmp_path, 10)
    os.replace(tmp_path / "backup.db", tmp_path / DB_NAME)  # someone "restored" last week's copy
    outbox, guard = boot(tmp_path)
    assert guard.problem is not None and "older copy" in guard.problem
    outbox.close()


def test_a_store_replaced_by_another_is_noticed(tmp_path: Path) -> None:
    run_for_a_while(tmp_path, 3)
    other = tmp_path / "other"
    other.mkdir()
    run_for_a_while(other, 30)
    shutil.copy(other / DB_NAME, tmp_path / DB_NAME)
    outbox, guard = boot(tmp_path)
    assert guard.problem is not None and "another store" in guard.problem
    outbox.close()


def test_a_first_start_and_an_ordinary_restart_sell(tmp_path: Path) -> None:
    run_for_a_while(tmp_path, 3, acked=2)
    run_for_a_while(tmp_path, 3)  # offline this time: nothing acknowledged
    marker = read_marker(marker_path(tmp_path / DB_NAME))
    assert (marker.seq, marker.acked_seq, marker.fault) == (6, 2, None)


def kiosk_run(data_dir: Path) -> subprocess.CompletedProcess:
    # root writes anything: it runs without its right to ignore file modes, as the service user would
    prefix = [] if os.geteuid() else ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [
            *prefix,
            sys.executable,
            "-m",
            "firmware.cli",
            "run",
            "--sim",
            "--headless",
            "--data-dir",
            str(data_dir),
            "--control-port",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=ROOT,
        check=False,
    )


def test_kiosk_run_on_a_file_that_is_not_a_store_says_so_naming_it(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / DB_NAME).write_bytes(b"PK\x03\x04 a zip file someone copied here" * 50)
    result = kiosk_run(data)
    assert result.returncode != 0
    assert f"{data / DB_NAME}: not a usable SQLite database" in result.stderr
    assert "Traceback" not in result.stderr


def test_kiosk_run_on_a_read_only_store_says_so_naming_it(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    Outbox(data / DB_NAME, "cab-1").close()
    (data / DB_NAME).chmod(0o444)
    result = kiosk_run(data)
    assert result.returncode != 0
    assert f"{data / DB_NAME}: the store is read-only" in result.stderr
    assert "Traceback" not in result.stderr
