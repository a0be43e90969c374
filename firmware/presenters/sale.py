"""The sale from the product on: product, checkout, the door, thanks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import get_args

from firmware.journeys.sale import Ending, S, SaleJourney
from firmware.presenters import Passive, Shop
from kiosk_ui.intents import Back, Buy, Cancel, ChooseVariant, Done, Intent, Pay, UnlockAgain
from kiosk_ui.view import (
    CheckoutScreen,
    Chrome,
    DoorAlarm,
    DoorScreen,
    DoorState,
    MoneyOutcome,
    PaymentMethod,
    PaymentStatus,
    ProductScreen,
    ProductView,
    SaleMessage,
    ThanksScreen,
    View,
    member,
    one_of,
)

DOOR_OF_STATE: dict[S, DoorState] = {S.APPROVED: "closed", S.DOOR_UNLOCKED: "unlocked", S.DOOR_OPENED: "opened"}
SALE_MESSAGES: tuple[SaleMessage, ...] = get_args(SaleMessage)
PAYMENT_STATUSES: tuple[PaymentStatus, ...] = get_args(PaymentStatus)
PAYMENT_METHODS: tuple[PaymentMethod, ...] = get_args(PaymentMethod)
MONEY_OUTCOMES: tuple[MoneyOutcome, ...] = get_args(MoneyOutcome)


@dataclass
class SalePresenter(Passive):
    sale: SaleJourney
    shop: Shop
    door_reminder: Callable[[], DoorAlarm | None]  # the door left open too long (DoorAlarms.reminder)
    payment_methods: Callable[[], tuple[str, ...]]
    payment_qr: Callable[[], str | None]  # the scan-to-pay QR being shown
    store_url: Callable[[str], str]  # the product's page in the online store
    # The QR the shopper keeps at the end, from (receipt token, reference): the receipt's address, or the reference
    receipt_qr: Callable[[str | None, str], str] = lambda receipt_token, reference: reference
    support_phone: str = ""  # from the configuration: whom to call when money is owed
    now: Callable[[], float] = lambda: 0.0  # the cabinet's clock (monotonic): when a payment started
    payment_time_s: float | None = None  # a payment's time limit (the terminal's own); None: not shown
    paying_since: float | None = None  # when the payment under way started, on the clock
    callback_offered: Callable[[], bool] = lambda: False  # "Call me back" on the product screen
    name: str = "sale"

    def active(self) -> bool:
        return self.sale.state not in (S.IDLE, S.BROWSE)

    def handles(self, intent: Intent) -> bool:
        state = self.sale.state
        match intent:
            case ChooseVariant() | Buy():
                return state is S.PRODUCT
            case Pay() | Cancel():
                return state is S.PAY
            case Back():
                return self.sale.can("back")
            case UnlockAgain():
                return state is S.DOOR_UNLOCKED
            case Done():
                return state is S.DONE
        return False

    def handle(self, intent: Intent) -> None:
        match intent:
            case ChooseVariant(sku=sku):
                self.sale.choose_variant(sku)
            case Buy():
                self.sale.buy()
            case Pay(method=method):
                self.sale.pay(method)
                self.paying_since = self.now() if self.sale.paying else None
            case Cancel():
                self.shop.spawn(self.sale.cancel(), "sale-cancel")
            case Back():
                self.sale.back()
            case UnlockAgain():
                self.sale.unlock_again()
            case Done():
                self.sale.finish()

    def view(self, chrome: Chrome) -> View:
        sale, state = self.sale.view(), self.sale.state
        product = self.shop.product(sale.product.sku) if sale.product else None
        if state in DOOR_OF_STATE:
            return DoorScreen(
                chrome=chrome,
                product=product,
                door=DOOR_OF_STATE[state],
                deadline=sale.deadline,
                latch_until=self.sale.door.released_until,
                can_unlock_again=sale.can_unlock_again,
                alarm=self._alarm(state),
            )
        if state in (S.DOOR_CLOSED, S.DONE):
            return self._ending(chrome, product, sale.ending)
        if product is None:
            raise ValueError(f"the sale in state {state.value} has no product to show")
        message = one_of(SALE_MESSAGES, sale.message, "sale message")
        if state is S.PRODUCT:
            return ProductScreen(
                chrome=chrome,
                product=product,
                message=message,
                store_url=self.store_url(product.sku),
                selected_variant=sale.variant_sku,
                no_payment_method=not self.offered(),
                callback=self.callback_offered(),
            )
        status = one_of(PAYMENT_STATUSES, sale.payment_status, "payment status")
        return CheckoutScreen(
            chrome=chrome,
            product=product,
            payment_methods=self.offered(),
            payment_status=status,
            payment_qr=self.payment_qr() if status == "scan_to_pay" else None,
            message=message,
            deadline=self._payment_deadline(),
            variant=next((v for v in product.variants if v.sku == sale.variant_sku), None),
        )

    def _ending(self, chrome: Chrome, product: ProductView | None, ending: Ending | None) -> ThanksScreen:
        """The ending screen from how the money ended: never "collected" unless the journey recorded it so."""
        if ending is None:
            raise ValueError("the sale ended without saying what became of the money")
        return ThanksScreen(
            chrome=chrome,
            product=product,
            money=member(MONEY_OUTCOMES, ending.money, "money outcome"),
            reference=ending.reference,
            receipt_no=ending.receipt_no if ending.method == "terminal" else None,
            receipt_qr=self.receipt_qr(ending.receipt_token, ending.reference),
            support_phone=self.support_phone if ending.money != "collected" else "",
        )

    def _payment_deadline(self) -> float | None:
        """The end of the payment's time limit while one waits (the terminal gives up then)."""
        if not self.sale.paying or self.paying_since is None or self.payment_time_s is None:
            return None
        return self.paying_since + self.payment_time_s

    def offered(self) -> tuple[PaymentMethod, ...]:
        return tuple(m for m in PAYMENT_METHODS if m in self.payment_methods())

    def _alarm(self, state: S) -> DoorAlarm | None:
        # The latch holding again is no alarm: the door screen says it is locked again and offers unlock again.
        return self.door_reminder() if state is S.DOOR_OPENED else None
