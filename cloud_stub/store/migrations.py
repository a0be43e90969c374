"""The schema's history (``MIGRATIONS``, the same on both databases) and the backfills the migrations run. Frozen: a
change is a new migration appended to ``MIGRATIONS``."""

from __future__ import annotations

import itertools
import json
import re
import time

from cloud_stub import event_partitions, sqldb
from cloud_stub.sqldb import SQLITE, Conn
from cloud_stub.store.counters import _ROLLED_KEY, _ROLLUPS, FLEET, _Tally, fleet_key, fleet_shard
from cloud_stub.store.fleet import _apply_status_events, _recount_open_alarms, _set_config_facts
from cloud_stub.store.funnel import _FUNNEL_EVENTS, _apply_funnel_event
from cloud_stub.store.sales import _SALE_BEGUN, _SALE_EVENTS, SaleRows, _apply_sale_event
from cloud_stub.store.schema import _ADDED_COLUMNS, _CONSUMER_SCHEMA, _FUNNEL_SCHEMA, _SCHEMA
from cloud_stub.store.tickets import _TICKET_COLUMNS


def _backfill_funnel(conn: Conn) -> None:
    """The funnel of a database from before it (its tables empty): the completed sales of the sales read model
    as sold, then every stored session and ad play, as ingest would have counted them, under the cabinet's key
    and its retailer's fleet's (as it was then: one key, shard 0's)."""
    for key, sold in (("s.cabinet_id", "s.cabinet_id, s.day"), ("? || k.retailer", "k.retailer, s.day")):
        fleet = (FLEET,) if key.startswith("?") else ()
        sales = "FROM sales s JOIN cabinets k ON k.id = s.cabinet_id WHERE s.completed_at IS NOT NULL"
        if fleet:
            sales += " AND k.retailer IS NOT NULL"
        conn.execute(
            f"INSERT INTO funnel_days (cabinet_id, day, sold) SELECT {key}, s.day, COUNT(*) {sales} GROUP BY {sold}",
            fleet,
        )
        conn.execute(
            f"INSERT INTO funnel_products (cabinet_id, day, sku, sold) SELECT {key}, s.day, s.sku, COUNT(*) {sales}"
            f" AND s.sku IS NOT NULL GROUP BY {sold}, s.sku",
            fleet,
        )
    retailers = {r["id"]: r["retailer"] for r in conn.execute("SELECT id, retailer FROM cabinets")}
    types = ", ".join("?" * len(_FUNNEL_EVENTS))
    rows = conn.execute(
        f"SELECT cabinet_id, type, wall_time, payload FROM events WHERE type IN ({types}) ORDER BY cabinet_id, seq",
        sorted(_FUNNEL_EVENTS),
    )
    tally = _Tally()
    keys: tuple[str, ...] = ("",)
    for row in rows:  # read as written: a big store's events are never all in memory, nor all their sums
        if row["cabinet_id"] != keys[0]:  # each cabinet's sums written before the next's
            tally.write(conn)
            retailer = retailers.get(row["cabinet_id"])
            keys = (row["cabinet_id"], fleet_key(retailer, 0)) if retailer else (row["cabinet_id"],)
        payload = json.loads(row["payload"])
        for key in keys:
            _apply_funnel_event(tally, key, row["type"], row["wall_time"], payload)
    tally.write(conn)


# --- versioned migrations (cloud_stub/sqldb.py runs them) -------------------------------------------------
# A change of the schema from now on is a new Migration appended here, the same number on both databases
# (branch on conn.dialect where their SQL differs); the schema texts in schema.py stay as migration 1 made them.
def _has_table(conn: Conn, name: str) -> bool:
    if conn.dialect == SQLITE:
        query = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
    else:
        query = "SELECT 1 FROM pg_tables WHERE schemaname = current_schema() AND tablename = ?"
    return conn.execute(query, (name,)).fetchone() is not None


def _baseline(conn: Conn) -> None:
    """The schema as it stood when migrations began (issue 16). On SQLite it also upgrades a database an
    earlier version made without them, as opening one always did: missing tables and columns added, the read
    models built from the stored events, the ticket statuses' old check dropped; no row is lost."""
    had_sales, had_status = (_has_table(conn, t) for t in ("sales", "cabinet_status"))
    had_rollup = _has_table(conn, "sales_daily") and _has_table(conn, "sales_method_daily")
    had_funnel = _has_table(conn, "funnel_days")
    for schema in (_SCHEMA, _CONSUMER_SCHEMA, _FUNNEL_SCHEMA):
        conn.script(schema)
    _add_missing_columns(conn)
    if conn.dialect != SQLITE:  # the insertion order SQLite's rowid gives (Conn.insert_order)
        for table in ("ticket_changes", "callback_history"):
            conn.script(f"ALTER TABLE {table} ADD COLUMN row_no BIGINT GENERATED ALWAYS AS IDENTITY")
        return
    if not had_sales:
        _backfill_sales(conn)
    if not had_status:
        _backfill_status(conn)
    if not had_sales or not had_rollup:  # a rebuilt read model: its rollup summed afresh too
        _backfill_sales_rollup(conn)
    if not had_funnel:  # after the sales read model: its completed sales count as sold
        _backfill_funnel(conn)
    _widen_ticket_statuses(conn)


