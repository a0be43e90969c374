"""The console's sales and refunds (the ``sales`` read model and its daily roll-ups)."""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable
from typing import Any

from cloud_stub.sqldb import Conn, Cursor, Row, reads
from cloud_stub.store.base import StoreBase, _now
from cloud_stub.store.counters import _PAID_BY, _ROLLED, _roll_up, _sale_counted, _Tally
from cloud_stub.store.errors import Conflict, NotFound
from cloud_stub.store.fleet import _ids_and_count, _send_cabinet_ids
from cloud_stub.store.records import SalesOverview
from sync_client.schema import utc_iso

# The events the sales read model is kept from; an alarm only when it is refund_needed.
_SALE_EVENTS = frozenset({"payment.approved", "sale.completed", "sale.unclaimed", "payment.reversed", "alarm"})
_SALE_FACTS = ("sku", "variant_sku", "amount_cents", "currency", "method", "method_detail", "card", "receipt_no")
# The unit sold: a product without variants (or a sale from before them) names none, and is its own.
_VARIANT = "COALESCE(variant_sku, sku)"


class SaleRows:
    """One cabinet's rows of the sales read model that an upload folds its events into: read in one query for
    the whole batch, then each as its latest upsert returned it, read back only when something needs it (in
    PostgreSQL's pipeline mode reading an answer is waiting for the server). ``roll_up`` moves each sale's share
    of the daily rollup from what it was before the upload to what it is after: the same sum as a move per
    event, since each event's "before" is the previous one's "after"."""

    def __init__(self, conn: Conn, cabinet_id: str, events: Iterable[tuple[str, dict[str, Any]]]) -> None:
        """The rows of the sales that ``events`` (each its kind and payload) fold into."""
        self.cabinet_id = cabinet_id
        self._conn = conn
        self._before: dict[str, Row] = {}
        sale_ids = [i for kind, payload in events if (i := sale_id_of(kind, payload))]
        if sale_ids:
            found = conn.execute(
                f"SELECT sale_id, {_ROLLED} FROM sales WHERE cabinet_id = ? AND sale_id IN "
                "(SELECT value FROM json_each(?))",
                (cabinet_id, json.dumps(sorted(set(sale_ids)))),
            )
            self._before = {row["sale_id"]: row for row in found}
        self._latest: dict[str, Row | None] = dict(self._before)
        self._unread: dict[str, Cursor] = {}

    def current(self, sale_id: str) -> Row | None:
        if sale_id in self._unread:
            self._latest[sale_id] = self._unread.pop(sale_id).fetchone()
        return self._latest.get(sale_id)

    def written(self, sale_id: str, upsert: Cursor) -> None:
        self.current(sale_id)  # an earlier upsert's answer is read before the next
        self._unread[sale_id] = upsert
        if not self._conn.pipelined:  # SQLite: a statement left open makes every later write keep a journal of its own
            self.current(sale_id)

    def roll_up(self, tally: _Tally, retailer: str | None) -> None:
        for sale_id in sorted({*self._latest, *self._unread}):
            before = _sale_counted(self._before.get(sale_id))
            _roll_up(tally, retailer, self.cabinet_id, before, _sale_counted(self.current(sale_id)))


def sale_id_of(kind: str, payload: dict[str, Any]) -> str | None:
    """The sale an event of the sales read model's kinds folds into, if it is one that does."""
    sale_id = payload.get("sale_id")
    if kind not in _SALE_EVENTS or not isinstance(sale_id, str):
        return None
    return None if kind == "alarm" and payload.get("kind") != "refund_needed" else sale_id


