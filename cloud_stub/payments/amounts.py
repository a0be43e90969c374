"""Exact conversion between integer minor units and a provider's decimal text (no float anywhere).

Alipay writes yuan with two decimals ("12.34"); BTCPay writes the store's currency as a decimal string whose
number of decimals is the currency's exponent (JPY 0, USD 2, KWD 3, BTC 8).
"""

from __future__ import annotations

import re

# ISO 4217 exponents that are not 2 (and the crypto units BTCPay stores may price in); every other code is 2.
EXPONENTS: dict[str, int] = {
    **dict.fromkeys(("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX"), 0),
    **dict.fromkeys(("VND", "VUV", "XAF", "XOF", "XPF", "SATS"), 0),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
    "BTC": 8,
    "LTC": 8,
}
CURRENCY_RE = re.compile(r"[A-Z]{3,4}")
# A plain decimal: no sign, exponent, spaces or leading zeros (what both providers write).
DECIMAL_RE = re.compile(r"(0|[1-9][0-9]{0,17})(\.[0-9]{1,18})?")


class AmountError(ValueError):
    """An amount or currency that cannot be converted exactly; the message names the value."""


def exponent(currency: str) -> int:
    if not isinstance(currency, str) or not CURRENCY_RE.fullmatch(currency):
        raise AmountError(f"currency: expected an ISO 4217 code, got {str(currency)[:16]!r}")
    return EXPONENTS.get(currency, 2)


def to_decimal_text(amount_minor: int, currency: str) -> str:
    """``1234`` CNY -> ``"12.34"``; ``500`` JPY -> ``"500"``: as many decimals as the currency has."""
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int) or amount_minor < 0:
        raise AmountError(f"amount: expected a whole number of minor units >= 0, got {amount_minor!r}")
    places = exponent(currency)
    if places == 0:
        return str(amount_minor)
    scale: int = 10**places
    whole, part = divmod(amount_minor, scale)
    return f"{whole}.{part:0{places}d}"


def from_decimal_text(text: object, currency: str) -> int:
    """The minor units of a decimal text; AmountError when it is not a plain decimal or has a fraction of a
    minor unit ("12.345" CNY), never rounded."""
    places = exponent(currency)
    match = DECIMAL_RE.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise AmountError(f"amount: expected a decimal like 12.34, got {str(text)[:32]!r}")
    whole, _, fraction = match.group(0).partition(".")
    if len(fraction.rstrip("0")) > places:
        raise AmountError(f"amount: {match.group(0)[:32]!r} has more than {places} decimals for {currency}")
    scale: int = 10**places
    return int(whole) * scale + int(fraction[:places].ljust(places, "0") or "0")
