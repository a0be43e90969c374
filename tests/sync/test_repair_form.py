"""The repair form's one set of rules (sync_client.schema), as the phone's form and the cabinet's keyboard use it,
and the phone link's token."""

import secrets

from hypothesis import given
from hypothesis import strategies as st

from cloud_stub.consumer.parse import form_token
from sync_client.schema import FAULT_CATEGORIES, parse_repair_form

GOOD = {
    "vehicle": " wbaeb71080c 123456 ",
    "name": "李 伟",
    "phone": "+86 138-0013 8000",
    "category": "brakes",
    "description": "刹车异响，\n手柄一捏到底 🚲",
}


def test_a_form_typed_in_any_script_is_taken_normalised_as_the_cabinet_would() -> None:
    values, errors = parse_repair_form(GOOD)
    assert errors == []
    assert values == {
        "vehicle": "WBAEB71080C123456",
        "name": "李 伟",
        "phone": "+8613800138000",
        "category": "brakes",
        "description": "刹车异响， 手柄一捏到底 🚲",
    }
    assert parse_repair_form({**GOOD, "name": "Zoë O'Brien-Li", "description": "Bremse quietscht"})[1] == []


def test_each_wrong_field_is_named_with_the_key_the_screens_translate() -> None:
    bad = {"vehicle": "AB-1", "name": "R2D2", "phone": "12", "category": "wings", "description": " \n "}
    values, errors = parse_repair_form(bad)
    assert values == {}
    assert sorted(errors) == [
        ("category", "category_required"),
        ("description", "required"),
        ("name", "name_invalid"),
        ("phone", "phone_invalid"),
        ("vehicle", "vehicle_invalid"),
    ]
    assert dict(parse_repair_form({})[1]).keys() == {"vehicle", "name", "phone", "category", "description"}


@given(st.dictionaries(st.sampled_from([*GOOD, "token", ""]), st.text(max_size=300)))
def test_the_form_parser_takes_anything_and_accepts_only_what_it_would_accept_again(fields: dict[str, str]) -> None:
    values, errors = parse_repair_form(fields)
    assert {*values, *(name for name, _ in errors)} == {"vehicle", "name", "phone", "category", "description"}
    assert not set(values) & {name for name, _ in errors}
    assert values.get("category", "brakes") in FAULT_CATEGORIES
    if not errors:  # a complete form: what the cloud accepted, the cabinet accepts unchanged (the command)
        assert parse_repair_form(values) == (values, [])


@given(st.text(max_size=80))
def test_a_form_link_token_is_exactly_22_url_safe_characters(text: str) -> None:
    taken = form_token(text)
    assert taken in (None, text)
    assert (taken is not None) == (len(text) == 22 and all(c.isalnum() and c.isascii() or c in "-_" for c in text))


def test_the_cabinets_tokens_are_form_tokens() -> None:
    assert form_token(secrets.token_urlsafe(16))
