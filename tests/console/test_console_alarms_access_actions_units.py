"""Alarms, access and remote actions without a browser: the weak-PIN rules and the card UIDs (fuzzed), the PIN's
hash as the cabinet verifies it, a command's state, and the store's alarm handling, delivered commands and
snapshots, each scoped by retailer."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloud_stub.console.access import MAX_PIN_DIGITS, MIN_PIN_DIGITS, PinRefused, card_uid, hash_pin, pin_problems
from cloud_stub.console.actions import command_state
from cloud_stub.console.auth import hash_password
from cloud_stub.console.i18n import EN
from cloud_stub.server import start_cloud
from cloud_stub.store import Conflict, NotFound, SqlCloudStore, SqliteCloudStore, open_store
from sync_client.cabinet_config import UID_RE, ConfigInvalid, parse_config, scrypt_problem, verify_secret
from sync_client.schema import Event, utc_iso

T0 = 1_780_000_000.0


@pytest.fixture
def store(cloud_target: str) -> Iterator[SqlCloudStore]:
    """On SQLite and on PostgreSQL."""
    s = open_store(cloud_target)
    s.add_retailer("shop-a")
    s.add_retailer("shop-b")
    s.add_cabinet("cab-a", "shop-a")
    s.add_cabinet("cab-b", "shop-b")
    yield s
    s.close()


# --- PINs and cards --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("pin", "rules"),
    [
        ("1234", ["pin_rule_short"]),
        ("12a456", ["pin_rule_digits"]),
        ("１２３４５６７", ["pin_rule_digits"]),  # full-width digits: not what the pad has
        ("1234567890123", ["pin_rule_long"]),
        ("777777", ["pin_rule_same"]),
        ("123456", ["pin_rule_sequence"]),
        ("987654", ["pin_rule_sequence"]),
        ("890123", ["pin_rule_sequence"]),  # 0 follows 9
        ("123123", ["pin_rule_common"]),
        ("159753", ["pin_rule_common"]),
        ("454545", ["pin_rule_common"]),  # a repeated group, though on no list
        ("583920", []),
        ("40917263", []),
    ],
)
def test_weak_pins_are_refused_naming_the_rule(pin: str, rules: list[str]) -> None:
    assert pin_problems(pin) == rules
    assert all(rule in EN for rule in rules)


@given(st.text(max_size=20) | st.text(alphabet="0123456789", min_size=0, max_size=14))
def test_any_typed_pin_gets_a_verdict_and_only_good_ones_pass(pin: str) -> None:
    problems = pin_problems(pin)
    assert all(p in EN for p in problems)
    if not problems:
        assert pin.isascii() and pin.isdigit() and MIN_PIN_DIGITS <= len(pin) <= MAX_PIN_DIGITS
        assert len(set(pin)) > 1


def test_a_good_pin_is_hashed_as_the_cabinet_verifies_it_and_a_weak_one_never() -> None:
    hashed = hash_pin("583920")
    assert scrypt_problem(hashed) is None
    assert verify_secret("583920", hashed) and not verify_secret("583921", hashed)
    parsed = parse_config(
        {"version": 1, "currency": "EUR", "products": [], "retailer": {"technician_pin_hashes": [hashed]}}
    )
    assert parsed.retailer.technician_pin_hashes == (hashed,)
    with pytest.raises(PinRefused) as refused:
        hash_pin("000000")
    assert refused.value.problems == ["pin_rule_same"]


def test_a_technician_pin_hash_out_of_bounds_is_refused_by_the_cabinet() -> None:
    with pytest.raises(ConfigInvalid, match=r"retailer\.technician_pin_hashes\[0\]"):
        parse_config({"version": 1, "currency": "EUR", "products": [], "retailer": {"technician_pin_hashes": ["x"]}})


def test_card_uids_are_taken_as_the_reader_shows_them() -> None:
    assert card_uid("04 A1 B2 C3") == "04a1b2c3"
    assert card_uid("04:a1:b2:c3:d4:e5:f6") == "04a1b2c3d4e5f6"
    assert card_uid("04a1b2") is None  # 3 bytes
    assert card_uid("04a1b2c3z") is None


@given(st.text(max_size=60))
def test_any_typed_card_uid_is_refused_or_fit_for_the_document(text: str) -> None:
    uid = card_uid(text)
    assert uid is None or UID_RE.fullmatch(uid)


# --- commands --------------------------------------------------------------------------------------------
def _command(**changes: object) -> dict[str, object]:
    base = {"result": None, "acked_at": None, "delivered_at": None, "expires_at": utc_iso(T0 + 120)}
    return {**base, **changes}


def test_a_commands_state_follows_the_cabinet_until_its_answer() -> None:
    assert command_state(_command(), T0) == "queued"
    assert command_state(_command(delivered_at=utc_iso(T0)), T0) == "delivered"
    assert command_state(_command(), T0 + 121) == "expired"  # never fetched in time
    acked = utc_iso(T0 + 1)
    assert command_state(_command(acked_at=acked, result="ok: unlocking"), T0) == "applied"
    assert command_state(_command(acked_at=acked, result="ok: refused: the cabinet is busy"), T0) == "refused"
    assert command_state(_command(acked_at=acked, result="refused: args.seconds: required"), T0) == "refused"
    assert command_state(_command(acked_at=acked, result="expired"), T0) == "expired"


def test_a_polled_command_is_marked_delivered_and_listed_for_its_retailer_only(store: SqlCloudStore) -> None:
    command_id = store.add_command("cab-a", "selftest", {}, now=T0, created_by="o@a.example")
    assert store.command(command_id)["delivered_at"] is None  # type: ignore[index]
    [delivered] = store.deliver_commands("cab-a", now=T0 + 5)
    assert delivered["id"] == command_id and delivered["delivered_at"] == utc_iso(T0 + 5)
    store.deliver_commands("cab-a", now=T0 + 9)  # the first hand-over is the one kept
    assert store.command(command_id)["delivered_at"] == utc_iso(T0 + 5)  # type: ignore[index]
    assert [c["created_by"] for c in store.commands_of("shop-a")] == ["o@a.example"]
    assert store.commands_of("shop-b") == [] and store.commands_of("shop-a", cabinet_id="cab-b") == []


# --- alarms ----------------------------------------------------------------------------------------------
def _alarm(store: SqlCloudStore, cabinet: str, seq: int, at: float, kind: str = "door_forced") -> str:
    event = Event(f"{cabinet}-{seq}", cabinet, seq, "alarm", utc_iso(at), float(seq), {"kind": kind, "detail": "x"})
    store.store_events(cabinet, [event], now=at)
    return event.id


def test_an_alarm_is_acknowledged_then_resolved_by_name_and_filtered_by_state(store: SqlCloudStore) -> None:
    first, second = _alarm(store, "cab-a", 1, T0), _alarm(store, "cab-a", 2, T0 + 60, "tamper")
    theirs = _alarm(store, "cab-b", 1, T0)
    mark = store.alarms_mark("shop-a")
    assert [a["id"] for a in store.alarms_of("shop-a", state="open")] == [second, first]  # newest first

    with pytest.raises(Conflict, match="still open"):
        store.handle_alarm("shop-a", first, "resolve", "o@a.example", now=T0 + 100)
    store.handle_alarm("shop-a", first, "acknowledge", "staff@a.example", now=T0 + 100)
    assert store.alarms_mark("shop-a") != mark  # the live page hears of it
    with pytest.raises(Conflict, match="staff@a.example"):
        store.handle_alarm("shop-a", first, "acknowledge", "o@a.example", now=T0 + 101)
    store.handle_alarm("shop-a", first, "resolve", "o@a.example", now=T0 + 200)

    [resolved] = store.alarms_of("shop-a", state="resolved")
    assert (resolved["acknowledged_by"], resolved["acknowledged_at"]) == ("staff@a.example", utc_iso(T0 + 100))
    assert (resolved["resolved_by"], resolved["resolved_at"]) == ("o@a.example", utc_iso(T0 + 200))
    assert [a["id"] for a in store.alarms_of("shop-a", state="open")] == [second]
    assert store.alarms_of("shop-a", state="acknowledged") == []
    assert len(store.alarms_of("shop-a")) == 2 and store.alarms_of("shop-a", cabinet_id="cab-b") == []
    # Another retailer's alarm is as unknown as one that does not exist, and handling it changes nothing.
    with pytest.raises(NotFound):
        store.handle_alarm("shop-a", theirs, "acknowledge", "o@a.example")
    assert store.alarms_of("shop-b", state="open")[0]["id"] == theirs
    store.store_events("cab-a", [Event("hb", "cab-a", 3, "heartbeat", utc_iso(T0), 3.0, {})], now=T0)
    with pytest.raises(NotFound):  # an event that is not an alarm
        store.handle_alarm("shop-a", "hb", "acknowledge", "o@a.example")


def test_the_snapshots_around_an_alarm_are_found_by_when_they_were_taken(store: SqlCloudStore) -> None:
    jpeg = b"\xff\xd8\xff\xe0" + b"0" * 64 + b"\xff\xd9"
    for name, at in (("20260530T000000-forced-none.jpg", T0), ("20260530T010000-closed-none.jpg", T0 + 3600)):
        store.put_snapshot("cab-a", name, utc_iso(at), jpeg)
    near = store.snapshots_taken("cab-a", since=utc_iso(T0 - 10), until=utc_iso(T0 + 120))
    assert [s["name"] for s in near] == ["20260530T000000-forced-none.jpg"]
    assert near[0]["bytes"] == len(jpeg)
    assert store.snapshots_taken("cab-b", since=utc_iso(T0 - 10), until=utc_iso(T0 + 120)) == []


# --- the live stream -------------------------------------------------------------------------------------
async def test_the_alarm_stream_announces_a_new_alarm_and_ends_when_the_server_stops(tmp_path: Path) -> None:
    store = SqliteCloudStore(tmp_path / "live.db")
    store.add_retailer("shop-a")
    store.add_cabinet("cab-a", "shop-a")
    store.add_user("shop-a", "o@a.example", "owner", password_hash=hash_password("correct horse battery"))
    runner, url = await start_cloud(store)
    try:
        # unsafe: the jar keeps cookies of an address like 127.0.0.1 (a browser does)
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            async with session.get(url + "/console/sign-in") as answer:
                token = re.search(r'name="csrf_token" value="([^"]+)"', await answer.text())[1]  # type: ignore[index]
            form = {"csrf_token": token, "email": "o@a.example", "password": "correct horse battery"}
            async with session.post(url + "/console/sign-in", data=form) as answer:
                assert answer.status == 200 and "/console/fleet" in str(answer.url)
            async with session.get(url + "/console/alarms/stream") as stream:
                assert stream.headers["Content-Type"] == "text/event-stream"
                assert await stream.content.readline() == b"retry: 3000\n"
                _alarm(store, "cab-a", 1, T0)
                async with asyncio.timeout(10):
                    while (line := await stream.content.readline()) != b"event: alarms\n":
                        assert line in (b"\n", b": still here\n"), line
                # The server stops with the stream still open: at once, not after waiting for it.
                started = asyncio.get_running_loop().time()
                await runner.cleanup()
                assert asyncio.get_running_loop().time() - started < 5.0
    finally:
        await runner.cleanup()
        store.close()
