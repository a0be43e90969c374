"""The configuration may name the cloud's consumer pages (link_base): a sale's receipt is served there under
its token (the thanks screen's QR); a bad address is refused whole, with the reason."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync_client.cabinet_config import ConfigInvalid, parse_config
from tests.sync.conftest import GOOD_CONFIG

DOC = {**GOOD_CONFIG, "version": 3}


TOKEN = "3F2A91C4" + "a" * 22


def test_a_receipt_address_takes_the_receipt_token():
    config = parse_config({**DOC, "link_base": "https://cloud.example.com/consumer/"})
    assert config.receipt_address(TOKEN) == f"https://cloud.example.com/consumer/r/{TOKEN}"
    assert parse_config(config.to_json()) == config
    assert parse_config(DOC).receipt_address(TOKEN) is None


@pytest.mark.parametrize(
    "base",
    ["ftp://cloud.example.com", "http://cloud.example.com", "https://", "https://cloud.example.com/#x", "https://a b"],
)
def test_a_bad_link_base_is_refused_by_name(base):
    with pytest.raises(ConfigInvalid) as refused:
        parse_config({**DOC, "link_base": base})
    assert any(p.startswith("link_base: expected an https:// address") for p in refused.value.problems)


def test_the_old_receipt_url_template_is_no_longer_a_key():
    with pytest.raises(ConfigInvalid, match="receipt_url: unknown key"):
        parse_config({**DOC, "receipt_url": "https://shop.example.com/r/{sale_id}"})


@given(st.one_of(st.text(max_size=60), st.integers(), st.none(), st.lists(st.text(max_size=3), max_size=2)))
def test_any_link_base_is_either_a_usable_address_or_refused_by_name(value):
    try:
        config = parse_config({**DOC, "link_base": value})
    except ConfigInvalid as refused:
        assert any(p.startswith("link_base: ") for p in refused.problems)
        return
    address = config.receipt_address(TOKEN)
    assert address is None or (address.startswith("https://") and address.endswith("/r/" + TOKEN))
