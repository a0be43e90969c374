"""The sale from the product on: product, checkout, the door, thanks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import get_args

from firmware.journeys.sale import S, SaleJourney
from firmware.presenters import Passive, Shop
from kiosk_ui.intents import Back, Buy, Cancel, ChooseVariant, Done, Intent, Pay, UnlockAgain
from kiosk_ui.view import (
    CheckoutScreen,
    Chrome,
    DoorAlarm,
    DoorScreen,
    DoorState,
    PaymentMethod,
    PaymentStatus,
    ProductScreen,
    SaleMessage,
    ThanksScreen,
    View,
    one_of,
)

DOOR_OF_STATE: dict[S, DoorState] = {S.APPROVED: "closed", S.DOOR_UNLOCKED: "unlocked", S.DOOR_OPENED: "opened"}
SALE_MESSAGES: tuple[SaleMessage, ...] = get_args(SaleMessage)
PAYMENT_STATUSES: tuple[PaymentStatus, ...] = get_args(PaymentStatus)
PAYMENT_METHODS: tuple[PaymentMethod, ...] = get_args(PaymentMethod)


@dataclass
class SalePresenter(Passive):
    sale: SaleJourney
    shop: Shop
    door_reminder: Callable[[], DoorAlarm | None]  # the door left open too long (DoorAlarms.reminder)
    payment_methods: Callable[[], tuple[str, ...]]
    payment_qr: Callable[[], str | None]  # the scan-to-pay QR being shown
    store_url: Callable[[str], str]  # the product's page in the online store
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
            return ThanksScreen(chrome=chrome, product=product)
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
            )
        status = one_of(PAYMENT_STATUSES, sale.payment_status, "payment status")
        return CheckoutScreen(
            chrome=chrome,
            product=product,
            payment_methods=self.offered(),
            payment_status=status,
            payment_qr=self.payment_qr() if status == "scan_to_pay" else None,
            message=message,
            variant=next((v for v in product.variants if v.sku == sale.variant_sku), None),
        )

    def offered(self) -> tuple[PaymentMethod, ...]:
        return tuple(m for m in PAYMENT_METHODS if m in self.payment_methods())

    def _alarm(self, state: S) -> DoorAlarm | None:
        if state is S.DOOR_OPENED:
            return self.door_reminder()
        if state is S.DOOR_UNLOCKED and self.sale.door.can_unlock_again:  # released, not opened: stuck?
            return "door_stuck"
        return None
