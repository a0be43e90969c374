"""The consumer side's parsers of outside input (fuzzed), the configuration fields it reads (validated, fuzzed),
the QR codes' derivation, and the locator's JSON through the aiohttp test client (with a test geocoder)."""

from __future__ import annotations

import math
import re
import string
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import given
from hypothesis import strategies as st

from cloud_stub.app import create_app
from cloud_stub.consumer import parse
from cloud_stub.consumer.i18n import EN, ZH
from cloud_stub.consumer.pages import distance_km, payment_state
from cloud_stub.store import SqliteCloudStore
from sync_client.cabinet_config import (
    LINK_CODE_RE,
    ConfigInvalid,
    hand_off_links,
    link_code,
    parse_config,
)
from sync_client.schema import (
    SchemaError,
    new_receipt_token,
    receipt_token_reference,
    sale_reference,
    validate_payload,
)
from tests.consumer.conftest import CABINET, CONFIG, approve, seed_cloud

TEXT = st.text(max_size=80) | st.text(alphabet=string.ascii_letters + string.digits + "-_ ", max_size=40)


@given(TEXT)
def test_a_link_code_is_ten_base32_characters_or_nothing(text: str) -> None:
    code = parse.link_code(text)
    assert code is None or (code == text and LINK_CODE_RE.fullmatch(code))


@given(TEXT)
def test_a_receipt_token_is_accepted_only_whole(text: str) -> None:
    token = parse.receipt_token(text)
    assert token is None or (len(token) == 30 and receipt_token_reference(token) == "S-" + token[:8])


@given(TEXT)
def test_a_ticket_number_is_normalised_or_refused(text: str) -> None:
    ticket = parse.ticket_number(text)
    assert ticket is None or (parse.TICKET_RE.fullmatch(ticket) and ticket[2:] in re.sub(r"\s+", "", text).upper())


def test_a_ticket_number_as_people_type_it() -> None:
    assert parse.ticket_number(" r-k7qx 2m ") == parse.ticket_number("K7QX2M") == "R-K7QX2M"
    assert parse.ticket_number("R-") is None and parse.ticket_number("'; DROP TABLE") is None


@given(TEXT)
def test_phone_digits_are_exactly_four(text: str) -> None:
    digits = parse.phone_end(text)
    assert digits is None or (len(digits) == 4 and digits.isascii() and digits.isdigit())


@given(TEXT, TEXT)
def test_a_position_is_on_earth_or_nothing(lat: str, lon: str) -> None:
    at = parse.position(lat, lon)
    assert at is None or (-90 <= at[0] <= 90 and -180 <= at[1] <= 180 and all(map(math.isfinite, at)))


@given(st.floats(), st.floats())
def test_any_number_pair_is_a_position_exactly_when_it_is_on_earth(lat: float, lon: float) -> None:
    on_earth = math.isfinite(lat) and math.isfinite(lon) and abs(lat) <= 90 and abs(lon) <= 180
    assert (parse.position(repr(lat), repr(lon)) is not None) == on_earth


def test_distances_are_great_circle_kilometres() -> None:
    berlin, paris = (52.5200, 13.4050), (48.8566, 2.3522)
    assert 876 < distance_km(berlin, paris) < 880
    assert distance_km(berlin, berlin) == 0


# --- the configuration's new fields ----------------------------------------------------------------
DOC = {**CONFIG, "version": 1}


@given(st.text(max_size=60))
def test_a_store_url_is_https_or_refused_by_name(url: str) -> None:
    document = {**DOC, "products": [{**CONFIG["products"][0], "store_url": url}]}
    try:
        config = parse_config(document)
    except ConfigInvalid as refused:
        assert any(p.startswith("products[0].store_url: expected an https:// address") for p in refused.problems)
        return
    assert config.products[0].store_url == url and (url == "" or url.startswith("https://"))


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("link_base", "http://cloud.example.com", "link_base: expected an https:// address"),
        ("support_phone", "call us", "support_phone: expected digits"),
        ("place", {**CONFIG["place"], "timezone": "Mars/Olympus"}, "place.timezone: expected an IANA time zone"),
        (
            "place",
            {**CONFIG["place"], "opening_hours": [{"days": [7], "start": "10:00", "end": "20:00"}]},
            "place.opening_hours[0].days[0]",
        ),
        (
            "place",
            {**CONFIG["place"], "opening_hours": [{"days": [1], "start": "20:00", "end": "10:00"}]},
            "place.opening_hours[0]: start 20:00 is not before end 10:00",
        ),
    ],
)
def test_the_consumer_fields_of_a_configuration_are_validated_by_name(field: str, value: Any, problem: str) -> None:
    with pytest.raises(ConfigInvalid) as refused:
        parse_config({**DOC, field: value})
    assert any(p.startswith(problem) for p in refused.value.problems), refused.value.problems


