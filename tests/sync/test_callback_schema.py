"""A call-back request (callback.requested) is checked on the cabinet when appended and in the cloud at ingest:
the phone as the cabinet normalises it, the consent text shown and its version, the language; anything else is
refused naming the field."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync_client.schema import SchemaError, normalise_phone, validate_payload

GOOD: dict[str, Any] = {
    "request_id": str(uuid.uuid4()),
    "sku": "SC-1",
    "phone": "+491705550000",
    "consent_text": "Call me about this product. My number is kept 30 days.",
    "consent_version": "2026-11",
    "language": "zh",
}


def test_a_request_as_the_cabinet_makes_it_passes() -> None:
    validate_payload("callback.requested", GOOD)


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("phone", "+49 170 555 0000", "payload.phone: expected an optional +"),  # not normalised
        ("phone", "12345", "payload.phone"),
        ("consent_text", "  ", "payload.consent_text"),
        ("consent_text", "x" * 2001, "payload.consent_text"),
        ("consent_version", "", "payload.consent_version"),
        ("consent_version", "v 1", "payload.consent_version"),
        ("language", "English", "payload.language"),
        ("request_id", "42", "payload.request_id: expected a UUID"),
        ("phone", 491705550000, "payload.phone: expected str"),
    ],
)
def test_a_bad_field_is_refused_by_name(field: str, value: Any, says: str) -> None:
    with pytest.raises(SchemaError) as refused:
        validate_payload("callback.requested", {**GOOD, field: value})
    assert str(refused.value).startswith(says), refused.value


def test_consent_is_required() -> None:
    without = {k: v for k, v in GOOD.items() if k != "consent_version"}
    with pytest.raises(SchemaError, match="payload.consent_version: required for callback.requested"):
        validate_payload("callback.requested", without)


_VALUES = st.one_of(st.text(max_size=40), st.integers(), st.none(), st.booleans(), st.lists(st.text(max_size=3)))


@settings(deadline=None)  # the first call compiles the schema's patterns
@given(st.dictionaries(st.sampled_from(sorted(GOOD)), _VALUES, max_size=6), st.booleans())
def test_any_payload_is_either_valid_or_refused_by_field(fields: dict[str, Any], over_good: bool) -> None:
    payload = {**GOOD, **fields} if over_good else fields
    try:
        validate_payload("callback.requested", payload)
    except SchemaError as refused:
        assert str(refused).startswith("payload."), refused
        return
    assert normalise_phone(payload["phone"]) == payload["phone"] and payload["consent_text"].strip()


@settings(deadline=None)
@given(st.text(alphabet="+0123456789 -()a", max_size=24))
def test_any_typed_phone_normalises_to_a_number_the_schema_accepts_or_to_none(typed: str) -> None:
    phone = normalise_phone(typed)
    if phone is not None:
        validate_payload("callback.requested", {**GOOD, "phone": phone})


# --- a call-back offered on a phone (form.offered with form "callback") -------------------------------------
OFFER: dict[str, Any] = {
    "token": "A" * 22,
    "form": "callback",
    "valid_s": 300.0,
    "sku": "SC-1",
    "consent_version": "1",
    "consent": {"en": "I agree to be called.", "zh": "我同意回电。"},
}


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("sku", "", "payload.sku: required for a call-back's form"),
        ("consent_version", "v 1", "payload.consent_version"),
        ("consent", {}, "payload.consent: expected the consent's text per language"),
        ("consent", {"English": "yes"}, "payload.consent: 'English' is not a language code"),
        ("consent", {"en": " "}, "payload.consent.en: expected 1 to 2000 characters"),
        ("consent", {"en": 3}, "payload.consent.en"),
    ],
)
def test_a_call_back_offer_without_its_product_or_consent_is_refused_by_name(field: str, value: Any, says: str) -> None:
    validate_payload("form.offered", OFFER)
    with pytest.raises(SchemaError, match=says):
        validate_payload("form.offered", {**OFFER, field: value})


@settings(deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(sorted(OFFER)),
        st.one_of(_VALUES, st.dictionaries(st.text(max_size=6), _VALUES, max_size=3)),
        max_size=6,
    )
)
def test_any_call_back_offer_is_either_valid_or_refused_by_field(fields: dict[str, Any]) -> None:
    payload = {**OFFER, **fields}
    try:
        validate_payload("form.offered", payload)
    except SchemaError as refused:
        assert str(refused).startswith("payload."), refused
        return
    if payload["form"] == "callback":
        assert payload["sku"] and all(text.strip() for text in payload["consent"].values())