def _apply_sale_event(conn: Conn, sales: SaleRows, kind: str, at: str, payload: dict[str, Any]) -> None:
    """Fold one event into its sale's row of the read model (created by whichever event comes first); its share
    of the rollup is moved by ``sales.roll_up``."""
    sale_id = sale_id_of(kind, payload)
    if sale_id is None:
        return
    cabinet_id = sales.cabinet_id
    row: dict[str, Any] = {k: payload.get(k) for k in _SALE_FACTS}  # an event without a fact leaves it as it is
    if kind == "payment.approved":
        row.update(approved_at=at, recorded_late=int(payload.get("recorded_late") is True))
    elif kind == "sale.completed":
        row.update(completed_at=at, day=at[:10], week=week_of(at[:10]))
    elif kind == "sale.unclaimed":
        row["unclaimed_at"] = at
    elif kind == "payment.reversed":
        row["reversed_at"] = at
    else:
        row.update(refund_flagged_at=at, refund_detail=str(payload.get("detail", "")))
    if row["method"] == "qr" and row["method_detail"] is None:  # the provider's word, if it was paid already
        paid = conn.execute(
            f"SELECT {_PAID_BY} FROM payments WHERE cabinet_id = ? AND sale_id = ? AND status IN ('paid', 'refunded')",
            (cabinet_id, sale_id),
        ).fetchone()
        row["method_detail"] = paid[0] if paid else None
    columns = ", ".join(row)
    # What an event says wins over nothing, never over what another event said (they agree on the facts).
    updates = ", ".join(
        f"{c} = CASE WHEN excluded.{c} > sales.{c} THEN excluded.{c} ELSE sales.{c} END"
        if c == "recorded_late"
        else f"{c} = COALESCE(excluded.{c}, sales.{c})"
        for c in row
    )
    upsert = conn.execute(
        f"INSERT INTO sales (cabinet_id, sale_id, {columns}) VALUES (?, ?, {', '.join('?' * len(row))}) "
        f"ON CONFLICT (cabinet_id, sale_id) DO UPDATE SET {updates} RETURNING {_ROLLED}",
        (cabinet_id, sale_id, *row.values()),
    )
    sales.written(sale_id, upsert)


# When a sale began: its approval, else what became of it (a row a reversal or refund alarm made alone has neither).
_SALE_BEGUN = "COALESCE(approved_at, completed_at, unclaimed_at)"


def _sale_status(row: Row) -> str:
    """What became of a sale: the later of completed and unclaimed, else approved."""
    ends = [
        (at, status) for at, status in ((row["completed_at"], "completed"), (row["unclaimed_at"], "unclaimed")) if at
    ]
    return max(ends)[1] if ends else "approved"


def _paid_by_provider(conn: Conn, payment: Row) -> None:
    """A paid scan-to-pay payment names how it was paid (the provider's detail, else the provider) on its sale,
    and moves the sale's share of the rollup with it: a provider may say so after the cabinet's events came."""
    if payment["status"] not in ("paid", "refunded"):
        return
    paid_by = payment["method_detail"] or payment["provider"]
    key = (payment["cabinet_id"], payment["sale_id"])
    # The cabinet's row first, as an upload holds it while it folds the cabinet's sales (store_events): the sale's
    # row read here is then not one an upload read before and moves the rollup from again after this commits.
    cabinet = conn.execute(
        "SELECT retailer FROM cabinets WHERE id = ? FOR NO KEY UPDATE", (payment["cabinet_id"],)
    ).fetchone()
    before = conn.execute(f"SELECT {_ROLLED} FROM sales WHERE cabinet_id = ? AND sale_id = ? AND method = 'qr'", key)
    was = before.fetchone()
    if was is None or was["method_detail"] == paid_by:
        return
    now = conn.execute(
        f"UPDATE sales SET method_detail = ? WHERE cabinet_id = ? AND sale_id = ? RETURNING {_ROLLED}", (paid_by, *key)
    ).fetchone()
    tally = _Tally()
    _roll_up(
        tally, cabinet["retailer"] if cabinet else None, payment["cabinet_id"], _sale_counted(was), _sale_counted(now)
    )
    tally.write(conn)


_TO_GIVE_BACK = "(unclaimed_at IS NOT NULL OR recorded_late = 1)"  # the refunds list's rows
_REFUND_COLUMNS = ", ".join(
    "s." + c
    for c in (
        "cabinet_id",
        "sale_id",
        *_SALE_FACTS,
        "approved_at",
        "unclaimed_at",
        "recorded_late",
        "reversed_at",
        "refund_flagged_at",
        "refund_detail",
        "refund_command_id",
        "refund_requested_by",
    )
)