def test_the_consumer_fields_round_trip_through_the_document() -> None:
    config = parse_config(DOC)
    assert parse_config({**config.to_json()}) == config
    assert config.place is not None and config.place.timezone == "Europe/Berlin"
    assert config.receipt_address("ABCDEF12" + "x" * 22) == "https://cloud.example.com/r/ABCDEF12" + "x" * 22


def test_the_hand_off_links_of_a_configuration_and_their_codes() -> None:
    config = parse_config(DOC)
    links = {(h.kind, h.sku, h.variant_sku): h.target for h in hand_off_links(config)}
    assert links == {
        ("repair", "", ""): "/repair",
        ("store", "", ""): "https://shop.example.com",
        ("product", "SC-1", ""): "https://shop.example.com/scooters/city",
        ("product", "SC-1", "SC-1-MINT"): "https://shop.example.com/c?v=mint",
        ("product", "SC-1", "SC-1-GRA"): "https://shop.example.com/scooters/city",  # no page of its own
    }
    key = b"k" * 32
    code = link_code(key, CABINET, "product", "SC-1", "SC-1-MINT")
    assert LINK_CODE_RE.fullmatch(code) and code == link_code(key, CABINET, "product", "SC-1", "SC-1-MINT")
    assert code != link_code(b"j" * 32, CABINET, "product", "SC-1", "SC-1-MINT"), "another key, another code"
    assert code != link_code(key, "cab-2", "product", "SC-1", "SC-1-MINT")


def test_saving_a_configuration_derives_the_cabinets_code_table(tmp_path: Path) -> None:
    seeded = seed_cloud(tmp_path / "cloud.db")
    codes = {(row["kind"], row["sku"], row["variant_sku"]): row["code"] for row in seeded.store.links_of(CABINET)}
    assert codes[("product", "SC-1", "SC-1-MINT")] == link_code(seeded.key, CABINET, "product", "SC-1", "SC-1-MINT")
    seeded.store.put_config(CABINET, {**CONFIG, "products": []})
    assert {row["kind"] for row in seeded.store.links_of(CABINET)} == {"repair", "store"}, "rebuilt, not appended"
    seeded.store.close()


# --- receipts -------------------------------------------------------------------------------------
def test_a_receipt_token_carries_the_sales_reference_and_128_random_bits() -> None:
    sale_id = "3f2a91c4-0000-4000-8000-000000000000"
    token = new_receipt_token(sale_id)
    assert receipt_token_reference(token) == sale_reference(sale_id) == "S-3F2A91C4"
    assert len(token) == 30 and new_receipt_token(sale_id) != token
    approved = {"sale_id": sale_id, "sku": "SC-1", "amount_cents": 100, "currency": "EUR", "method": "terminal"}
    validate_payload("payment.approved", {**approved, "receipt_no": None, "trace_no": None, "receipt_token": token})


@given(st.text(max_size=40) | st.integers())
def test_payment_approved_takes_only_its_own_sales_token(token: str | int) -> None:
    payload = {
        "sale_id": "3f2a91c4-0000-4000-8000-000000000000",
        "sku": "SC-1",
        "amount_cents": 100,
        "currency": "EUR",
        "method": "terminal",
        "receipt_no": None,
        "trace_no": None,
        "receipt_token": token,
    }
    with pytest.raises(SchemaError, match="receipt_token"):
        validate_payload("payment.approved", payload)


