"""The shopper funnel (the funnel_* read model)."""

from __future__ import annotations

from typing import Any

from cloud_stub.sqldb import Row, reads
from cloud_stub.store.base import StoreBase
from cloud_stub.store.counters import FLEET_SHARDS, _Tally, fleet_key, fleet_shard

_FUNNEL_EVENTS = frozenset({"session.ended", "ad.plays", "ad.impression", "footfall.counted"})


def _funnel_keys(cabinet_id: str, retailer: str | None) -> tuple[str, ...]:
    """The funnel keys an event of the cabinet counts under: its own and its shard of its retailer's fleet."""
    return (cabinet_id, fleet_key(retailer, fleet_shard(cabinet_id))) if retailer else (cabinet_id,)


_STEP_RANK = {"touch": 0, "product": 1, "checkout": 2, "paid": 3}


def _apply_funnel_event(tally: _Tally, key: str, kind: str, at: str, payload: dict[str, Any]) -> None:
    """One new event into the funnel's counters under ``key`` (validated already: its fields are there and typed)."""
    if kind == "ad.impression":
        tally.add("funnel_ads", (key, at[:10], payload["ad_id"]), impressions=1)
    elif kind == "ad.plays":
        for play in payload["plays"]:
            tally.add("funnel_ads", (key, play["last_at"][:10], play["ad_id"]), impressions=play["count"])
    elif kind == "footfall.counted":  # an interval within one UTC day (the schema's check)
        day = payload["started_at"][:10]
        tally.add("funnel_days", (key, day), passers=payload["passers"], stoppers=payload["stoppers"])
    else:
        day, rank = payload["started_at"][:10], _STEP_RANK[payload["step"]]
        viewed = rank >= 1 or bool(payload["products"])
        tally.add(
            "funnel_days", (key, day), sessions=1, viewed=int(viewed), checkouts=int(rank >= 2), paid=int(rank >= 3)
        )
        for p in payload["products"]:
            tally.add(
                "funnel_products",
                (key, day, p["sku"]),
                views=1,
                dwell_s=p["dwell_s"],
                turns=p["turns"],
                narrations=p["narrations"],
                variants=int(p["variant"] is not None),
                checkouts=int(p["checkout"]),
                paid=int(p["payment"] == "approved"),
            )
        tally.add("funnel_exits", (key, day, payload["left_at"]), sessions=1)
        if payload["ad_id"] is not None:
            tally.add("funnel_ads", (key, day, payload["ad_id"]), touches=1)


def _count_sold(tally: _Tally, row: Row | None, keys: tuple[str, ...], at: str, payload: dict[str, Any]) -> None:
    """A sale completed, unless its row of the sales read model (``row``, as the upload has it so far) says it
    completed already (the same sale told twice); counted under each of ``keys`` (the cabinet's and its fleet
    shard's)."""
    if row is not None and row["completed_at"] is not None:
        return
    # The product is named by this event or by an earlier one of the sale (payment.approved); a sale whose
    # product is not known yet counts for the day only.
    sku = payload.get("sku") or (row["sku"] if row is not None else None)
    day = at[:10]
    for key in keys:
        tally.add("funnel_days", (key, day), sold=1)
        if isinstance(sku, str):
            tally.add("funnel_products", (key, day, sku), sold=1)


class FunnelMixin(StoreBase):
    """The shopper funnel (the funnel_* read model)."""

    # --- the shopper funnel (the funnel_* read model, kept at ingest) ---------------------------------
    @reads
    def funnel(
        self, retailer: str, *, since_day: str, until_day: str, cabinet_id: str | None = None
    ) -> dict[str, list[dict[str, Any]]]:
        """The retailer's shopper funnel from ``since_day`` to ``until_day`` (UTC days, both included; only
        ``cabinet_id``'s if given), read from the tables store_events keeps and the sales read model: ``days``
        (people who passed the cabinet and who stopped, counted by its camera; sessions, those that viewed a
        product, started a checkout, paid; sales completed), ``products`` (the same per product, with dwell,
        turns and narrations), ``exits`` (sessions per screen left from), ``ads`` (impressions and touches) and
        ``qr`` (scans per code)."""
        # The fleet's rows (kept under its shards' keys, added up here) or the cabinet's, if it is the retailer's.
        keys = [cabinet_id] if cabinet_id else [fleet_key(retailer, shard) for shard in range(FLEET_SHARDS)]
        where = f"cabinet_id IN ({', '.join('?' * len(keys))}) AND day >= ? AND day <= ?"
        where += " AND (? IS NULL OR ? IN (SELECT id FROM cabinets WHERE retailer = ?))"
        params = (*keys, since_day, until_day, cabinet_id, cabinet_id, retailer)
        scans = "cabinet_id IN (SELECT id FROM cabinets WHERE retailer = ?) AND day >= ? AND day <= ?"
        scans += " AND (? IS NULL OR cabinet_id = ?)"
        queries = {
            "days": (
                "SELECT day, SUM(passers) AS passers, SUM(stoppers) AS stoppers,"
                " SUM(sessions) AS sessions, SUM(viewed) AS viewed, SUM(checkouts) AS checkouts,"
                f" SUM(paid) AS paid, SUM(sold) AS sold FROM funnel_days WHERE {where} GROUP BY day ORDER BY day",
                params,
            ),
            "products": (
                "SELECT sku, SUM(views) AS views, SUM(dwell_s) AS dwell_s, SUM(turns) AS turns,"
                " SUM(narrations) AS narrations, SUM(variants) AS variants, SUM(checkouts) AS checkouts,"
                f" SUM(paid) AS paid, SUM(sold) AS sold FROM funnel_products WHERE {where} GROUP BY sku ORDER BY sku",
                params,
            ),
            "exits": (
                "SELECT left_at, SUM(sessions) AS sessions FROM funnel_exits"
                f" WHERE {where} GROUP BY left_at ORDER BY left_at",
                params,
            ),
            "ads": (
                "SELECT ad_id, SUM(impressions) AS impressions, SUM(touches) AS touches FROM funnel_ads"
                f" WHERE {where} GROUP BY ad_id ORDER BY ad_id",
                params,
            ),
            "qr": (
                "SELECT code, kind, sku, variant_sku, SUM(scans) AS scans FROM qr_scan_days"
                f" WHERE {scans} GROUP BY code, kind, sku, variant_sku ORDER BY code",
                (retailer, since_day, until_day, cabinet_id, cabinet_id),
            ),
        }
        with self._db.read() as conn:
            return {name: [dict(r) for r in conn.execute(sql, args)] for name, (sql, args) in queries.items()}
