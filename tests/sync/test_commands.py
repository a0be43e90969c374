"""Cloud commands: queued by the retailer, applied once by the cabinet, acknowledged once."""

from __future__ import annotations

import math
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync_client.cloud_client import CloudClient
from sync_client.commands import Command, CommandInbox
from sync_client.outbox import Outbox, Transaction
from sync_client.schema import (
    COMMAND_KINDS,
    COMMAND_TTL_S,
    WALL_TIME_RE,
    SchemaError,
    parse_utc_iso,
    utc_iso,
)
from sync_client.uploader import Uploader
from tests.sync.conftest import CAB, Site


class Door:
    """What the firmware would register: the unlock is recorded in the transaction, the relay pulses after."""

    def __init__(self) -> None:
        self.pulses: list[float] = []

    def apply(self, command: Command, tx: Transaction) -> str:
        tx.append("door.unlocked", {"reason": "remote", "seconds": command.args["seconds"], "command_id": command.id})
        return f"unlocked for {command.args['seconds']} s"

    def effect(self, command: Command) -> None:
        self.pulses.append(command.args["seconds"])


async def queue_unlock(site: Site) -> str:
    status, body = await site.retailer(
        "POST",
        f"/v1/retailer/cabinets/{CAB}/commands",
        {"kind": "unlock", "args": {"seconds": 3, "reason": "customer at the door"}},
    )
    assert status == 201
    return body["id"]


async def test_a_remote_unlock_is_applied_once_and_acknowledged_once(site: Site) -> None:
    door = Door()
    inbox = CommandInbox(site.outbox, site.client)
    inbox.register("unlock", door.apply, door.effect)
    command_id = await queue_unlock(site)

    assert [c.id for c in await inbox.poll()] == [command_id]
    assert door.pulses == [3]
    assert inbox.state_of(command_id) == "acked"
    status, record = await site.retailer("GET", f"/v1/retailer/commands/{command_id}")
    assert status == 200 and record["result"] == "ok: unlocked for 3 s" and record["acked_at"]
    assert await inbox.poll() == []  # the cloud no longer offers it
    assert door.pulses == [3]
    [applied] = site.outbox.events("command.applied")
    assert applied.payload == {"command_id": command_id, "kind": "unlock", "result": "ok: unlocked for 3 s"}
    assert len(site.outbox.events("door.unlocked")) == 1


async def test_a_lost_ack_is_retried_after_a_restart_without_applying_again(site: Site) -> None:
    door = Door()
    inbox = CommandInbox(site.outbox, site.client)
    inbox.register("unlock", door.apply, door.effect)
    command_id = await queue_unlock(site)
    real_request = site.client.request

    async def ack_lost(method, path, body=None, **kw):
        if path.endswith("/ack"):
            raise ConnectionResetError("the link dropped after the command was applied")
        return await real_request(method, path, body, **kw)

    site.client.request = ack_lost
    try:
        await inbox.poll()
    except ConnectionResetError:
        pass
    assert door.pulses == [3] and inbox.state_of(command_id) == "applied"

    site.outbox.close()  # the cabinet restarts
    site.outbox = Outbox(site.outbox.path, CAB)
    client = CloudClient(site.url, CAB, site.key)
    rebooted = CommandInbox(site.outbox, client)
    door_after = Door()
    rebooted.register("unlock", door_after.apply, door_after.effect)
    assert await rebooted.poll() == []  # offered again by the cloud, but already applied
    assert door_after.pulses == []
    assert rebooted.state_of(command_id) == "acked"
    assert site.store.command(command_id)["acked_at"] is not None
    assert len(site.outbox.events("command.applied")) == 1
    await client.close()


async def test_a_command_without_a_handler_is_refused_once_not_retried(site: Site) -> None:
    inbox = CommandInbox(site.outbox, site.client)
    status, body = await site.retailer("POST", f"/v1/retailer/cabinets/{CAB}/commands", {"kind": "restart"})
    assert status == 201
    await inbox.poll()
    assert site.store.command(body["id"])["result"] == "refused: kind: this cabinet has no handler for 'restart'"
    assert site.store.pending_commands(CAB) == []


