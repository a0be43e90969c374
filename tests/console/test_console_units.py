"""The console's parts without a browser: its words in both languages, the sign-in delays, the redirect
guard (fuzzed), API tokens in the store (revoked, rotated, and the token of a database from before the
console), the first owner from the CLI, and the cabinet's place in its configuration document."""

from __future__ import annotations

import asyncio
import io
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from hypothesis import given
from hypothesis import strategies as st

from cloud_stub import cli
from cloud_stub.console.auth import (
    FIRST_WAIT_S,
    FREE_TRIES,
    MAX_WAIT_S,
    SESSION,
    Session,
    User,
    check_email,
    local_path,
    record_failure,
    set_session_cookie,
    sign_in_wait,
    verify_password,
    wait_after,
)
from cloud_stub.console.i18n import EN, ZH, money, placeholders
from cloud_stub.core import Core
from cloud_stub.limits import DEFAULT_LIMITS
from cloud_stub.store import Conflict, NotFound, SqlCloudStore, SqliteCloudStore, open_store
from sync_client.cabinet_config import ConfigInvalid, Place, parse_config


def test_every_console_text_exists_in_both_languages_with_the_same_placeholders() -> None:
    assert EN.keys() == ZH.keys()
    for key in EN:
        assert placeholders(EN[key]) == placeholders(ZH[key]), key


def test_amounts_are_shown_in_the_currencys_units() -> None:
    assert money(49900, "EUR") == "499.00 EUR"
    assert money(5, "EUR") == "0.05 EUR"
    assert money(1500, "JPY") == "1500 JPY"
    assert money(1234, "KWD") == "1.234 KWD"


def test_sign_in_failures_cost_a_wait_that_doubles_up_to_a_bound() -> None:
    now = 1000.0
    assert wait_after([now] * 2, free=3, now=now) == 0
    assert wait_after([now] * 3, free=3, now=now) == FIRST_WAIT_S
    assert wait_after([now] * 4, free=3, now=now) == 2 * FIRST_WAIT_S
    assert wait_after([now] * 5, free=3, now=now) == 4 * FIRST_WAIT_S
    assert wait_after([now] * 40, free=3, now=now) == MAX_WAIT_S
    assert wait_after([now] * 4, free=3, now=now + 2 * FIRST_WAIT_S) == 0  # served


@given(st.text(max_size=80) | st.sampled_from(["//evil.example", "/console//evil", "https://evil/console/", "/\\x"]))
def test_a_redirect_target_is_always_a_path_of_the_console(target: str) -> None:
    chosen = local_path(target)
    parts = urlsplit(chosen)
    assert chosen.startswith("/console/") and not parts.scheme and not parts.netloc
    assert "\\" not in chosen and not any(ord(c) < 32 for c in chosen)


def test_local_targets_are_kept() -> None:
    assert local_path("/console/tokens?x=1") == "/console/tokens?x=1"
    assert local_path(None) == "/console/fleet"


@pytest.fixture
def store(cloud_target: str) -> Iterator[SqlCloudStore]:
    """On SQLite and on PostgreSQL."""
    s = open_store(cloud_target)
    yield s
    s.close()


def test_api_tokens_revoked_or_rotated_no_longer_authenticate(store: SqlCloudStore) -> None:
    initial = store.add_retailer("shop-a")
    store.add_retailer("shop-b")
    record, token = store.add_api_token("shop-a", "erp", created_by="o@a.example")
    assert store.retailer_for_token(token) == "shop-a" and store.retailer_for_token(initial) == "shop-a"
    with pytest.raises(NotFound):
        store.revoke_api_token("shop-b", record["id"])  # not shop-b's to revoke
    assert store.retailer_for_token(token) == "shop-a"

    rotated, new_token = store.rotate_api_token("shop-a", record["id"])
    assert rotated["label"] == "erp" and store.retailer_for_token(token) is None
    assert store.retailer_for_token(new_token) == "shop-a"
    with pytest.raises(Conflict):
        store.rotate_api_token("shop-a", record["id"])  # a revoked token is not brought back
    store.revoke_api_token("shop-a", rotated["id"])
    assert store.retailer_for_token(new_token) is None
    assert [t["label"] for t in store.api_tokens_of("shop-a")] == ["initial", "erp", "erp"]
    assert store.api_tokens_of("shop-b")[0]["retailer"] == "shop-b"


def test_a_database_from_before_the_console_keeps_its_retailers_token(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    store = SqliteCloudStore(db)
    token = store.add_retailer("shop-a")
    store.close()
    with sqlite3.connect(db) as conn:  # as written by a cloud without the console: no api_tokens rows
        conn.execute("DROP TABLE api_tokens")
        conn.execute("DROP TABLE schema_migrations")  # nor versioned migrations
    reopened = SqliteCloudStore(db)
    try:
        assert reopened.retailer_for_token(token) == "shop-a"
        assert [t["label"] for t in reopened.api_tokens_of("shop-a")] == ["initial"]
    finally:
        reopened.close()


def run_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], argv: list[str], stdin: str) -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return cli.main(argv)


