"""Exact amounts at the providers' boundaries: integer minor units to and from decimal text, never rounded."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloud_stub.payments.alipay import from_yuan, to_yuan
from cloud_stub.payments.amounts import EXPONENTS, AmountError, exponent, from_decimal_text, to_decimal_text
from cloud_stub.payments.provider import ProviderError

CURRENCIES = ("CNY", "EUR", "USD", "JPY", "KRW", "KWD", "BHD", "BTC", "SATS", "CHF")


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [
        (1, "CNY", "0.01"),
        (10, "CNY", "0.10"),
        (1234, "CNY", "12.34"),
        (100, "USD", "1.00"),
        (0, "EUR", "0.00"),
        (500, "JPY", "500"),
        (1234, "KWD", "1.234"),
        (1, "BTC", "0.00000001"),
        (250, "SATS", "250"),
        (1_000_000_000_000, "EUR", "10000000000.00"),
    ],
)
def test_minor_units_as_the_currency_writes_them(minor: int, currency: str, text: str) -> None:
    assert to_decimal_text(minor, currency) == text
    assert from_decimal_text(text, currency) == minor


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [("12.3", "CNY", 1230), ("12", "CNY", 1200), ("12.340", "CNY", 1234), ("500.0", "JPY", 500), ("1.5", "KWD", 1500)],
)
def test_fewer_decimals_or_trailing_zeros_are_the_same_amount(text: str, currency: str, minor: int) -> None:
    assert from_decimal_text(text, currency) == minor


@pytest.mark.parametrize(
    ("text", "currency"),
    [
        ("12.345", "CNY"),  # a fraction of a fen: refused, never rounded
        ("0.001", "USD"),
        ("500.5", "JPY"),
        ("1.2345", "KWD"),
        ("-1.00", "CNY"),
        ("1e3", "CNY"),
        ("01.00", "CNY"),
        (" 1.00", "CNY"),
        ("1.", "CNY"),
        (".5", "CNY"),
        ("NaN", "CNY"),
        ("١٢", "CNY"),  # Arabic-Indic digits: int() would take them
        (12.34, "CNY"),  # a float never crosses the boundary
        ("1.00", "cny"),
        ("1.00", "C1Y"),
    ],
)
def test_what_cannot_be_converted_exactly_is_refused(text: object, currency: str) -> None:
    with pytest.raises(AmountError):
        from_decimal_text(text, currency)


def test_negative_or_non_integer_minor_units_are_refused() -> None:
    for bad in (-1, 1.5, True, "100"):
        with pytest.raises(AmountError):
            to_decimal_text(bad, "EUR")  # type: ignore[arg-type]


def test_alipay_takes_positive_cny_fen_only() -> None:
    assert to_yuan(1, "CNY") == "0.01" and from_yuan("100000000.00") == 10_000_000_000
    for minor, currency in ((0, "CNY"), (-5, "CNY"), (100, "USD")):
        with pytest.raises(ProviderError):
            to_yuan(minor, currency)


def test_the_exponent_table() -> None:
    assert [exponent(c) for c in ("CNY", "JPY", "KWD", "BTC", "XYZ")] == [2, 0, 3, 8, 2]
    assert all(e in (0, 3, 8) for e in EXPONENTS.values())


@given(st.integers(min_value=0, max_value=10**17), st.sampled_from(CURRENCIES))
def test_round_trip_is_exact(minor: int, currency: str) -> None:
    text = to_decimal_text(minor, currency)
    assert from_decimal_text(text, currency) == minor
    assert text.count(".") == (1 if exponent(currency) else 0)
    assert len(text.partition(".")[2]) == exponent(currency)


@given(st.text(max_size=40), st.sampled_from(CURRENCIES))
def test_any_text_is_an_exact_amount_or_refused(text: str, currency: str) -> None:
    try:
        minor = from_decimal_text(text, currency)
    except AmountError:
        return
    assert minor >= 0 and from_decimal_text(to_decimal_text(minor, currency), currency) == minor
