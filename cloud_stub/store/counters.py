"""The day-by-day counters kept at ingest (``_Tally``), the fleet's shards of them, and the sales roll-ups' keys."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from cloud_stub.sqldb import Conn, Row

# --- the read models' counters, as an ingest adds to them ---------------------------------------------------
# A retailer's whole fleet has rows of its own in the funnel (funnel_*: under a fleet key in cabinet_id) and in
# the sales rollup (sales_fleet_daily), so that its pages read a few rows a day, not one per cabinet. Had the
# fleet one row per day (and product, ad...), every ingest of every cabinet of the retailer would update it: one
# row lock all of them queue on, on PostgreSQL with several nodes. So the fleet's rows are split in FLEET_SHARDS
# shards, a cabinet always adding to the same one (a stable hash of its id), and the reads add the shards up: 16
# rows where there was one, whatever the fleet's size (reading per-cabinet rows instead would cost the fleet's
# size: 5,000 rows a day). Changing FLEET_SHARDS needs a migration that moves the rows (as _fleet_shards did).
FLEET_SHARDS = 16


def fleet_shard(cabinet_id: str) -> int:
    """The shard of its fleet's rows a cabinet adds to (crc32: the same in every process and release)."""
    return zlib.crc32(cabinet_id.encode()) % FLEET_SHARDS


# Each counter table: its key and its counters (a row is created by the first addition to it).
_COUNTERS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "funnel_days": (("cabinet_id", "day"), ("sessions", "viewed", "checkouts", "paid", "sold", "passers", "stoppers")),
    "funnel_products": (
        ("cabinet_id", "day", "sku"),
        ("views", "dwell_s", "turns", "narrations", "variants", "checkouts", "paid", "sold"),
    ),
    "funnel_exits": (("cabinet_id", "day", "left_at"), ("sessions",)),
    "funnel_ads": (("cabinet_id", "day", "ad_id"), ("impressions", "touches")),
}


@cache
def _counter_sql(table: str) -> tuple[str, str]:
    """The counter table's upsert (its key, then its counters) and the delete of a rollup line left at 0."""
    key, counters = _COUNTERS[table] if table in _COUNTERS else (dict(_ROLLUPS)[table], ("count", "cents"))
    columns = (*key, *counters)
    upsert = (
        f"INSERT INTO {table} AS t ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
        f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET " + ", ".join(f"{c} = t.{c} + excluded.{c}" for c in counters)
    )
    return upsert, f"DELETE FROM {table} WHERE {' AND '.join(f'{k} = ?' for k in key)} AND count = 0"


@dataclass
class _Tally:
    """What a transaction adds to the counters of the read models (the funnel's and the sales rollup's), summed
    per row in memory while it folds its events and written at its end by ``write``: one upsert per row however
    many events added to it (ten plays of an ad are one statement), in one order (table, then key) for every
    transaction. The only rows two uploads both write are these (their fleet shard's: everything else is their
    own cabinet's, under its row lock), taken after everything else and in that one order by both: they never
    wait for each other in a cycle, so PostgreSQL has no deadlock to break."""

    rows: dict[str, dict[tuple[Any, ...], list[Any]]] = field(default_factory=dict)

    def add(self, table: str, key: tuple[Any, ...], **counts: float) -> None:
        names = _COUNTERS[table][1] if table in _COUNTERS else ("count", "cents")
        row = self.rows.setdefault(table, {}).setdefault(key, [0] * len(names))
        for name, value in counts.items():
            row[names.index(name)] += value

    def write(self, conn: Conn) -> None:
        for table in sorted(self.rows):
            upsert, delete = _counter_sql(table)
            funnel = table in _COUNTERS  # a funnel row is made even by nothing (a day); a rollup line is not
            rows = [(key, counts) for key, counts in sorted(self.rows[table].items()) if funnel or any(counts)]
            conn.executemany(upsert, [(*key, *counts) for key, counts in rows])
            # A rollup line whose count dropped to nothing goes (a sale's share moved to another line).
            conn.executemany(delete, [key for key, counts in rows if not funnel and counts[0] < 0])
        self.rows.clear()


# --- the daily rollup of the completed sales (sales_daily, sales_cabinet_daily, sales_fleet_daily) -------
# How a scan-to-pay payment was paid: the provider's method detail, else the provider.
_PAID_BY = "COALESCE(method_detail, provider)"
_ROLLED = "completed_at, day, sku, variant_sku, currency, amount_cents, method, method_detail"
_ROLLED_KEY = ("retailer", "cabinet_id", "day", "sku", "variant_sku", "currency")
_ROLLED_LINE = (*_ROLLED_KEY, "method", "method_detail")
# Each rollup table and the part of the key it keeps, finest first.
_ROLLUPS = (
    ("sales_daily", _ROLLED_KEY),
    ("sales_cabinet_daily", ("retailer", "cabinet_id", "day", "currency")),
    ("sales_fleet_daily", ("retailer", "day", "sku", "variant_sku", "currency", "shard")),
    ("sales_method_daily", ("retailer", "cabinet_id", "day", "sku", "method", "method_detail", "currency")),
)
_SaleShare = tuple[tuple[str, str, str, str, str, str], int]


def _sale_counted(row: Row | None) -> _SaleShare | None:
    """What a sale's row adds to the rollup: its key (day, sku, variant, currency, method, method detail; ''
    for an unknown fact) and its cents; None while it is not completed."""
    if row is None or row["completed_at"] is None:
        return None
    sku = row["sku"] or ""
    key = (row["day"], sku, row["variant_sku"] or sku, row["currency"] or "", row["method"] or "")
    return (*key, row["method_detail"] or ""), row["amount_cents"] or 0


def _roll_up(
    tally: _Tally, retailer: str | None, cabinet_id: str, before: _SaleShare | None, after: _SaleShare | None
) -> None:
    """Move a sale's share of the rollup from what it was to what it is (an event may complete a sale or
    name a fact it lacked); a line whose count drops to nothing is removed when the tally is written."""
    if before == after or retailer is None:  # a cabinet of no retailer is on no page
        return
    shard = fleet_shard(cabinet_id)
    for share, sign in ((before, -1), (after, 1)):
        if share is None:
            continue
        (day, sku, variant, currency, method, detail), cents = share
        values = (retailer, cabinet_id, day, sku, variant, currency, method, detail, shard)
        line: dict[str, Any] = dict(zip((*_ROLLED_LINE, "shard"), values, strict=True))
        for table, key in _ROLLUPS:
            tally.add(table, tuple(line[k] for k in key), count=sign, cents=sign * cents)


FLEET = "*"  # a retailer's whole fleet is kept as more sets of rows, under "*<retailer>..." (no cabinet id has "*")


def fleet_key(retailer: str, shard: int) -> str:
    """The funnel key of a shard of the retailer's fleet (see FLEET_SHARDS): shard 0 keeps the key the fleet had
    before it had shards ("*<retailer>"), so that its rows from then stay as they were; the others are
    "*<retailer>#<shard>" ("#" is in no retailer's name)."""
    return f"{FLEET}{retailer}#{shard}" if shard else FLEET + retailer