def _add_missing_columns(conn: Conn) -> None:
    """Columns added since a table was first created; old rows get the default."""
    for table, column, definition in _ADDED_COLUMNS:
        if conn.dialect != SQLITE:
            conn.script(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {definition}")
        elif column not in {row["name"] for row in conn.execute(f"PRAGMA table_info({table})")}:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")


def _backfill_sales(conn: Conn) -> None:
    """The sales read model of a database from before it: built once from the stored events."""
    rows = conn.execute(
        "SELECT cabinet_id, type, wall_time, payload FROM events WHERE type IN (SELECT value FROM json_each(?))"
        " ORDER BY cabinet_id, seq",
        (json.dumps(sorted(_SALE_EVENTS)),),
    ).fetchall()
    for cabinet_id, of_cabinet in itertools.groupby(rows, key=lambda row: row["cabinet_id"]):
        events = [(row["type"], row["wall_time"], json.loads(row["payload"])) for row in of_cabinet]
        # nothing rolled up: the rollup is summed afresh from the read model afterwards
        sales = SaleRows(conn, cabinet_id, [(kind, payload) for kind, _, payload in events])
        for kind, at, payload in events:
            _apply_sale_event(conn, sales, kind, at, payload)


def _backfill_status(conn: Conn) -> None:
    """The fleet's read model of a database from before it: built once from the configurations and the
    stored events (of the heartbeats and configuration reports only the newest count)."""
    for row in conn.execute("SELECT cabinet_id, document FROM configs").fetchall():
        _set_config_facts(conn, row["cabinet_id"], json.loads(row["document"]))
    cabinet_ids = [r["id"] for r in conn.execute("SELECT id FROM cabinets ORDER BY id").fetchall()]
    for cabinet_id in cabinet_ids:
        rows = conn.execute(
            "SELECT seq, type, wall_time, payload FROM events e WHERE cabinet_id = ? AND (type IN "
            "('sale.completed', 'stock.changed', 'restock.recorded') OR type IN "
            "('heartbeat', 'config.applied', 'config.rejected') AND seq = (SELECT MAX(x.seq) FROM events x "
            "WHERE x.cabinet_id = e.cabinet_id AND x.type = e.type)) ORDER BY seq",
            (cabinet_id,),
        ).fetchall()
        facts = [(r["seq"], r["type"], r["wall_time"], json.loads(r["payload"])) for r in rows]
        _apply_status_events(conn, cabinet_id, facts)
    _recount_open_alarms(conn, cabinet_ids)


def _backfill_sales_rollup(conn: Conn) -> None:
    """The daily rollup of a database from before it: summed once from the sales read model (which
    ``_backfill_sales`` may just have built, keeping the rollup as it went: hence the fresh start)."""
    for table, _ in _ROLLUPS:
        conn.execute(f"DELETE FROM {table}")
    conn.execute(
        f"INSERT INTO sales_daily ({', '.join(_ROLLED_KEY)}, count, cents) SELECT k.retailer, s.cabinet_id, "
        "s.day, COALESCE(s.sku, ''), COALESCE(s.variant_sku, s.sku, ''), COALESCE(s.currency, ''), COUNT(*), "
        "SUM(COALESCE(s.amount_cents, 0)) FROM sales s JOIN cabinets k ON k.id = s.cabinet_id "
        "WHERE s.completed_at IS NOT NULL AND k.retailer IS NOT NULL GROUP BY 1, 2, 3, 4, 5, 6"
    )
    conn.execute(
        "INSERT INTO sales_method_daily (retailer, cabinet_id, day, sku, method, method_detail, currency, "
        "count, cents) SELECT k.retailer, s.cabinet_id, s.day, COALESCE(s.sku, ''), COALESCE(s.method, ''), "
        "COALESCE(s.method_detail, ''), COALESCE(s.currency, ''), COUNT(*), SUM(COALESCE(s.amount_cents, 0)) "
        "FROM sales s JOIN cabinets k ON k.id = s.cabinet_id "
        "WHERE s.completed_at IS NOT NULL AND k.retailer IS NOT NULL GROUP BY 1, 2, 3, 4, 5, 6, 7"
    )
    for table, key in _ROLLUPS[1:3]:  # the coarser ones from the finest (the fleet's: shard 0, until migration 3)
        columns = ", ".join(k for k in key if k != "shard")
        conn.execute(
            f"INSERT INTO {table} ({columns}, count, cents) SELECT {columns}, SUM(count), SUM(cents) "
            f"FROM sales_daily GROUP BY {columns}"
        )


def _widen_ticket_statuses(conn: Conn) -> None:
    """A database from before the repair board checked three ticket statuses in the table itself: rebuild
    the table without that check (the rows are copied as they are)."""
    row = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'repair_tickets'").fetchone()
    if "CHECK (status IN" not in row["sql"]:
        return
    create = re.search(r"CREATE TABLE IF NOT EXISTS repair_tickets \(.*?\n\);", _SCHEMA, re.S)
    assert create is not None  # the statement is in schema.py
    conn.script(
        "ALTER TABLE repair_tickets RENAME TO repair_tickets_v1;\n"
        f"{create.group(0)}\nINSERT INTO repair_tickets ({_TICKET_COLUMNS}) "
        f"SELECT {_TICKET_COLUMNS} FROM repair_tickets_v1;\n"
        "DROP TABLE repair_tickets_v1;\n"
    )


# Migration 3: sales_fleet_daily remade with its shards, as sales_fleet_daily is declared from now on.
_SHARDED_FLEET_SALES = """
CREATE TABLE sales_fleet_daily (
    retailer TEXT NOT NULL,
    day TEXT NOT NULL,
    sku TEXT NOT NULL,
    variant_sku TEXT NOT NULL,
    currency TEXT NOT NULL,
    shard INTEGER NOT NULL DEFAULT 0,    -- fleet_shard() of the cabinets whose sales it counts
    count INTEGER NOT NULL,
    cents INTEGER NOT NULL,
    PRIMARY KEY (retailer, day, sku, variant_sku, currency, shard)
) WITHOUT ROWID;
"""


def _fleet_shards(conn: Conn) -> None:
    """Rows no two cabinets' uploads both write (see FLEET_SHARDS), and nonces forgotten per cabinet:
    - sales_fleet_daily gets a shard in its key, and its lines are summed again from sales_daily's (the same
      lines per cabinet: each cabinet's go to its shard, as its later sales will);
    - the funnel's fleet rows from before are shard 0's as they are (its key is the fleet's old one);
    - nonces are found by cabinet and age (``_claim_nonce``), no longer by age alone."""
    conn.script(
        "DROP INDEX IF EXISTS nonces_by_age;\n"
        "CREATE INDEX IF NOT EXISTS nonces_by_cabinet_age ON nonces(cabinet_id, seen_at);\n"
        "DROP TABLE sales_fleet_daily;\n"
        f"{_SHARDED_FLEET_SALES}"
        "CREATE TEMP TABLE cabinet_shards (cabinet_id TEXT PRIMARY KEY, shard INTEGER NOT NULL);\n"
    )
    cabinets = [r["cabinet_id"] for r in conn.execute("SELECT DISTINCT cabinet_id FROM sales_daily")]
    conn.executemany(
        "INSERT INTO cabinet_shards (cabinet_id, shard) VALUES (?, ?)", [(c, fleet_shard(c)) for c in cabinets]
    )
    conn.execute(
        "INSERT INTO sales_fleet_daily (retailer, day, sku, variant_sku, currency, shard, count, cents) "
        "SELECT d.retailer, d.day, d.sku, d.variant_sku, d.currency, c.shard, SUM(d.count), SUM(d.cents) "
        "FROM sales_daily d JOIN cabinet_shards c ON c.cabinet_id = d.cabinet_id GROUP BY 1, 2, 3, 4, 5, 6"
    )
    conn.script("DROP TABLE cabinet_shards;\n")


# Migration 4: the retailer API's sales of a cabinet, newest first, a page at a time: the page read from the
# index in its order, whatever the cabinet's history (sales_of; the expression as _SALE_BEGUN writes it).
_SALES_BY_BEGUN = (
    f"CREATE INDEX IF NOT EXISTS sales_of_cabinet_by_begun ON sales(cabinet_id, ({_SALE_BEGUN}), sale_id);"
)

# Migration 5: the products a retailer sold (the sales page's filter), found in the index a product at a time
# (sale_skus) instead of read from every day's fleet lines.
_FLEET_SALES_BY_SKU = "CREATE INDEX IF NOT EXISTS sales_fleet_daily_by_sku ON sales_fleet_daily(retailer, sku);"

MIGRATIONS: tuple[sqldb.Migration, ...] = (
    sqldb.Migration(1, "baseline", _baseline),
    sqldb.Migration(2, "events_by_month", lambda conn: event_partitions.partition_events(conn, time.time())),
    sqldb.Migration(3, "fleet_shards", _fleet_shards),
    sqldb.Migration(4, "sales_of_cabinet_by_begun", lambda conn: conn.script(_SALES_BY_BEGUN)),
    sqldb.Migration(5, "fleet_sales_by_sku", lambda conn: conn.script(_FLEET_SALES_BY_SKU)),
)
