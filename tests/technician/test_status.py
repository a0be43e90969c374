"""`kiosk status` against a real outbox database in a temp data dir."""

from __future__ import annotations

import sqlite3

from firmware.technician.status import collect_status, format_status
from tests.technician.conftest import Cabinet


def fill(cabinet: Cabinet) -> dict[str, str]:
    """A cabinet's day: a fault that recovered, a heartbeat, a sent sale, a new fault, alarms, a refusal."""
    outbox = cabinet.outbox()
    try:
        early = outbox.append("device.fault", {"device": "scanner", "detail": "no reply (recovered later)"})
        beat = outbox.append("heartbeat", {"faults": []})
        sent = outbox.append("door.unlocked", {"reason": "sale", "seconds": 4.0})
        outbox.mark_sent([early.id, beat.id, sent.id])
        fault = outbox.append("device.fault", {"device": "payment", "detail": "terminal silent for 10 s"})
        outbox.append("alarm", {"kind": "door_forced", "detail": "door opened without an authorized unlock"})
        refused = outbox.append("card.read", {"uid": "04a1b2c3"})
        outbox.dead_letter({refused.id: "unknown card format"})
        (last_sent,) = outbox.db.conn.execute("SELECT sent_at FROM events WHERE id = ?", (sent.id,)).fetchone()
        return {"last_sent": last_sent, "oldest_pending": fault.wall_time}
    finally:
        outbox.close()


def test_status_from_the_database_and_the_configuration(cabinet: Cabinet) -> None:
    times = fill(cabinet)
    before = {p.name: p.read_bytes() for p in cabinet.data_dir.iterdir()}
    report = collect_status(cabinet.config, cabinet.data_dir)
    assert {p.name: p.read_bytes() for p in cabinet.data_dir.iterdir()} == before  # opened read-only

    assert report.cabinet_id == "mall-7" and report.cloud_url == "https://cloud.example.com"
    assert report.sync is not None
    # the payment fault and the alarm are unsent (the refused card read moved to dead letters)
    assert (report.sync.pending, report.sync.dead_letters) == (2, 1)
    assert report.sync.oldest_pending == times["oldest_pending"]
    assert report.sync.last_sent == times["last_sent"]
    assert report.faults == {"payment": (times["oldest_pending"], "terminal silent for 10 s")}
    assert [(a.kind, a.detail) for a in report.alarms] == [("door_forced", "door opened without an authorized unlock")]
    assert report.alarms_24h == 1
    devices = {d.name: d for d in report.devices}
    assert devices["payment"].present and devices["payment"].fault == "terminal silent for 10 s"
    assert devices["scanner"].present is False and devices["scanner"].fault is None  # its fault recovered

    text = format_status(report)
    assert "\033[" not in text  # plain unless asked for colour
    assert "mall-7" in text
    assert f"2 pending, oldest {times['oldest_pending']}" in text and f"last sent   {times['last_sent']}" in text
    assert "dead letters 1" in text
    assert "terminal silent for 10 s" in text and "door_forced: door opened without an authorized unlock" in text
    scanner_line = next(line for line in text.splitlines() if line.strip().startswith("scanner"))
    assert scanner_line.endswith("missing")
    assert "\033[31;1m" in format_status(report, colour=True)


def test_status_while_the_cabinet_writes(cabinet: Cabinet) -> None:
    """The running cabinet holds the database open in WAL mode: status sees its latest commit
    and leaves no file behind that the service user could not open."""
    outbox = cabinet.outbox()
    try:
        outbox.append("alarm", {"kind": "tamper", "detail": "tamper switch opened"})
        files = sorted(p.name for p in cabinet.data_dir.iterdir())
        assert "cabinet.db-wal" in files
        report = collect_status(cabinet.config, cabinet.data_dir)
        assert [a.kind for a in report.alarms] == ["tamper"] and report.sync is not None
        assert report.sync.pending == 1
        assert sorted(p.name for p in cabinet.data_dir.iterdir()) == files
        outbox.append("heartbeat", {"faults": []})  # the cabinet can still write
    finally:
        outbox.close()


def test_configuration_version_from_a_cached_config_table(cabinet: Cabinet) -> None:
    fill(cabinet)
    with sqlite3.connect(cabinet.data_dir / "cabinet.db") as conn:
        conn.execute("DROP TABLE config")  # a layout from before the configuration's sync
        conn.execute("CREATE TABLE config (etag TEXT, body TEXT, fetched_at TEXT)")
        conn.execute("INSERT INTO config VALUES ('\"v41\"', '{}', '2026-01-01T00:00:00Z')")
        conn.execute("INSERT INTO config VALUES ('\"v42\"', '{}', '2026-01-02T00:00:00Z')")
    report = collect_status(cabinet.config, cabinet.data_dir)
    assert report.config_version == '"v42"'
    assert 'cloud configuration version "v42"' in format_status(report)


def test_configuration_version_from_the_config_sync_tables(cabinet: Cabinet) -> None:
    fill(cabinet)
    with sqlite3.connect(cabinet.data_dir / "cabinet.db") as conn:
        conn.execute("INSERT INTO config VALUES (1, 7, '\"e7\"', '{}', '2026-01-02T03:04:05.000Z')")
        conn.execute(
            "INSERT INTO config_refused VALUES ('\"e8\"', 8, 'products[0].price_cents: must be positive', "
            "'2026-01-03T00:00:00.000Z')"
        )
    report = collect_status(cabinet.config, cabinet.data_dir)
    assert report.config_version == (
        "7, applied 2026-01-02T03:04:05.000Z; 1 refused, latest: products[0].price_cents: must be positive"
    )


def test_a_new_cabinet_without_database_or_with_a_broken_config(cabinet: Cabinet) -> None:
    report = collect_status(cabinet.config, cabinet.data_dir)
    assert report.sync is None
    assert (
        report.db_problem == f"{cabinet.data_dir / 'cabinet.db'}: not found: no database yet (the cabinet has not run "
        "with this data dir)"
    )
    assert "no database yet" in format_status(report)

    cabinet.config.write_text(cabinet.config.read_text().replace('id = "mall-7"', "id = 7"))
    report = collect_status(cabinet.config, cabinet.data_dir)
    assert report.config_problem == f"{cabinet.config}: cabinet.id: expected string, got integer 7"
    assert "problem: " in format_status(report)


def test_heartbeat_faults_are_current_until_the_next_heartbeat(cabinet: Cabinet) -> None:
    outbox = cabinet.outbox()
    try:
        outbox.append("device.fault", {"device": "nfc", "detail": "PN532 set-up failed"})
        outbox.append("heartbeat", {"faults": ["nfc"]})
    finally:
        outbox.close()
    report = collect_status(cabinet.config, cabinet.data_dir)
    assert list(report.faults) == ["nfc"] and report.faults["nfc"][1] == "PN532 set-up failed"
    # nfc is not configured on this cabinet (backend none), yet its fault is still on the screen
    assert "PN532 set-up failed" in format_status(report)


def test_a_damaged_database_is_reported_not_a_traceback(cabinet: Cabinet) -> None:
    (cabinet.data_dir / "cabinet.db").write_bytes(b"SQLite format 3\0" + b"\xff" * 200)
    report = collect_status(cabinet.config, cabinet.data_dir)
    assert report.db_problem is not None and report.db_problem.startswith(f"{cabinet.data_dir / 'cabinet.db'}: ")
    assert report.db_problem in format_status(report)