def _by_week(days: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per-day lines (period, currency, count, cents) folded into their weeks (the Monday), in order."""
    weeks: dict[tuple[str, Any], dict[str, Any]] = {}
    for line in days:
        key = (week_of(line["period"]), line["currency"])
        into = weeks.setdefault(key, {"period": key[0], "currency": key[1], "count": 0, "cents": 0})
        into["count"] += line["count"]
        into["cents"] += line["cents"]
    return [weeks[k] for k in sorted(weeks, key=lambda k: (k[0], k[1] or ""))]


def week_of(day: str) -> str:
    """The Monday of the week ``day`` (YYYY-MM-DD) is in."""
    date = datetime.date.fromisoformat(day)
    return (date - datetime.timedelta(days=date.weekday())).isoformat()


def _check_period(period: str) -> None:
    if period not in ("day", "week"):
        raise ValueError(f"period: expected day or week, got {period!r}")


# ``sales_summary``'s tables: per product one cabinet's from its finest lines, the fleet's from the fleet's; per
# cabinet, and per day of one cabinet, from the lines without the product (a line a day and currency: a year of
# a cabinet is 365, not one per product too) unless one product is asked for.
def _send_summary(
    conn: Conn,
    retailer: str,
    since_day: str,
    until_day: str,
    cabinet_id: str | None = None,
    sku: str | None = None,
) -> dict[str, Cursor]:
    """``sales_summary``'s queries, sent (``_summary`` reads their answers: in a pipeline, after all were sent)."""
    span = ("retailer = ? AND day >= ? AND day <= ?", (retailer, since_day, until_day))
    only = [(f"{c} = ?", v) for c, v in (("cabinet_id", cabinet_id), ("sku", sku)) if v is not None]
    fine = "sales_daily" if cabinet_id is not None else "sales_fleet_daily"
    per_cabinet = "sales_daily" if sku is not None else "sales_cabinet_daily"
    queries = {
        "periods": (fine if cabinet_id is None else per_cabinet, "day AS period", "day"),
        "cabinets": (per_cabinet, "cabinet_id", "cabinet_id"),
        "products": (fine, "sku, variant_sku", "sku, variant_sku"),
        "methods": ("sales_method_daily", "method, method_detail", "method, method_detail"),
    }
    where = " AND ".join([span[0], *(w for w, _ in only)])
    params = (*span[1], *(v for _, v in only))
    return {
        # the sums as BIGINT: PostgreSQL's SUM of a BIGINT is NUMERIC, each value of which would be converted
        name: conn.execute(
            f"SELECT {columns}, currency, CAST(SUM(count) AS BIGINT) AS count, CAST(SUM(cents) AS BIGINT) AS cents "
            f"FROM {table} WHERE {where} GROUP BY {grouped}, currency ORDER BY {grouped}, currency",
            params,
        )
        for name, (table, columns, grouped) in queries.items()
    }


def _summary(sent: dict[str, Cursor], period: str) -> dict[str, list[dict[str, Any]]]:
    """The answers of ``_send_summary``'s queries as ``sales_summary`` gives them."""
    found = {}
    for name, cursor in sent.items():
        rows = cursor.fetchall()
        names = rows[0].keys() if rows else []
        # '' stands for a fact no event named (the rollup's key cannot hold NULL)
        found[name] = [dict(zip(names, [None if v == "" else v for v in row], strict=True)) for row in rows]
    if period == "week":
        found["periods"] = _by_week(found["periods"])
    return found


def _send_sale_skus(conn: Conn, retailer: str) -> Cursor:
    """The retailer's products sold, in order: the next one after each found by a seek in the index on
    (retailer, sku) (migration 5), so the cost follows the products, not the days of history ('' is no product)."""
    return conn.execute(
        "WITH RECURSIVE found(sku) AS ("
        "SELECT MIN(sku) FROM sales_fleet_daily WHERE retailer = ? AND sku > '' "
        "UNION ALL SELECT (SELECT MIN(f.sku) FROM sales_fleet_daily f WHERE f.retailer = ? AND f.sku > found.sku) "
        "FROM found WHERE found.sku IS NOT NULL"
        ") SELECT sku FROM found WHERE sku IS NOT NULL",
        (retailer, retailer),
    )


class SalesMixin(StoreBase):
    """The console's sales and refunds (the ``sales`` read model and its daily roll-ups)."""

    # --- the console: sales and refunds (the ``sales`` read model) ------------------------------------
    @reads
    def sales_summary(
        self,
        retailer: str,
        *,
        since_day: str,
        until_day: str,
        period: str = "day",
        cabinet_id: str | None = None,
        sku: str | None = None,
    ) -> dict[str, list[dict[str, Any]]]:
        """The retailer's completed sales from ``since_day`` to ``until_day`` (UTC days, both included; only
        ``cabinet_id``'s and ``sku``'s if given), counted and summed per currency: ``periods`` (per day or per
        week: its Monday), ``cabinets``, ``products`` (per sku and variant_sku) and ``methods`` (per method and
        method_detail). Read from the daily rollup: the whole fleet's days and products from its fleet-wide
        lines."""
        _check_period(period)
        with self._db.read() as conn, conn.pipeline():
            sent = _send_summary(conn, retailer, since_day, until_day, cabinet_id, sku)
            return _summary(sent, period)

    @reads
    def sales_overview(self, retailer: str, summary: dict[str, Any] | None = None) -> SalesOverview:
        """What the console's sales page shows, read at once (one transaction; on PostgreSQL its statements go
        in one round trip): the retailer's cabinet ids and the products they sold (the filter's choices), and
        given ``summary`` (``sales_summary``'s keyword arguments) that summary."""
        period = (summary or {}).get("period", "day")
        _check_period(period)
        with self._db.read() as conn, conn.pipeline():
            ids = _send_cabinet_ids(conn, retailer)
            skus = _send_sale_skus(conn, retailer)
            sent = None
            if summary is not None:
                sent = _send_summary(conn, retailer, **{k: v for k, v in summary.items() if k != "period"})
            return SalesOverview(
                _ids_and_count(ids)[0],
                [str(r["sku"]) for r in skus.fetchall()],
                None if sent is None else _summary(sent, period),
            )

    @reads
    def sales_page(
        self,
        retailer: str,
        *,
        since_day: str,
        until_day: str,
        cabinet_id: str | None = None,
        sku: str | None = None,
        after: tuple[str, str, str] | None = None,
        limit: int = 1000,
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` of the completed sales the summary with the same filters counts, oldest first
        (ordered by completed_at, cabinet_id, sale_id), those after the key ``after`` only: the CSV export
        reads them page by page, each page found in the index without counting what came before."""
        next_day = (datetime.date.fromisoformat(until_day) + datetime.timedelta(days=1)).isoformat()
        # completed_at's own bounds let the index seek; day's keep the rows exactly those of the summary.
        lowest = max(since_day, after[0]) if after else since_day
        where = [
            "completed_at IS NOT NULL",
            "completed_at >= ?",
            "completed_at < ?",
            "day >= ?",
            "day <= ?",
            "k.id = cabinet_id",
            "k.retailer = ?",
        ]
        params: list[Any] = [lowest, next_day, since_day, until_day, retailer]
        for column, value in (("cabinet_id", cabinet_id), ("sku", sku)):
            if value is not None:
                where, params = [*where, f"{column} = ?"], [*params, value]
        if after is not None:
            where, params = [*where, "(completed_at, cabinet_id, sale_id) > (?, ?, ?)"], [*params, *after]
        with self._db.read() as conn:
            rows = conn.execute(
                f"SELECT completed_at, cabinet_id, sale_id, sku, {_VARIANT} AS variant_sku, amount_cents, currency, "
                # CROSS JOIN: SQLite walks the sales in order and looks each cabinet up, rather than sorting
                f"method FROM sales CROSS JOIN cabinets k WHERE {' AND '.join(where)} "
                "ORDER BY completed_at, cabinet_id, sale_id LIMIT ?",
                (*params, limit),
            ).fetchall()
        return [dict(r) for r in rows]

    @reads
    def sales_of(
        self,
        cabinet_id: str,
        *,
        limit: int = 10_000,
        since_day: str = "",
        until_day: str | None = None,
        before: tuple[str, str] | None = None,
    ) -> list[dict[str, Any]]:
        """The cabinet's sales from the sales read model (approved, completed or unclaimed), oldest first, at most
        the newest ``limit``: each with its facts, its status, when it was approved and when it ``began`` (a row a
        reversal or a refund alarm made alone is not a sale here). ``since_day``/``until_day`` (UTC, YYYY-MM-DD,
        included): only the sales begun (approved, else completed or unclaimed) on those days; ``before``: only
        those before the key (began, sale_id) of a sale, the next older page (read from the index: each page costs
        what it holds)."""
        # "~" sorts after every timestamp (text in byte order on both databases): no end
        until = (datetime.date.fromisoformat(until_day) + datetime.timedelta(days=1)).isoformat() if until_day else "~"
        older, params = "", [cabinet_id, since_day, until]
        if before is not None:
            older, params = f" AND ({_SALE_BEGUN}, sale_id) < (?, ?)", [*params, *before]
        with self._db.read() as conn:
            rows = conn.execute(
                f"SELECT sale_id, sku, {_VARIANT} AS variant_sku, amount_cents, currency, method, method_detail, card,"
                f" approved_at, completed_at, unclaimed_at, {_SALE_BEGUN} AS began FROM sales WHERE cabinet_id = ?"
                f" AND {_SALE_BEGUN} >= ? AND {_SALE_BEGUN} < ?{older}"
                f" ORDER BY {_SALE_BEGUN} DESC, sale_id DESC LIMIT ?",
                (*params, limit),
            ).fetchall()
        return [{**dict(r), "status": _sale_status(r)} for r in reversed(rows)]

    @reads
    def stock_counts(self, cabinet_id: str) -> list[dict[str, Any]]:
        """The newest count of each unit the cabinet reported (stock.changed, restock.recorded), by sku."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT sku, count, as_of FROM stock_counts WHERE cabinet_id = ? ORDER BY sku", (cabinet_id,)
            ).fetchall()
        return [dict(r) for r in rows]

    @reads
    def sale_skus(self, retailer: str) -> list[str]:
        """The products the retailer's cabinets ever sold (the sales page's product filter)."""
        with self._db.read() as conn:
            return [str(r["sku"]) for r in _send_sale_skus(conn, retailer).fetchall()]

    @reads
    def refund_cases(
        self,
        retailer: str,
        *,
        cabinet_id: str | None = None,
        sale_id: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """The retailer's payments that go back (unclaimed sales, approvals recorded late), newest first, with
        what became of them: ``reversed_at``, ``refund_flagged_at``, the console's refund command (requested,
        acknowledged with its result, or expired) and the scan-to-pay payment's status. A page of ``limit``
        from ``offset`` on: it is picked from the index first, and only its rows are joined."""
        order = "COALESCE({0}unclaimed_at, {0}approved_at) DESC, {0}sale_id DESC, {0}cabinet_id DESC"
        where, params = [_TO_GIVE_BACK, "k.id = cabinet_id", "k.retailer = ?"], [retailer]
        for column, value in (("cabinet_id", cabinet_id), ("sale_id", sale_id)):
            if value is not None:
                where, params = [*where, f"{column} = ?"], [*params, value]
        with self._db.read() as conn:
            rows = conn.execute(
                f"SELECT {_REFUND_COLUMNS}, c.created_at AS refund_requested_at, c.acked_at AS refund_acked_at, "
                "c.result AS refund_result, c.expires_at AS refund_expires_at, p.status AS payment_status "
                # CROSS JOIN: SQLite walks the cases in the index's order and looks each cabinet up
                f"FROM (SELECT sales.* FROM sales CROSS JOIN cabinets k WHERE {' AND '.join(where)} "
                f"ORDER BY {order.format('')} LIMIT ? OFFSET ?) s "
                "LEFT JOIN commands c ON c.id = s.refund_command_id "
                "LEFT JOIN payments p ON p.cabinet_id = s.cabinet_id AND p.sale_id = s.sale_id "
                f"ORDER BY {order.format('s.')}",
                (*params, limit, offset),
            ).fetchall()
        return [dict(r) for r in rows]

    @reads
    def refund_count(self, retailer: str) -> int:
        """How many payments of the retailer's go back (the refunds list's length), counted in the index."""
        with self._db.read() as conn:
            row = conn.execute(
                f"SELECT COUNT(*) AS n FROM sales WHERE {_TO_GIVE_BACK} "
                "AND cabinet_id IN (SELECT id FROM cabinets WHERE retailer = ?)",
                (retailer,),
            ).fetchone()
        return int(row["n"])

    def request_refund(
        self, retailer: str, cabinet_id: str, sale_id: str, *, requested_by: str, now: float | None = None
    ) -> dict[str, Any]:
        """Queue a ``refund`` command for the retailer's unclaimed sale and note who asked; NotFound if it is not
        theirs, Conflict when it is already settled or a refund is still waiting for the cabinet."""
        at = _now(now)
        with self._db.write() as conn:
            row = conn.execute(
                "SELECT s.reversed_at, c.acked_at, c.expires_at FROM sales s "
                "JOIN cabinets k ON k.id = s.cabinet_id AND k.retailer = ? "
                "LEFT JOIN commands c ON c.id = s.refund_command_id "
                "WHERE s.cabinet_id = ? AND s.sale_id = ? AND (s.unclaimed_at IS NOT NULL OR s.recorded_late = 1) "
                "FOR UPDATE OF s",  # one refund at a time, whichever node the owners' requests reach
                (retailer, cabinet_id, sale_id),
            ).fetchone()
            if row is None:
                raise NotFound(f"no unclaimed sale {sale_id!r} on cabinet {cabinet_id!r} of retailer {retailer!r}")
            if row["reversed_at"] is not None:
                raise Conflict(f"sale {sale_id!r} is already settled")
            if row["expires_at"] is not None and row["acked_at"] is None and row["expires_at"] > utc_iso(at):
                raise Conflict(f"a refund of sale {sale_id!r} is already waiting for cabinet {cabinet_id!r}")
            command_id = self._insert_command(conn, cabinet_id, "refund", {"sale_id": sale_id}, None, at)
            conn.execute(
                "UPDATE sales SET refund_command_id = ?, refund_requested_by = ? WHERE cabinet_id = ? AND sale_id = ?",
                (command_id, requested_by, cabinet_id, sale_id),
            )
        [case] = self.refund_cases(retailer, cabinet_id=cabinet_id, sale_id=sale_id)
        return case
