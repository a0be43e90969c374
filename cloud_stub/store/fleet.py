"""The console's fleet at a glance (the cabinet_status read model)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from cloud_stub.sqldb import Conn, Cursor, Row, reads
from cloud_stub.store.base import StoreBase, _limit
from cloud_stub.store.records import DEFAULT_STOCK_THRESHOLD, FLEET_STATES
from sync_client.cabinet_config import ConfigInvalid, parse_config
from sync_client.schema import dumps

# stock_of's choice of cabinets: one (?, ?) or a JSON list of ids (?, ?), or all.
_ONLY_CABINETS = "(? IS NULL OR c.id = ?) AND (? IS NULL OR c.id IN (SELECT value FROM json_each(?)))"


# The fleet's read model (cabinet_status, stock_counts, cabinet_units): what each event changes in it.
_COUNT_EVENTS = ("stock.changed", "restock.recorded")
_UPDATE_EVENTS = {"update.installed": "installed", "update.failed": "failed", "update.refused": "refused"}
_STATUS_EVENTS = frozenset(
    {"heartbeat", "config.applied", "config.rejected", "alarm", "sale.completed", *_COUNT_EVENTS, *_UPDATE_EVENTS}
)
_FLEET_STATE_SQL = {
    "offline": "(c.last_seen_at IS NULL OR c.last_seen_at < :online_since)",
    "alarms": "s.open_alarms > 0",
    "low_stock": "s.stock_low + s.stock_out > 0",
}
_FOLDED = (
    "heartbeat_seq",
    "heartbeat_at",
    "backlog",
    "software",
    "faults",
    "applied_seq",
    "applied_at",
    "applied_version",
    "rejected_seq",
    "rejected_at",
    "rejected",
    "open_alarms",
    "sales_day",
    "sales_count",
    "sales_totals",
    "update_seq",
    "update_state",
    "update_version",
    "update_detail",
)
_STATUS_COLUMNS = (*_FOLDED, "stock_low", "stock_out", "stock_short", "place_address", "place_lat", "place_lon")
_STATUS_READ = ", ".join(f"s.{c}" for c in _STATUS_COLUMNS)
# A cabinet without a status row yet (no event, no configuration) reads as these.
_STATUS_DEFAULTS = {"faults": "[]", "open_alarms": 0, "sales_count": 0, "sales_totals": "{}", "stock_low": 0}
_STATUS_DEFAULTS |= {"stock_out": 0, "stock_short": "[]"}


def _newer(seq: int, than: int | None) -> bool:
    return than is None or seq > than


def _apply_status_events(conn: Conn, cabinet_id: str, events: Sequence[tuple[int, str, str, dict[str, Any]]]) -> None:
    """Fold the cabinet's new events (seq, type, wall time, payload) into its status row and stock counts. The
    newest event by seq wins (a late upload of an older one changes nothing); the day's sales are those of the
    newest UTC day with a sale (the cabinet's clock)."""
    if not events:
        return
    conn.execute("INSERT INTO cabinet_status (cabinet_id) VALUES (?) ON CONFLICT DO NOTHING", (cabinet_id,))
    row = dict(
        conn.execute(
            f"SELECT {', '.join(_FOLDED)} FROM cabinet_status WHERE cabinet_id = ? FOR UPDATE", (cabinet_id,)
        ).fetchone()
    )
    totals: dict[str, int] = json.loads(row["sales_totals"])
    counts: dict[str, tuple[int, int, str]] = {}  # sku -> (seq, count, at)
    for seq, kind, at, payload in events:
        if kind == "heartbeat" and _newer(seq, row["heartbeat_seq"]):
            backlog, software = payload.get("backlog"), payload.get("software")
            row.update(
                heartbeat_seq=seq,
                heartbeat_at=at,
                backlog=backlog if isinstance(backlog, int) else None,
                software=software if isinstance(software, str) else None,
                faults=json.dumps([str(f) for f in payload.get("faults", [])]),
            )
        elif kind == "config.applied" and _newer(seq, row["applied_seq"]):
            row.update(applied_seq=seq, applied_at=at, applied_version=payload.get("version"))
        elif kind == "config.rejected" and _newer(seq, row["rejected_seq"]):
            row.update(rejected_seq=seq, rejected_at=at, rejected=dumps(payload).decode())
        elif kind == "alarm":
            row["open_alarms"] += 1  # a new alarm is never acknowledged yet
        elif kind == "sale.completed" and at[:10] >= (row["sales_day"] or ""):
            if at[:10] != row["sales_day"]:
                row.update(sales_day=at[:10], sales_count=0)
                totals = {}
            row["sales_count"] += 1
            currency, cents = payload.get("currency"), payload.get("amount_cents")
            if isinstance(currency, str) and isinstance(cents, int):
                totals[currency] = totals.get(currency, 0) + cents
        elif kind in _UPDATE_EVENTS and _newer(seq, row["update_seq"]):
            detail = payload.get("previous") if kind == "update.installed" else payload.get("reason")
            row.update(update_seq=seq, update_state=_UPDATE_EVENTS[kind], update_version=payload.get("version"))
            row["update_detail"] = str(detail) if detail is not None else None
        elif kind in _COUNT_EVENTS and isinstance(payload.get("sku"), str) and isinstance(payload.get("count"), int):
            if _newer(seq, counts.get(payload["sku"], (None,))[0]):
                counts[payload["sku"]] = (seq, payload["count"], at)
    row["sales_totals"] = json.dumps(totals, sort_keys=True)
    conn.execute(
        f"UPDATE cabinet_status SET {', '.join(f'{c} = :{c}' for c in _FOLDED)} WHERE cabinet_id = :cabinet_id",
        {**row, "cabinet_id": cabinet_id},
    )
    if counts:
        conn.executemany(
            "INSERT INTO stock_counts (cabinet_id, sku, count, as_of, seq) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (cabinet_id, sku) DO UPDATE SET count = excluded.count, as_of = excluded.as_of, "
            "seq = excluded.seq WHERE excluded.seq > stock_counts.seq",
            [(cabinet_id, sku, count, at, seq) for sku, (seq, count, at) in counts.items()],
        )
        _refresh_stock_status(conn, [cabinet_id])


def _refresh_stock_status(conn: Conn, cabinet_ids: Sequence[str]) -> None:
    """Recount the cabinets' low and out units: a unit is judged by its product's threshold (the retailer's
    stock level, else DEFAULT_STOCK_THRESHOLD); a unit its configuration does not list is its own product."""
    rows = conn.execute(
        "SELECT s.cabinet_id, s.sku, s.count, COALESCE(l.threshold, ?) AS threshold FROM stock_counts s "
        "JOIN cabinets c ON c.id = s.cabinet_id LEFT JOIN cabinet_units u ON u.cabinet_id = s.cabinet_id "
        "AND u.sku = s.sku LEFT JOIN stock_levels l ON l.retailer = c.retailer "
        "AND l.sku = COALESCE(u.product_sku, s.sku) WHERE s.cabinet_id IN (SELECT value FROM json_each(?)) "
        "ORDER BY s.cabinet_id, s.sku",
        (DEFAULT_STOCK_THRESHOLD, json.dumps(list(cabinet_ids))),
    ).fetchall()
    short: dict[str, list[tuple[str, int]]] = {cabinet_id: [] for cabinet_id in cabinet_ids}
    for row in rows:
        if row["count"] <= 0 or row["count"] < row["threshold"]:
            short[row["cabinet_id"]].append((row["sku"], row["count"]))
    conn.executemany(
        "INSERT INTO cabinet_status (cabinet_id, stock_low, stock_out, stock_short) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (cabinet_id) DO UPDATE SET stock_low = excluded.stock_low, stock_out = excluded.stock_out, "
        "stock_short = excluded.stock_short",
        [
            (cabinet_id, sum(c > 0 for _, c in units), sum(c <= 0 for _, c in units), json.dumps(units))
            for cabinet_id, units in short.items()
        ],
    )


def _recount_open_alarms(conn: Conn, cabinet_ids: Sequence[str]) -> None:
    conn.execute(
        "INSERT INTO cabinet_status (cabinet_id, open_alarms) SELECT j.value, (SELECT COUNT(*) FROM events e "
        "LEFT JOIN alarm_handling h ON h.event_id = e.id WHERE e.cabinet_id = j.value AND e.type = 'alarm' "
        "AND h.acknowledged_at IS NULL) FROM json_each(?) j WHERE true "
        "ON CONFLICT (cabinet_id) DO UPDATE SET open_alarms = excluded.open_alarms",
        (json.dumps(list(cabinet_ids)),),
    )


def _config_units(document: dict[str, Any]) -> list[tuple[str, str]]:
    """(unit sku, product sku) of each unit the configuration counts, as the cabinet's own parser reads it."""
    try:
        config = parse_config({**document, "version": 1, "pickup_orders": []})
    except ConfigInvalid:  # stored documents were validated; one that no longer parses counts no units
        return []
    units = []
    for product in config.products:
        variants = product.sold_variants()
        units += [(v.sku, product.sku) for v in variants] if variants else [(product.sku, product.sku)]
    return units


def _set_config_facts(conn: Conn, cabinet_id: str, document: dict[str, Any]) -> None:
    """What the fleet's read model takes from a configuration: its units (whose product's threshold applies)
    and its place."""
    conn.execute("DELETE FROM cabinet_units WHERE cabinet_id = ?", (cabinet_id,))
    conn.executemany(
        "INSERT INTO cabinet_units (cabinet_id, sku, product_sku) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        [(cabinet_id, sku, product_sku) for sku, product_sku in _config_units(document)],
    )
    place: dict[str, Any] = document["place"] if isinstance(document.get("place"), dict) else {}
    conn.execute(
        "INSERT INTO cabinet_status (cabinet_id, place_address, place_lat, place_lon) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (cabinet_id) DO UPDATE SET place_address = excluded.place_address, "
        "place_lat = excluded.place_lat, place_lon = excluded.place_lon",
        (cabinet_id, place.get("address"), place.get("lat"), place.get("lon")),
    )
    _refresh_stock_status(conn, [cabinet_id])


def _status_record(row: Row) -> dict[str, Any]:
    """A fleet page row: the JSON columns decoded, a cabinet without a status row given the defaults."""
    record = {k: row[k] for k in row.keys() if k != "total"}
    for column, default in _STATUS_DEFAULTS.items():
        if record[column] is None:
            record[column] = default
    for column in ("faults", "sales_totals", "stock_short"):
        record[column] = json.loads(record[column])
    record["stock_short"] = [tuple(unit) for unit in record["stock_short"]]
    record["rejected"] = json.loads(record["rejected"]) if record["rejected"] else None
    return record


def _send_cabinet_ids(conn: Conn, retailer: str, limit: int = -1, offset: int = 0) -> Cursor:
    """The query of a page of the retailer's cabinet ids in order (``_ids_and_count`` reads its answer: in a
    pipeline, after the statements sent with it)."""
    return conn.execute(
        "SELECT id, COUNT(*) OVER () AS total FROM cabinets WHERE retailer = ? ORDER BY id LIMIT ? OFFSET ?",
        (retailer, _limit(limit), offset),
    )


def _ids_and_count(cursor: Cursor) -> tuple[list[str], int]:
    rows = cursor.fetchall()
    return [r["id"] for r in rows], rows[0]["total"] if rows else 0


class FleetMixin(StoreBase):
    """The console's fleet at a glance (the cabinet_status read model)."""

    # --- the console: the fleet at a glance ---------------------------------------------------------
    @reads
    def fleet_page(
        self,
        retailer: str,
        *,
        online_since: str,
        state: str | None = None,
        search: str | None = None,
        cabinet_id: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[dict[str, Any]], int]:
        """One page of the retailer's cabinets by id from the fleet's read model, and how many there are in all:
        only those in ``state`` (FLEET_STATES; offline: no signed request since ``online_since``), whose id or
        address holds ``search`` (any case), or ``cabinet_id``. Each is the cabinet's record (``last_seen_at``,
        ``config_version``) with its ``cabinet_status`` row (JSON columns decoded, defaults when it has none)."""
        if state not in (None, *FLEET_STATES):
            raise ValueError(f"state: expected one of {', '.join(FLEET_STATES)}, got {state!r}")
        where = _FLEET_STATE_SQL[state] if state else "1 = 1"
        with self._db.read() as conn:
            rows = conn.execute(
                f"SELECT c.id, c.created_at, c.last_seen_at, g.version AS config_version, {_STATUS_READ}, "
                "COUNT(*) OVER () AS total FROM cabinets c LEFT JOIN cabinet_status s ON s.cabinet_id = c.id "
                "LEFT JOIN configs g ON g.cabinet_id = c.id WHERE c.retailer = :retailer "
                "AND (:cabinet_id IS NULL OR c.id = :cabinet_id) "
                "AND (:search IS NULL OR instr(lower(c.id), :search) > 0 "
                f"OR instr(lower(COALESCE(s.place_address, '')), :search) > 0) AND {where} "
                "ORDER BY c.id LIMIT :limit OFFSET :offset",
                {
                    "retailer": retailer,
                    "cabinet_id": cabinet_id,
                    "search": search.lower() if search else None,
                    "online_since": online_since,
                    "limit": limit,
                    "offset": offset,
                },
            ).fetchall()
        total = rows[0]["total"] if rows else 0
        return [_status_record(r) for r in rows], total

    @reads
    def configs_of(
        self, retailer: str, *, cabinet_ids: Sequence[str] | None = None
    ) -> dict[str, tuple[int, dict[str, Any]] | None]:
        """cabinet id -> its configuration (version, document) as ``config`` gives it, for every cabinet of the
        retailer (only those of ``cabinet_ids`` if given) in one query (None: none yet), by id."""
        only = json.dumps(list(cabinet_ids)) if cabinet_ids is not None else None
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT c.id, g.version, g.document FROM cabinets c LEFT JOIN configs g ON g.cabinet_id = c.id "
                f"WHERE c.retailer = ? AND {_ONLY_CABINETS} ORDER BY c.id",
                (retailer, None, None, only, only),
            ).fetchall()
        return {r["id"]: (r["version"], json.loads(r["document"])) if r["document"] else None for r in rows}

    @reads
    def stock_of(
        self, retailer: str, *, cabinet_id: str | None = None, cabinet_ids: Sequence[str] | None = None
    ) -> list[dict[str, Any]]:
        """The retailer's cabinets (only ``cabinet_id`` or those of ``cabinet_ids`` if given) by id: ``id``,
        ``config_version`` and ``document`` (the configuration in force, None without one) and ``stock``
        (sku -> {count, as_of}: the newest count of each unit)."""
        only = json.dumps(list(cabinet_ids)) if cabinet_ids is not None else None
        with self._db.read() as conn:
            cabinets = {
                r["id"]: {
                    "id": r["id"],
                    "config_version": r["version"],
                    "document": json.loads(r["document"]) if r["document"] else None,
                    "stock": {},
                }
                for r in conn.execute(
                    "SELECT c.id, g.version, g.document FROM cabinets c LEFT JOIN configs g ON g.cabinet_id = c.id "
                    f"WHERE c.retailer = ? AND {_ONLY_CABINETS} ORDER BY c.id",
                    (retailer, cabinet_id, cabinet_id, only, only),
                )
            }
            counts = conn.execute(
                "SELECT s.cabinet_id, s.sku, s.count, s.as_of FROM stock_counts s "
                f"JOIN cabinets c ON c.id = s.cabinet_id WHERE c.retailer = ? AND {_ONLY_CABINETS}",
                (retailer, cabinet_id, cabinet_id, only, only),
            ).fetchall()
        for row in counts:
            cabinets[row["cabinet_id"]]["stock"][row["sku"]] = {"count": row["count"], "as_of": row["as_of"]}
        return list(cabinets.values())

    @reads
    def counted_cabinets(self, retailer: str, *, limit: int, offset: int = 0) -> tuple[list[str], int]:
        """A page of the retailer's cabinets whose configuration counts units (the stock page's), by id, and how
        many there are in all."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT c.id, COUNT(*) OVER () AS total FROM cabinets c WHERE c.retailer = ? "
                "AND EXISTS (SELECT 1 FROM cabinet_units u WHERE u.cabinet_id = c.id) ORDER BY c.id LIMIT ? OFFSET ?",
                (retailer, _limit(limit), offset),
            ).fetchall()
        return [r["id"] for r in rows], rows[0]["total"] if rows else 0

    @reads
    def product_cabinets(self, retailer: str) -> dict[str, str]:
        """product sku -> one cabinet whose configuration sells it (the first by id), for every product of the
        retailer's configurations: where a product's name can be read."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT u.product_sku, MIN(u.cabinet_id) AS cabinet_id FROM cabinet_units u "
                "JOIN cabinets c ON c.id = u.cabinet_id WHERE c.retailer = ? GROUP BY u.product_sku",
                (retailer,),
            ).fetchall()
        return {r["product_sku"]: r["cabinet_id"] for r in rows}

    @reads
    def short_cabinets(
        self, retailer: str, *, default_threshold: int, limit: int, offset: int = 0
    ) -> tuple[list[str], int]:
        """A page of the retailer's cabinets with a unit of their configuration out or under its product's
        threshold (``default_threshold`` where none is set) and no open restock line, by id, and how many in all."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT c.id, COUNT(*) OVER () AS total FROM cabinets c WHERE c.retailer = :retailer "
                "AND NOT EXISTS (SELECT 1 FROM restock_lines r WHERE r.retailer = c.retailer "
                "AND r.cabinet_id = c.id AND r.closed_at IS NULL) "
                "AND EXISTS (SELECT 1 FROM cabinet_units u JOIN stock_counts s ON s.cabinet_id = u.cabinet_id "
                "AND s.sku = u.sku LEFT JOIN stock_levels l ON l.retailer = c.retailer AND l.sku = u.product_sku "
                "WHERE u.cabinet_id = c.id AND (s.count <= 0 OR s.count < COALESCE(l.threshold, :threshold))) "
                "ORDER BY c.id LIMIT :limit OFFSET :offset",
                {"retailer": retailer, "threshold": default_threshold, "limit": limit, "offset": offset},
            ).fetchall()
        return [r["id"] for r in rows], rows[0]["total"] if rows else 0

    @reads
    def cabinet_ids(self, retailer: str, *, limit: int = -1, offset: int = 0) -> tuple[list[str], int]:
        """A page of the retailer's cabinet ids in order (all of them by default), and how many there are."""
        with self._db.read() as conn:
            return _ids_and_count(_send_cabinet_ids(conn, retailer, limit, offset))