async def test_the_retailer_cannot_queue_a_malformed_command(site: Site) -> None:
    status, body = await site.retailer(
        "POST", f"/v1/retailer/cabinets/{CAB}/commands", {"kind": "unlock", "args": {"seconds": 600, "reason": "x"}}
    )
    assert status == 400 and body["error"] == "args.seconds: expected a finite number > 0 and <= 30, got 600"
    status, body = await site.retailer("POST", f"/v1/retailer/cabinets/{CAB}/commands", {"kind": "explode"})
    assert status == 400 and body["error"].startswith("kind: unknown command 'explode'")
    assert site.store.pending_commands(CAB) == []


# --- expiry: judged by the cloud's signed clock, never the cabinet's own ------------------------
YEAR_2001 = 978_307_200.0  # the cabinet's clock after a power cut without its RTC battery
YEAR_2100 = 4_102_444_800.0


async def test_an_unlock_expired_by_the_clouds_clock_is_refused_recorded_and_acked_as_expired(site: Site) -> None:
    door = Door()
    # The cabinet's own clock reads 2001: by it the command would have a century to run.
    inbox = CommandInbox(site.outbox, site.client, wall_clock=lambda: YEAR_2001)
    inbox.register("unlock", door.apply, door.effect)
    command_id = await queue_unlock(site)  # valid for the default 2 minutes
    expires_at = site.store.command(command_id)["expires_at"]
    site.cloud_clock.offset = 121  # the cabinet polls 2 min 1 s later, by the cloud

    assert await inbox.poll() == []
    assert door.pulses == []
    assert site.outbox.events("door.unlocked") == [] and site.outbox.events("command.applied") == []
    [expired] = site.outbox.events("command.expired")
    assert expired.payload["command_id"] == command_id and expired.payload["kind"] == "unlock"
    assert expired.payload["expires_at"] == expires_at
    assert parse_utc_iso(expired.payload["cloud_time"], "cloud_time") >= parse_utc_iso(expires_at, "expires_at")
    record = site.store.command(command_id)
    assert record["result"] == "expired" and record["acked_at"] is not None  # not resent forever
    assert await inbox.poll() == []
    assert inbox.state_of(command_id) == "acked"

    # The cloud takes the new event type.
    await Uploader(site.outbox, site.url, site.key, client=site.client).upload_pending()
    stored = [e for e in site.store.export_events() if e["type"] == "command.expired"]
    assert [e["payload"]["command_id"] for e in stored] == [command_id]


async def test_an_unlock_still_valid_by_the_clouds_clock_opens_whatever_the_cabinets_clock_says(site: Site) -> None:
    door = Door()
    inbox = CommandInbox(site.outbox, site.client, wall_clock=lambda: YEAR_2100)  # by which it expired long ago
    inbox.register("unlock", door.apply, door.effect)
    command_id = await queue_unlock(site)
    site.cloud_clock.offset = 110  # 1 min 50 s later: still inside the 2 minutes
    assert [c.id for c in await inbox.poll()] == [command_id]
    assert door.pulses == [3]
    assert site.outbox.events("command.expired") == []


async def test_a_command_received_before_a_power_cut_is_judged_by_the_next_answers_clock(site: Site) -> None:
    class PowerCut(BaseException):
        pass

    def cut(command: Command, tx: Transaction) -> str:
        raise PowerCut  # the power goes while the command is being applied: stored, never applied

    inbox = CommandInbox(site.outbox, site.client)
    inbox.register("unlock", cut)
    command_id = await queue_unlock(site)
    with pytest.raises(PowerCut):
        await inbox.poll()
    assert inbox.state_of(command_id) == "received"

    site.cloud_clock.offset = 200  # the cabinet is back 3 min 20 s later
    door = Door()
    rebooted = CommandInbox(site.outbox, site.client)
    rebooted.register("unlock", door.apply, door.effect)
    assert await rebooted.poll() == []
    assert door.pulses == [] and rebooted.state_of(command_id) == "acked"
    assert len(site.outbox.events("command.expired")) == 1
    assert site.store.command(command_id)["result"] == "expired"


