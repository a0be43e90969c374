"""The filter of the sales figures (a span of UTC days, by day or week, one cabinet, one product), parsed from a
query the same way for the console's pages and the retailer API: a bad field is named (``FilterError``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

DEFAULT_DAYS = 30  # the sales page opens on the last 30 days, today included
MAX_DAYS = 366
PERIODS = ("day", "week")


class FilterError(ValueError):
    """A filter the sales page cannot use: ``field`` is the form field, ``key`` the i18n message."""

    def __init__(self, field: str, key: str) -> None:
        super().__init__(f"{field}: {key}")
        self.field, self.key = field, key


@dataclass(frozen=True)
class SalesFilter:
    since: date
    until: date
    period: str = "day"
    cabinet: str | None = None
    sku: str | None = None

    def query(self) -> dict[str, str]:
        """The filter as the form's query (the CSV link carries the same)."""
        chosen = {"from": self.since.isoformat(), "to": self.until.isoformat(), "period": self.period}
        return {
            **chosen,
            **({"cabinet": self.cabinet} if self.cabinet else {}),
            **({"sku": self.sku} if self.sku else {}),
        }

    def store_args(self) -> dict[str, Any]:
        return {
            "since_day": self.since.isoformat(),
            "until_day": self.until.isoformat(),
            "cabinet_id": self.cabinet,
            "sku": self.sku,
        }


def parse_filter(query: Any, today: date) -> SalesFilter:
    """The filter from the page's query (defaults: the last DEFAULT_DAYS days, by day, everything);
    FilterError naming the first bad field."""

    def day(name: str, default: date) -> date:
        text = str(query.get(name, "")).strip()
        if not text:
            return default
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise FilterError(name, "filter_bad_date") from None

    until = day("to", today)
    since = day("from", until - timedelta(days=DEFAULT_DAYS - 1))
    if since > until:
        raise FilterError("from", "filter_from_after_to")
    if (until - since).days >= MAX_DAYS:
        raise FilterError("from", "filter_too_long")
    period = str(query.get("period", "day"))
    if period not in PERIODS:
        raise FilterError("period", "filter_bad_period")
    cabinet, sku = (str(query.get(k, "")).strip() or None for k in ("cabinet", "sku"))
    return SalesFilter(since, until, period, cabinet, sku)