def test_the_payment_state_a_receipt_shows() -> None:
    base = {
        "reversed_at": None,
        "refund_acked_at": None,
        "refund_result": None,
        "unclaimed_at": None,
        "refund_flagged_at": None,
        "recorded_late": 0,
    }
    assert payment_state(base) == "collected"
    assert payment_state({**base, "unclaimed_at": "t"}) == "refund_due"
    assert payment_state({**base, "unclaimed_at": "t", "refund_acked_at": "t", "refund_result": "ok"}) == "refunded"
    assert payment_state({**base, "unclaimed_at": "t", "reversed_at": "t"}) == "reversed"


def test_both_languages_have_the_same_words() -> None:
    assert set(EN) == set(ZH)


# --- the locator's JSON ----------------------------------------------------------------------------------
class TableGeocoder:
    """The test geocoder: a table of known addresses (no geocoding service is built in)."""

    async def locate(self, address: str) -> tuple[float, float] | None:
        return {"berlin hbf": (52.5251, 13.3694)}.get(address.strip().lower())


async def test_near_json_lists_opted_in_cabinets_nearest_first(cloud_target: str) -> None:
    seeded = seed_cloud(cloud_target)  # on SQLite and on PostgreSQL
    far = "cab-munich"
    seeded.store.add_cabinet(far, "velo-consumer")
    seeded.store.put_config(far, {**CONFIG, "place": {"address": "Marienplatz, München", "lat": 48.137, "lon": 11.575}})
    seeded.store.add_cabinet("cab-unlisted", "velo-consumer")
    seeded.store.put_config("cab-unlisted", {k: v for k, v in CONFIG.items() if k != "place"})
    approve(seeded)
    async with TestClient(TestServer(create_app(seeded.store, geocoder=TableGeocoder()))) as client:
        answer = await client.get("/near.json", params={"lat": "52.52", "lon": "13.405"})
        assert answer.status == 200
        body = await answer.json()
        assert [c["cabinet_id"] for c in body["cabinets"]] == [CABINET, far], (
            "the cabinet without a place is not listed"
        )
        first = body["cabinets"][0]
        assert (first["products"], first["repair_drop_off"], first["pickup"], first["online"]) == (
            ["City scooter"],
            True,
            True,
            False,
        )
        assert first["opening_hours"] == [{"days": [0, 1, 2, 3, 4, 5], "start": "10:00", "end": "20:00"}]
        by_address = await (await client.get("/near.json", params={"address": "Berlin Hbf"})).json()
        assert by_address["at"] == {"lat": 52.5251, "lon": 13.3694}
        refused = await client.get("/near.json", params={"lat": "north", "lon": "13"})
        assert refused.status == 400 and "lat, lon" in (await refused.json())["error"]
        page = await client.get("/near", params={"address": "Nowhere 1"})
        assert page.status == 200 and "This address was not found." in await page.text()
    seeded.store.close()


async def test_without_a_geocoder_an_address_is_not_searched(tmp_path: Path) -> None:
    store = SqliteCloudStore(tmp_path / "cloud.db")
    async with TestClient(TestServer(create_app(store))) as client:
        page = await client.get("/near", params={"address": "Berlin Hbf"})
        text = await page.text()
        assert "Searching by address is not available here" in text and 'id="address"' not in text
        assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    store.close()


def test_the_receipt_says_how_the_shopper_paid_only_as_the_terminal_said_it() -> None:
    from cloud_stub.consumer.pages import receipt_view

    sale = {
        "sale_id": "0f1e2d3c-0000-4000-8000-000000000000",
        "sku": "SC-1",
        "variant_sku": "SC-1",
        "amount_cents": 49900,
        "currency": "EUR",
        "approved_at": "2026-11-30T13:05:00.000Z",
        "completed_at": None,
        "cabinet_id": "cab-1",
        "reversed_at": None,
        "refund_acked_at": None,
        "refund_result": None,
        "unclaimed_at": None,
        "refund_flagged_at": None,
        "recorded_late": 0,
    }
    wallet = receipt_view({**sale, "method_detail": "wallet", "card": "VISA"}, None, "en")
    assert (wallet.paid_with, wallet.card) == ("wallet", "VISA")
    unknown = receipt_view({**sale, "method_detail": "<script>", "card": None}, None, "en")
    assert (unknown.paid_with, unknown.card) == ("", "")  # an unknown word is not shown (nor looked up)