def test_the_first_owner_is_created_from_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "cloud.db")
    add = ["user", "add", "--retailer", "shop-a", "--email", "Ann@Shop.example", "--role", "owner", "--db", db]
    assert run_cli(monkeypatch, capsys, add, "long enough password\n") == 1
    assert "no retailer 'shop-a'" in capsys.readouterr().err
    assert cli.main(["retailer", "add", "shop-a", "--db", db]) == 0
    assert run_cli(monkeypatch, capsys, add, "short\n") == 1
    assert "at least 10 characters" in capsys.readouterr().err
    assert run_cli(monkeypatch, capsys, add, "long enough password\n") == 0
    assert "ann@shop.example (owner)" in capsys.readouterr().out
    assert run_cli(monkeypatch, capsys, add, "long enough password\n") == 1
    assert "already has an account" in capsys.readouterr().err

    store = SqliteCloudStore(db)
    try:
        user = store.user_by_email("ann@shop.example")
        assert user is not None and user["role"] == "owner" and user["active"]
        stored = store.password_hash(user["id"])
        assert stored is not None and stored.startswith("$argon2id$")
        assert asyncio.run(verify_password(stored, "long enough password"))
        assert not asyncio.run(verify_password(stored, "long enough passworD"))
    finally:
        store.close()


def test_a_cabinets_place_is_validated_in_its_configuration() -> None:
    base = {"version": 1, "currency": "EUR", "products": []}
    place = {"address": " Velo Mall, Berlin ", "lat": 52.52, "lon": 13.41}
    config = parse_config({**base, "place": place})
    assert config.place == Place("Velo Mall, Berlin", 52.52, 13.41)
    assert parse_config(config.to_json()) == config
    assert "place" not in parse_config(base).to_json()  # optional: absent, never null
    for bad, problem in [
        ({**place, "lat": 91}, "place.lat: expected a finite number >= -90 and <= 90, got 91"),
        ({**place, "lon": -180.5}, "place.lon: expected a finite number >= -180 and <= 180, got -180.5"),
        ({**place, "lat": "52"}, "place.lat: expected integer or number, got string"),
        ({**place, "address": "  "}, "place.address: expected 1 to 200 characters, got 0"),
        ({"address": "x", "lat": 1}, "place.lon: required"),
        ({**place, "floor": 2}, "place.floor: unknown key (known: address, lat, lon, timezone, opening_hours)"),
    ]:
        with pytest.raises(ConfigInvalid) as refused:
            parse_config({**base, "place": bad})
        assert problem in refused.value.problems


def test_sign_ins_from_one_address_are_limited_across_accounts(store: SqlCloudStore) -> None:
    """Guessing many accounts' passwords from one address is held back too (more free tries: a shop's staff
    share one router), while another address is not."""
    clock = [1000.0]
    core = Core(store, lambda: clock[0], DEFAULT_LIMITS)

    async def attempts() -> tuple[float, float, float, float]:
        for n in range(FREE_TRIES["ip"]):
            await record_failure(core, f"user{n}@shop.example", "203.0.113.7")
        waits = (
            await sign_in_wait(core, "fresh@shop.example", "203.0.113.7"),
            await sign_in_wait(core, "fresh@shop.example", "198.51.100.1"),
            await sign_in_wait(core, "user1@shop.example", "198.51.100.1"),
        )
        clock[0] += FIRST_WAIT_S
        return (*waits, await sign_in_wait(core, "fresh@shop.example", "203.0.113.7"))

    try:
        same_address, other_address, one_failure, later = asyncio.run(attempts())
    finally:
        asyncio.run(core.close())
    assert same_address == FIRST_WAIT_S
    assert other_address == 0 and one_failure == 0
    assert later == 0


@given(st.text(max_size=300))
def test_an_email_is_checked_whatever_was_typed(typed: str) -> None:
    try:
        email = check_email(typed)
    except ValueError as refused:
        assert str(refused).startswith("email: ")
        return
    local, _, domain = email.partition("@")
    assert email == email.lower() and local and "." in domain and not any(c.isspace() for c in email)


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_the_session_cookie_is_httponly_lax_and_secure_over_https(scheme: str) -> None:
    request = make_mocked_request("POST", "/console/sign-in").clone(scheme=scheme)
    request[SESSION] = Session("id-hash", "csrf", User("u1", "shop-a", "a@shop.example", "owner"))
    response = web.Response()
    set_session_cookie(request, response, "the-session-id")
    cookie = response.cookies["console_session"]
    assert cookie.value == "the-session-id" and cookie["httponly"] and cookie["samesite"] == "Lax"
    assert cookie["path"] == "/console" and bool(cookie["secure"]) == (scheme == "https")


def test_a_secret_held_for_the_next_get_is_shown_once_to_its_session_only_and_not_for_long() -> None:
    from cloud_stub.console.once import KEEP_S, OnceBox

    box = OnceBox()
    box.put("session-a", "orders", {"pickup_code": "12345678"}, now=1000.0)
    assert box.take("session-b", "orders", now=1001.0) is None  # another person's browser
    assert box.take("session-a", "tokens", now=1001.0) is None  # another page
    assert box.take("session-a", "orders", now=1001.0) == {"pickup_code": "12345678"}
    assert box.take("session-a", "orders", now=1002.0) is None  # the reload: gone
    box.put("session-a", "orders", {"pickup_code": "87654321"}, now=2000.0)
    assert box.take("session-a", "orders", now=2000.0 + KEEP_S) is None  # nobody came for it in time
    assert box.held == {}
