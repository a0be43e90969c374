"""The configuration may say where a sale's receipt is served (the thanks screen's QR); a bad address is
refused whole, with the reason."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync_client.cabinet_config import ConfigInvalid, parse_config
from tests.sync.conftest import GOOD_CONFIG

DOC = {**GOOD_CONFIG, "version": 3}


def test_a_receipt_address_takes_the_sale_id():
    config = parse_config({**DOC, "receipt_url": "https://shop.example.com/r/{sale_id}?from=cabinet"})
    assert config.receipt_address("3f2a-91") == "https://shop.example.com/r/3f2a-91?from=cabinet"
    assert parse_config(config.to_json()) == config
    assert parse_config(DOC).receipt_address("3f2a-91") is None


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("ftp://shop.example.com/r/{sale_id}", "expected an http(s) URL"),
        ("https://shop.example.com/r/", "expected {sale_id} exactly once"),
        ("https://x/{sale_id}/{sale_id}", "expected {sale_id} exactly once"),
        ("https://x/{sale_id}/{cabinet}", "expected no braces or spaces"),
    ],
)
def test_a_bad_receipt_address_is_refused_by_name(template, problem):
    with pytest.raises(ConfigInvalid) as refused:
        parse_config({**DOC, "receipt_url": template})
    assert any(p.startswith("receipt_url: " + problem) for p in refused.value.problems), refused.value.problems


@given(st.one_of(st.text(max_size=60), st.integers(), st.none(), st.lists(st.text(max_size=3), max_size=2)))
def test_any_receipt_url_is_either_a_usable_address_or_refused_by_name(value):
    try:
        config = parse_config({**DOC, "receipt_url": value})
    except ConfigInvalid as refused:
        assert any(p.startswith("receipt_url: ") for p in refused.problems)
        return
    address = config.receipt_address("sale-1")
    assert address is None or (address.startswith(("https://", "http://")) and "sale-1" in address)
