"""Records the store returns and the states and limits its callers name (shared by the web app and the console)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# A repair ticket's life, in order: the cabinet reports the drop-off, the store collects the vehicle from
# the cabinet, repairs it, returns it to the cabinet, and the owner takes it back. A status only moves forward.
TICKET_STATUSES = ("dropped_off", "collected", "in_repair", "returned", "handed_back")
# An online order ends collected (the cabinet's pickup.completed), or by the retailer's hand: cancelled or expired.
ORDER_ENDINGS = ("cancelled", "expired")
# a rollout's cabinet that has not reported its update this long after its command counts as timed out
ROLLOUT_REPORT_WITHIN_S = 24 * 3600


@dataclass(frozen=True)
class Admission:
    """What a signed request's check reads of its cabinet (``admission``)."""

    key: bytes  # the cabinet's: checks the request's signature and signs the answer
    nonce_used: bool  # the request's nonce was claimed already (within the time nonces are kept)


@dataclass(frozen=True)
class StoreResult:
    """What ``store_events`` did with one batch."""

    acked: list[str]  # ids now held for this cabinet: newly stored and already stored alike
    stored: int  # how many of the acked ids were new
    conflicts: list[str]  # ids already held for a *different* cabinet: not stored, not acked
    # ids this cabinet already sent with other content -> the fields that differ. When any, nothing of the
    # batch is stored (acked and stored are empty) and each is recorded in event_conflicts.
    changed: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class SalesOverview:
    """What the console's sales page reads (``sales_overview``): its filter's choices, the summary of its range."""

    cabinet_ids: list[str]  # the retailer's, in order
    skus: list[str]  # the products its cabinets ever sold
    summary: dict[str, list[dict[str, Any]]] | None  # ``sales_summary``'s answer, when one was asked for


# An alarm's state in the console: open until acknowledged, then resolved.
ALARM_STATES = ("open", "acknowledged", "resolved")
# An order's state as the console shows it: collected (a fact from the cabinet) wins over an ending.
ORDER_STATES = ("open", "collected", "cancelled", "expired")
CALLBACK_STATES = ("new", "called", "closed")
DEFAULT_STOCK_THRESHOLD = 2  # fewer than this left is low, for a product without a threshold of its own
FLEET_STATES = ("offline", "alarms", "low_stock")
