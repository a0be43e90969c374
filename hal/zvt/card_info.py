"""How the shopper paid, from a ZVT status information (04 0F) of an approved payment.

What the protocol carries (ZVT spec, as Portalum.Zvt reads it from real terminals):
  - BMP 8A card-type: the ZVT card number (05 girocard, 06 Mastercard, 0A Visa, ...); BMP 8B the
    card's name as the terminal prints it; BMP 8C the network operator's card-type ID (kept as a number:
    its table is the operator's);
  - TLV container (BMP 06) tag 2F payment-type, inside it tag 1F12 card technology:
    00 magnetic stripe, 01 chip (contact), 02 contactless (NFC).
ZVT has no field for "a phone wallet paid". A terminal that knows (from the card's EMV form factor) says so
only in the names it prints: the card name (8B) or the application's preferred name (TLV 60 / 44), e.g.
"Apple Pay". A contactless payment whose names mention a wallet is counted as a wallet; any other
contactless payment as a contactless card.
"""

from __future__ import annotations

from dataclasses import dataclass

from hal.zvt.bmp import BmpFields, TlvItem, encode_tlv_items

CARD_TYPE, CARD_NAME, CARD_TYPE_ID = 0x8A, 0x8B, 0x8C
TLV_PAYMENT_TYPE, TLV_CARD_TECHNOLOGY = 0x2F, 0x1F12
TLV_APPLICATION, TLV_APP_PREFERRED_NAME = 0x60, 0x44

STRIPE, CHIP, CONTACTLESS, WALLET = "stripe", "chip", "contactless", "wallet"
TECHNOLOGY = {0x00: STRIPE, 0x01: CHIP, 0x02: CONTACTLESS}
# The commonest ZVT card numbers (BMP 8A); the terminal's own name (8B) wins when it sends one.
CARD_TYPES = {
    5: "girocard",
    6: "Mastercard",
    8: "American Express",
    10: "Visa",
    11: "Visa Electron",
    12: "Diners",
    13: "V PAY",
    14: "JCB",
    46: "Maestro",
}
WALLET_NAMES = ("apple pay", "google pay", "samsung pay", "garmin pay", "fitbit pay", "huawei pay", "wallet")


@dataclass(frozen=True)
class CardInfo:
    entry: str | None  # stripe, chip, contactless, wallet; None: the terminal did not say
    card: str | None  # the card's brand or name, e.g. "Mastercard"
    card_type_id: int | None = None  # BMP 8C, the network operator's


def card_info(status: BmpFields) -> CardInfo:
    names = [
        _text(status.others.get(CARD_NAME)),
        *_tlv_texts(status.tlv or (), TLV_APPLICATION, TLV_APP_PREFERRED_NAME),
    ]
    technology = next(iter(_tlv_values(status.tlv or (), TLV_PAYMENT_TYPE, TLV_CARD_TECHNOLOGY)), b"")
    entry = TECHNOLOGY.get(technology[0]) if len(technology) == 1 else None
    if entry == CONTACTLESS and any(w in n.lower() for n in names if n for w in WALLET_NAMES):
        entry = WALLET
    card_type = status.others.get(CARD_TYPE, b"")
    card = names[0] or (CARD_TYPES.get(card_type[0], f"card type {card_type[0]}") if len(card_type) == 1 else None)
    type_id = status.others.get(CARD_TYPE_ID, b"")
    return CardInfo(entry, card, type_id[0] if len(type_id) == 1 else None)


def _text(raw: bytes | None) -> str | None:
    """A printed name: ASCII (the ZVT character set's common part), trailing NULs and blanks dropped."""
    text = (raw or b"").rstrip(b"\x00 ").decode("ascii", "replace")[:40]
    return text or None


def _tlv_values(items: tuple[TlvItem, ...], container: int, tag: int) -> list[bytes]:
    return [child.value for item in items if item.tag == container for child in item.children if child.tag == tag]


def _tlv_texts(items: tuple[TlvItem, ...], container: int, tag: int) -> list[str | None]:
    return [_text(value) for value in _tlv_values(items, container, tag)]


def status_fields(
    entry: str, card_type: int, card_name: str, app_name: str
) -> tuple[dict[int, bytes], tuple[TlvItem, ...]]:
    """The BMPs (8A, 8B) and TLV items (2F/1F12, 60/44) a terminal sends for a payment by ``entry``: the
    emulator's side. A wallet is a contactless payment whose application name names the wallet."""
    technology = {STRIPE: 0x00, CHIP: 0x01, CONTACTLESS: 0x02, WALLET: 0x02}[entry]
    bmps = {CARD_TYPE: bytes([card_type]), CARD_NAME: card_name.encode("ascii")}
    return bmps, (
        _constructed(TLV_PAYMENT_TYPE, TlvItem(TLV_CARD_TECHNOLOGY, bytes([technology]))),
        _constructed(TLV_APPLICATION, TlvItem(TLV_APP_PREFERRED_NAME, app_name.encode("ascii"))),
    )


def _constructed(tag: int, *children: TlvItem) -> TlvItem:
    return TlvItem(tag, encode_tlv_items(children), children)
