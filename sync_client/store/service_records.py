"""The technician's records: ``service_actions`` (the audit trail), ``selftest_results`` (the last
self-test only) and ``touch_calibration`` (one row)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sync_client.outbox import Outbox, Transaction
from sync_client.schema import utc_now_iso


@dataclass(frozen=True)
class ServiceAction:
    action: str  # enter, selftest, lock_test, calibrate, restart, exit, timeout
    result: str
    who: str | None  # "pin" or "card:<uid>"
    at: str


@dataclass(frozen=True)
class SelfTestRecord:
    device: str
    ok: bool
    detail: str
    run_at: str


@dataclass(frozen=True)
class CalibrationRecord:
    points: tuple[tuple[int, int], ...]  # top-left, top-right, bottom-right, bottom-left
    width: int
    height: int
    calibrated_at: str


class ServiceRecords:
    def __init__(self, outbox: Outbox) -> None:
        self._conn = outbox.db.conn

    @staticmethod
    def add_action(tx: Transaction, action: str, result: str, who: str | None) -> None:
        tx.execute(
            "INSERT INTO service_actions (action, result, who, at) VALUES (?, ?, ?, ?)",
            (action, result, who, utc_now_iso()),
        )

    def actions(self, limit: int) -> list[ServiceAction]:
        """The audit trail, newest first."""
        rows = self._conn.execute(
            "SELECT action, result, who, at FROM service_actions ORDER BY id DESC LIMIT ?", (limit,)
        ).fetchall()
        return [ServiceAction(*row) for row in rows]

    @staticmethod
    def replace_selftest(tx: Transaction, results: list[tuple[str, bool, str]], run_at: str) -> None:
        """The last self-test's (device, ok, detail), replacing the run before."""
        tx.execute("DELETE FROM selftest_results")
        for device, ok, detail in results:
            tx.execute(
                "INSERT OR REPLACE INTO selftest_results (device, ok, detail, run_at) VALUES (?, ?, ?, ?)",
                (device, int(ok), detail, run_at),
            )

    def selftest(self) -> list[SelfTestRecord]:
        rows = self._conn.execute("SELECT device, ok, detail, run_at FROM selftest_results ORDER BY rowid")
        return [SelfTestRecord(device, bool(ok), detail, run_at) for device, ok, detail, run_at in rows]

    @staticmethod
    def store_calibration(tx: Transaction, points: tuple[tuple[int, int], ...], width: int, height: int) -> None:
        tx.execute(
            "INSERT OR REPLACE INTO touch_calibration (id, points, width, height, calibrated_at) "
            "VALUES (1, ?, ?, ?, ?)",
            (json.dumps([list(p) for p in points]), width, height, utc_now_iso()),
        )

    def calibration(self) -> CalibrationRecord | None:
        row = self._conn.execute(
            "SELECT points, width, height, calibrated_at FROM touch_calibration WHERE id = 1"
        ).fetchone()
        if row is None:
            return None
        points, width, height, at = row
        return CalibrationRecord(tuple((x, y) for x, y in json.loads(points)), width, height, at)
