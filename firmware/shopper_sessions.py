"""Anonymous shopper sessions, for the retailer's funnel: the first touch starts one, the idle timeout ends
it. The cabinet's one intent path and its one view path feed it (``Cabinet.handle_intent`` and
``Cabinet.refresh``): no screen calls it.

Recorded per session, nothing personal: the screens visited, each product viewed (how long, 360° turns,
narrations played, the variant chosen, checkout started, how its payment ended), the step reached and the
screen the shopper left from, and the ad on screen when the first touch came (within ``ad_touch_s`` of its
first frame: that ad's touch). An ended session is one ``session.ended`` event, kept in memory and committed
with the first heartbeat ``commit_s`` after the last commit (in the heartbeat's own commit, like the ad plays),
and when the cabinet stops: no write to the card per tap. At most ``MAX_PENDING`` ended sessions wait in
memory (a store that refuses them keeps them for the next try; beyond that the oldest are dropped and
counted in the log). A session that reaches a staff screen is no shopper's and is not kept.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from firmware.clock import Clock
from kiosk_ui.intents import Activity, AdShown, Buy, Intent, Turn
from kiosk_ui.view import CheckoutScreen, DoorScreen, ProductScreen, ThanksScreen, View
from sync_client.schema import MAX_SESSION_PRODUCTS, SESSION_STEPS, utc_iso

log = logging.getLogger(__name__)
MAX_PENDING = 200  # ended sessions waiting for a commit; a session.ended event is about 1 KB
STAFF_SCREENS = frozenset({"pin_pad", "restock", "service", "calibrate"})
PAYMENT_ENDINGS = frozenset({"declined", "timed_out", "cancelled", "fault"})


@dataclass
class ProductVisit:
    """One product as a session saw it."""

    sku: str
    dwell_s: float = 0.0  # time on its page
    turns: int = 0  # drags of its 360° view
    narrations: int = 0  # times its narration started
    variant: str | None = None  # the last variant chosen
    checkout: bool = False
    payment: str | None = None  # approved, declined, timed_out, cancelled or fault: the last payment's end


@dataclass
class ShopperSession:
    """The record of one session, as it goes into its ``session.ended`` event."""

    started_at: float  # wall time
    ended_at: float = 0.0
    ended_by: str = ""  # idle or stop
    screens: list[str] = field(default_factory=list)  # each screen once, in the order first visited
    products: list[ProductVisit] = field(default_factory=list)
    step: str = "touch"  # the furthest of SESSION_STEPS reached
    left_at: str = ""  # the screen on show when the session ended
    ad_id: str | None = None  # the ad on screen at the first touch

    def payload(self) -> dict[str, Any]:
        return {
            "started_at": utc_iso(self.started_at),
            "ended_at": utc_iso(max(self.ended_at, self.started_at)),
            "ended_by": self.ended_by,
            "screens": list(self.screens),
            "products": [{**asdict(p), "dwell_s": round(p.dwell_s, 3)} for p in self.products],
            "step": self.step,
            "left_at": self.left_at,
            "ad_id": self.ad_id,
        }

    def reached(self, step: str) -> None:
        if SESSION_STEPS.index(step) > SESSION_STEPS.index(self.step):
            self.step = step


@dataclass
class ShopperSessions:
    clock: Clock
    commit_s: float  # ended sessions ride with the first heartbeat this long after the last commit
    ad_touch_s: float  # a touch this soon after an ad's first frame is that ad's touch
    commit: Callable[[list[tuple[str, dict[str, Any]]]], bool]  # commits events at a stop (optional events)
    session: ShopperSession | None = None
    ended: list[ShopperSession] = field(default_factory=list)
    screen: str = "attract"  # the screen on show
    sku: str | None = None  # the product whose page is on show
    shown_at: float = 0.0  # monotonic: when that page came
    narrating: bool = False
    ad: tuple[str, float] | None = None  # the last ad's first frame: its id, monotonic time
    committed_at: float = field(init=False)

    def __post_init__(self) -> None:
        self.committed_at = self.clock.monotonic()

    # --- what flows through the cabinet ------------------------------------------------------------------
    def intent(self, intent: Intent) -> None:
        """Every intent of the touchscreen, before the cabinet acts on it."""
        match intent:
            case AdShown(ad_id=ad_id):
                self.ad = (ad_id, self.clock.monotonic())
            case Turn() if self.session is not None and self.sku is not None:
                self._visit(self.sku).turns += 1
            case Buy() if self.session is not None and self.sku is not None:
                self._visit(self.sku).checkout = True  # buy pressed: the checkout started (whatever follows)
                self.session.reached("checkout")
            case Activity() if self.session is None:
                self._start()

    def view(self, view: View) -> None:
        """Every view the cabinet hands the screen."""
        session = self.session
        sku = view.product.sku if isinstance(view, ProductScreen) else None
        if sku != self.sku:
            self._leave_page()
            self.sku, self.shown_at = sku, self.clock.monotonic()
        self.screen = view.screen
        if session is None:
            return
        if view.screen not in session.screens:
            session.screens.append(view.screen)
        if isinstance(view, ProductScreen):
            self._on_product(session, view)
        elif isinstance(view, CheckoutScreen):
            self._visit(view.product.sku).checkout = True
            session.reached("checkout")
        elif isinstance(view, DoorScreen) and view.product is not None and not view.prepaid:
            self._paid(session, view.product.sku)
        elif isinstance(view, ThanksScreen) and view.product is not None and not view.prepaid:
            self._paid(session, view.product.sku)

    def idle(self, left_at: str) -> None:
        """The idle timeout took the journeys home: the session (if any) ends, left from ``left_at``."""
        self.end("idle", left_at)

    # --- the session's record ----------------------------------------------------------------------------
    def _start(self) -> None:
        now = self.clock.monotonic()
        self.session = ShopperSession(started_at=self.clock.time(), screens=[self.screen])
        if self.ad is not None and now - self.ad[1] <= self.ad_touch_s:
            self.session.ad_id = self.ad[0]
        self.shown_at = now

    def _visit(self, sku: str) -> ProductVisit:
        assert self.session is not None
        for visit in self.session.products:
            if visit.sku == sku:
                return visit
        visit = ProductVisit(sku)
        if len(self.session.products) < MAX_SESSION_PRODUCTS:  # bounded: a session is one small event
            self.session.products.append(visit)
        return visit

    def _on_product(self, session: ShopperSession, view: ProductScreen) -> None:
        visit = self._visit(view.product.sku)
        session.reached("product")
        if view.selected_variant is not None:
            visit.variant = view.selected_variant
        playing = view.narration is not None and view.narration.playing
        if playing and not self.narrating:
            visit.narrations += 1
        self.narrating = playing
        if view.message in PAYMENT_ENDINGS and visit.checkout:
            visit.payment = view.message

    def _paid(self, session: ShopperSession, sku: str) -> None:
        visit = self._visit(sku)
        if visit.checkout:
            visit.payment = "approved"
            session.reached("paid")

    def _leave_page(self) -> None:
        """The product page on show leaves: its time goes to the product."""
        if self.session is not None and self.sku is not None:
            self._visit(self.sku).dwell_s += max(0.0, self.clock.monotonic() - self.shown_at)
        self.narrating = False

    def end(self, how: str, left_at: str | None = None) -> None:
        session = self.session
        if session is None:
            return
        self._leave_page()
        self.shown_at = self.clock.monotonic()
        self.session = None
        if STAFF_SCREENS.intersection(session.screens):
            return  # a retailer or a technician, not a shopper
        session.ended_at, session.ended_by = self.clock.time(), how
        session.left_at = left_at if left_at is not None else self.screen
        self.ended.append(session)
        if len(self.ended) > MAX_PENDING:
            del self.ended[0]
            log.warning("shopper sessions not yet committed: the oldest dropped", extra={"kept": MAX_PENDING})

    # --- riding with the heartbeat -------------------------------------------------------------------------
    def due(self) -> list[tuple[str, dict[str, Any]]]:
        """The ended sessions' events, once ``commit_s`` has passed since the last commit."""
        if self.clock.monotonic() - self.committed_at < self.commit_s:
            return []
        return self.events()

    def events(self) -> list[tuple[str, dict[str, Any]]]:
        return [("session.ended", s.payload()) for s in self.ended]

    def committed(self) -> None:
        self.ended.clear()
        self.committed_at = self.clock.monotonic()

    def stop(self) -> None:
        """The cabinet stops: the open session ends, and every ended one is committed."""
        self.end("stop")
        if self.ended and self.commit(self.events()):
            self.committed()
