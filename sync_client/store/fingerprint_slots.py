"""``fingerprint_slots``: the fingerprint module's slots the cabinet enrolled (or found holding a template)
and whether a configuration named them yet."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sync_client.outbox import Outbox, Transaction


@dataclass(frozen=True)
class SlotRecord:
    slot: int
    named: bool  # a configuration named the slot (once named, unnaming it deletes the template)
    since: float  # wall-clock seconds: when it was enrolled or first found on the module


class FingerprintSlotsRepo:
    def __init__(self, outbox: Outbox) -> None:
        self._conn = outbox.db.conn

    @staticmethod
    def enrolled(tx: Transaction, slot: int, at: float) -> None:
        """A new template stored at ``slot``: not named yet, whatever the slot held before."""
        tx.execute(
            "INSERT INTO fingerprint_slots (slot, named, since) VALUES (?, 0, ?) "
            "ON CONFLICT (slot) DO UPDATE SET named = 0, since = excluded.since",
            (slot, at),
        )

    @staticmethod
    def found(tx: Transaction, slot: int, at: float) -> None:
        """A template on the module the store did not know of (enrolled before this table, or elsewhere)."""
        tx.execute(
            "INSERT INTO fingerprint_slots (slot, named, since) VALUES (?, 0, ?) ON CONFLICT DO NOTHING", (slot, at)
        )

    @staticmethod
    def named(tx: Transaction, slots: Iterable[int], at: float) -> None:
        """The slots a configuration names."""
        for slot in slots:
            tx.execute(
                "INSERT INTO fingerprint_slots (slot, named, since) VALUES (?, 1, ?) "
                "ON CONFLICT (slot) DO UPDATE SET named = 1",
                (slot, at),
            )

    @staticmethod
    def forget(tx: Transaction, slot: int) -> None:
        tx.execute("DELETE FROM fingerprint_slots WHERE slot = ?", (slot,))

    def all(self) -> list[SlotRecord]:
        rows = self._conn.execute("SELECT slot, named, since FROM fingerprint_slots ORDER BY slot").fetchall()
        return [SlotRecord(slot, bool(named), since) for slot, named, since in rows]
