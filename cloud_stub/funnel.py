"""The shopper funnel's figures, as the console page, its CSV export and the retailer API give them: the store's
sums (``CloudStore.funnel``, kept at ingest) with each step's count and its conversion from the step before.

Steps, in order: passers (people who passed in front of the cabinet, counted by its camera when footfall is
on), stoppers (of them, those who stopped in front of it), sessions (a first touch to an idle timeout), viewed
(a product's page opened), checkouts (buy pressed), paid (the payment approved), sold (the sale completed: the
door opened and closed, from the sales read model). Days are UTC days.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

STEPS = ("passers", "stoppers", "sessions", "viewed", "checkouts", "paid", "sold")


@dataclass(frozen=True)
class Step:
    name: str
    count: int
    conversion: float | None  # of the step before (None for the first, or when the step before is 0)


@dataclass(frozen=True)
class Funnel:
    since: date
    until: date
    cabinet_id: str | None  # None: the retailer's whole fleet
    steps: list[Step]
    figures: dict[str, list[dict[str, Any]]]  # days, products, exits, ads, qr: as CloudStore.funnel gives them

    def to_json(self) -> dict[str, Any]:
        return {
            "from": self.since.isoformat(),
            "to": self.until.isoformat(),
            "cabinet_id": self.cabinet_id,
            "steps": [asdict(s) for s in self.steps],
            **self.figures,
        }


def ratio(count: float, before: float) -> float | None:
    return round(count / before, 4) if before else None


def funnel(since: date, until: date, cabinet_id: str | None, figures: dict[str, list[dict[str, Any]]]) -> Funnel:
    totals = {name: sum(int(day[name]) for day in figures["days"]) for name in STEPS}
    steps = [
        Step(name, totals[name], ratio(totals[name], totals[STEPS[i - 1]]) if i else None)
        for i, name in enumerate(STEPS)
    ]
    for product in figures["products"]:
        product["dwell_s"] = round(float(product["dwell_s"]), 3)
        product["conversion"] = ratio(product["sold"], product["views"])
    return Funnel(since, until, cabinet_id, steps, figures)