async def test_the_retailer_may_shorten_a_commands_life_within_bounds(site: Site) -> None:
    path = f"/v1/retailer/cabinets/{CAB}/commands"
    unlock = {"kind": "unlock", "args": {"seconds": 3, "reason": "customer at the door"}}

    async def lifetime(body: dict) -> float:
        status, created = await site.retailer("POST", path, body)
        assert status == 201, created
        _, record = await site.retailer("GET", f"/v1/retailer/commands/{created['id']}")
        assert created["expires_at"] == record["expires_at"]
        return round(parse_utc_iso(record["expires_at"], "e") - parse_utc_iso(record["created_at"], "c"), 3)

    assert await lifetime(unlock) == 120
    assert await lifetime({**unlock, "expires_in_s": 30}) == 30
    assert await lifetime({"kind": "refresh_config"}) == 3600
    for too_long_or_short, kind in ((121, "unlock"), (0, "unlock"), (86401, "restart")):
        status, body = await site.retailer(
            "POST",
            path,
            {"kind": kind, "expires_in_s": too_long_or_short, **({"args": unlock["args"]} if kind == "unlock" else {})},
        )
        assert status == 400 and body["error"].startswith("expires_in_s: expected 1 to "), body


def test_every_command_kind_has_a_bounded_lifetime() -> None:
    assert COMMAND_TTL_S.keys() == COMMAND_KINDS.keys()
    assert all(0 < default <= longest for default, longest in COMMAND_TTL_S.values())
    assert COMMAND_TTL_S["unlock"] == (120, 120)


async def test_a_command_stored_by_a_cabinet_from_before_expiries_is_refused_not_applied(
    site: Site, tmp_path: Path
) -> None:
    before = tmp_path / "before-expiries.db"  # a store whose commands table has no expires_at
    with closing(sqlite3.connect(before)) as conn, conn:
        conn.execute(
            "CREATE TABLE commands (id TEXT PRIMARY KEY, kind TEXT NOT NULL, args TEXT NOT NULL, "
            "state TEXT NOT NULL, result TEXT, received_at TEXT NOT NULL, applied_at TEXT, "
            "acked_at TEXT)"
        )
        conn.execute(
            "INSERT INTO commands (id, kind, args, state, received_at) VALUES "
            "('old-1', 'unlock', '{\"seconds\": 3, \"reason\": \"x\"}', 'received', "
            "'2026-01-01T00:00:00.000Z')"
        )
    outbox = Outbox(before, CAB)  # opening it adds the column
    try:
        door = Door()
        inbox = CommandInbox(outbox, site.client)
        inbox.register("unlock", door.apply, door.effect)
        await inbox.poll()
        assert door.pulses == [] and inbox.state_of("old-1") == "acked"
        [applied] = outbox.events("command.applied")
        assert applied.payload["result"].startswith("refused: expires_at: ")
    finally:
        outbox.close()


@given(st.text(max_size=40) | st.from_regex(WALL_TIME_RE, fullmatch=True) | st.none() | st.integers())
def test_an_expiry_from_the_wire_parses_to_a_finite_time_or_is_named_as_wrong(text) -> None:
    try:
        when = parse_utc_iso(text, "expires_at")
    except SchemaError as exc:
        assert str(exc).startswith("expires_at: ")
    else:
        assert math.isfinite(when)


@given(st.floats(0, YEAR_2100, allow_nan=False))
def test_the_clouds_times_read_back_to_the_millisecond(t: float) -> None:
    assert -1e-6 < t - parse_utc_iso(utc_iso(t), "t") < 0.0011  # utc_iso keeps whole milliseconds
