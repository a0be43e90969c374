"""Soak: card and scan-to-pay sales, online-order pickups and staff restocks on the real cabinet process,
with SIGKILLs, network cuts, device unplugs and a disk-full episode at seeded random points. At the end
every payment the terminal or the phone approved ends exactly once as collected, reversed or flagged for a
refund, in the cabinet and in the cloud; no order is collected twice; and the relay's recorded history
never passes its bound.

The short run is part of `make test`; the long one (200 operations) runs under `make bench`."""

from __future__ import annotations

import json
import random
import sqlite3
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from firmware.control_client import ControlClient, export_events
from tests.e2e.conftest import CABINET_ID, STAFF_CARD

SEED = 20261130
MAX_UNLOCK_S = 3.0
SLACK_S = 0.5  # the relay timer thread on a loaded 2-core machine
CONFIG = f"""
[lock]
max_unlock_s = {MAX_UNLOCK_S}
unlock_s = 2.0
door_open_timeout_s = 2.0
resume_window_s = 0.5
[screen]
thanks_s = 30.0
idle_timeout_s = 3.0
[storage]
check_s = 0.5
[[products]]
sku = "SCOOT-S1"
name = "Volt S1 e-scooter"
price_cents = 49900
stock = 999
[[products]]
sku = "BIKE-C7"
name = "Cruiser C7 e-bike"
price_cents = 129900
stock = 999
"""
Step = Callable[[], object]
UNPLUGGABLE = {"sale": ["nfc", "scanner"], "pickup": ["pos", "nfc", "scanner"], "restock": ["pos", "scanner"]}


@dataclass
class Soak:
    """The bench: the cabinet under test, the retailer's API, and what was seen along the way."""

    start: Callable[..., ControlClient]
    api: object
    rng: random.Random
    client: ControlClient
    relay_on_s: list[float] = field(default_factory=list)
    kills: Counter[str] = field(default_factory=Counter)
    disk_full_approvals: int = 0  # approvals the full disk kept out of the store (reversed at once)

    def restart(self, kill: bool) -> None:
        self.relay_on_s += on_durations(self.client.pins()["relay"])
        if kill:
            self.client.process.kill()
        else:
            assert self.client.process.stop() == 0, self.client.process.log_tail()
        self.client = self.start(CONFIG)
        settle(self.client)

    def run(self, name: str, steps: list[Step], *, may_kill: bool = True) -> None:
        """The steps in order, or a power cut (SIGKILL) after a seeded number of them."""
        kill_after = self.rng.randrange(len(steps) + 1) if may_kill and self.rng.random() < 0.3 else None
        for step in steps[:kill_after]:
            step()
        if kill_after is not None:
            self.kills[f"{name} after step {kill_after}"] += 1
            self.restart(kill=True)
        else:
            settle(self.client)


def on_durations(history: list[dict]) -> list[float]:
    """How long the relay was energized each time, from the mock pin's recorded history."""
    durations, since = [], None
    for entry in history:
        if entry["energized"] and since is None:
            since = entry["t"]
        elif not entry["energized"] and since is not None:
            durations.append(entry["t"] - since)
            since = None
    return durations


def settle(client: ControlClient) -> None:
    """Back on the attract screen with the relay off: thanks acknowledged, resumed sales run out, a shopper
    who walked away from the catalog timed out."""

    def calm(state: dict) -> bool:
        if state["screen"] == "thanks":
            client.tap("done")
        return state["screen"] == "attract" and not state["lock"]["energized"]

    client.wait_for(calm, timeout=30, what="the attract screen")


def sale_steps(soak: Soak, method: str, ending: str) -> list[Step]:
    client = soak.client
    sku = soak.rng.choice(["SCOOT-S1", "BIKE-C7"])
    steps: list[Step] = [
        lambda: client.tap("start"),
        lambda: client.wait_screen("catalog"),
        lambda: client.tap(f"product:{sku}"),
        lambda: client.wait_screen("product"),
        lambda: client.tap("buy"),
        lambda: client.wait_screen("checkout"),
        lambda: client.tap(f"pay:{method}"),
    ]
    if method == "terminal":
        steps.append(lambda: client.wait_for(lambda s: s["payment_status"] == "present_card", what="card asked"))
        steps.append(lambda: client.sim("pos/decline" if ending == "declined" else "pos/approve"))
    else:
        steps.append(lambda: client.wait_for(lambda s: s["payment_status"] == "scan_to_pay", what="payment QR"))
        steps.append(lambda: client.sim("phone/pay"))
    if ending == "declined":
        return [*steps, lambda: client.wait_for(lambda s: s["message"] == "declined", what="declined said")]
    steps.append(lambda: client.wait_for(lambda s: s["journey"] == "door_unlocked", what="door unlocked"))
    if ending == "walks_away":  # paid, never opens the door: unclaimed, the money goes back
        return [*steps, lambda: client.wait_screen("thanks", timeout=20)]
    return [
        *steps,
        lambda: client.sim("door/open"),
        lambda: client.wait_for(lambda s: s["journey"] == "door_opened", what="door opened"),
        lambda: client.sim("door/close"),
        lambda: client.wait_screen("thanks"),
    ]


def pickup_steps(soak: Soak) -> list[Step]:
    client = soak.client
    order = soak.api.call("POST", "/v1/retailer/orders", {"cabinet_id": CABINET_ID, "sku": "BIKE-C7"})
    version = client.state()["config_version"]
    client.wait_for(lambda s: s["config_version"] > version, timeout=45.0, what="the order reached the cabinet")
    steps: list[Step] = [lambda: client.tap("pickup"), lambda: client.wait_screen("pickup")]
    steps += [lambda digit=digit: client.tap(f"key:{digit}") for digit in order["pickup_code"]]
    return [
        *steps,
        lambda: client.tap("pickup:submit"),
        lambda: client.wait_for(lambda s: s["lock"]["energized"], what="pickup unlocked"),
        lambda: client.sim("door/open"),
        lambda: client.wait_for(lambda s: s["journeys"]["pickup"] == "door_opened", what="pickup door opened"),
        lambda: client.sim("door/close"),
        lambda: client.wait_screen("thanks"),
    ]


def tap_staff_card(client: ControlClient) -> None:
    """A staff tap, tapped again when nothing happens: the reader reports a card once it has seen it gone
    for two polls, so a tap right after the last one (a quick second restock) goes unseen, as at a real
    reader."""
    for _ in range(10):
        client.sim("nfc/present", {"uid": STAFF_CARD.upper(), "hold_s": 0.2})
        try:
            client.wait_for(lambda s: s["journeys"]["restock"] == "unlocked", timeout=1.0, what="restock unlocked")
            return
        except TimeoutError:
            continue
    raise AssertionError("the staff card never opened the restock")


def restock_steps(soak: Soak) -> list[Step]:
    client = soak.client
    return [
        lambda: tap_staff_card(client),
        lambda: client.sim("door/open"),
        lambda: client.wait_for(lambda s: s["journeys"]["restock"] == "counting", what="counting"),
        lambda: client.tap("count:BIKE-C7:minus"),
        lambda: client.sim("door/close"),
        lambda: client.wait_for(lambda s: s["journeys"]["restock"] == "recorded", what="restock recorded"),
        lambda: client.tap("done"),
    ]


def disk_full_during_payment(soak: Soak) -> None:
    """The disk fills as the card approves. Mostly the approval cannot be recorded: the door stays shut,
    the payment is reversed at once and the shopper is told. If the last free bytes still held it, the
    shopper walks away and the unclaimed sale waits, out of service, until the disk has room."""
    client = soak.client
    for step in sale_steps(soak, "terminal", "collects")[:8]:  # up to the terminal asking for the card
        step()
    client.sim("storage/full")
    client.sim("pos/approve")
    state = client.wait_for(
        lambda s: s["screen"] == "out_of_service" or s["journey"] == "door_unlocked", timeout=20, what="the outcome"
    )
    if state["screen"] == "out_of_service":
        assert state["message"] == "not_charged" and not state["lock"]["energized"]
        soak.disk_full_approvals += 1
    else:
        client.wait_for(lambda s: "storage" in s["faults"], timeout=20, what="out of service")
        client.wait_for(lambda s: not s["lock"]["energized"], timeout=20, what="the latch relocked")
    client.sim("storage/ok")
    client.wait_for(lambda s: "terminal" in s["payment_methods"], timeout=20, what="card payments again")
    settle(client)


def one_operation(soak: Soak, index: int, disk_full_at: int) -> str:
    client, rng = soak.client, soak.rng
    if index == disk_full_at:
        disk_full_during_payment(soak)
        return "disk full"
    kind = rng.choices(["sale", "pickup", "restock"], weights=[6, 2, 2])[0]
    unpluggable = UNPLUGGABLE[kind]
    network_down = rng.random() < 0.2
    # A device that disappears for the operation: one the operation does not need (selling what it still can).
    unplug = rng.choice(unpluggable) if rng.random() < 0.2 else None
    if kind == "pickup":
        steps = pickup_steps(soak)  # the order reaches the cabinet first; the code then works offline
    elif kind == "restock":
        steps = restock_steps(soak)
    else:
        method = "qr" if not network_down and rng.random() < 0.25 else "terminal"
        ending = rng.choices(["collects", "walks_away", "declined"], weights=[6, 2, 1])[0]
        if method == "qr" and ending == "declined":
            ending = "collects"
        kind = f"{method} sale, {ending}"
        steps = sale_steps(soak, method, ending)
    if network_down:
        client.sim("network/down")
    if unplug:
        client.sim(f"{unplug}/unplug")
    soak.run(kind, steps)
    if soak.client is client:  # not restarted: put the network and the device back
        if network_down:
            soak.client.sim("network/up")
        if unplug:
            soak.client.sim(f"{unplug}/replug")
    return kind


def terminal_journal(workdir: Path) -> tuple[set[str], set[str]]:
    state = json.loads((workdir / "data" / "zvt-emulator.json").read_text())
    return {p["receipt_no"] for p in state["approved"]}, set(state["reversed"])


def open_pending_actions(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT count(*) FROM pending_actions WHERE state NOT IN ('done', 'flagged')").fetchone()[0]
    finally:
        conn.close()


@pytest.mark.parametrize(
    "operations",
    [
        pytest.param(14, id="short", marks=pytest.mark.timeout(600)),
        pytest.param(200, id="long", marks=[pytest.mark.bench, pytest.mark.timeout(3600)]),
    ],
)
def test_every_payment_ends_once_and_the_relay_stays_bounded(retail, cloud, operations) -> None:
    workdir, _ = cloud
    api, start = retail
    rng = random.Random(SEED + operations)
    soak = Soak(start=start, api=api, rng=rng, client=start(CONFIG))
    settle(soak.client)
    kinds: Counter[str] = Counter()
    disk_full_at = rng.randrange(2, operations)
    for index in range(operations):
        kinds[one_operation(soak, index, disk_full_at)] += 1
    # A last clean restart with the network up: every follow-up finished, everything uploaded.
    soak.restart(kill=False)
    soak.client.wait_for(lambda s: s["outbox"]["pending"] == 0 and s["online"], timeout=60, what="outbox drained")
    soak.relay_on_s += on_durations(soak.client.pins()["relay"])
    assert soak.client.process.stop() == 0, soak.client.process.log_tail()
    soak.client.process.killed = True  # stopped here; the fixture need not

    assert open_pending_actions(workdir / "data" / "cabinet.db") == 0
    events = [e for e in export_events(workdir) if e["cabinet_id"] == CABINET_ID]
    ids = [e["id"] for e in events]
    assert len(ids) == len(set(ids)), "an event was stored twice"

    # Every approval, by the terminal's own journal and by the cloud's record of scan-to-pay payments.
    approved = {e["payload"]["sale_id"]: e["payload"] for e in events if e["type"] == "payment.approved"}
    assert len(approved) == sum(e["type"] == "payment.approved" for e in events), "a sale approved twice"
    outcomes: Counter[tuple[str, str]] = Counter()
    for e in events:
        if e["type"] in ("sale.completed", "payment.reversed"):
            outcomes[(e["payload"]["sale_id"], e["type"])] += 1
        elif e["type"] == "alarm" and e["payload"]["kind"] == "refund_needed" and "sale_id" in e["payload"]:
            outcomes[(e["payload"]["sale_id"], "refund_needed")] += 1
    for sale_id in approved:
        ends = {kind: n for (sale, kind), n in outcomes.items() if sale == sale_id}
        assert sum(ends.values()) == 1, f"sale {sale_id} ends {ends or 'never'}"

    receipts, reversed_receipts = terminal_journal(workdir)
    by_receipt = {p["receipt_no"]: sale for sale, p in approved.items() if p["method"] == "terminal"}
    assert set(by_receipt) == receipts, "the terminal and the cabinet disagree on what was approved"
    for receipt, sale_id in by_receipt.items():
        assert (receipt in reversed_receipts) == ((sale_id, "payment.reversed") in outcomes), receipt
    # An approval the full disk kept out was reversed at once and recorded once the disk had room.
    late = [p for p in approved.values() if p.get("recorded_late")]
    assert len(late) == soak.disk_full_approvals and all(p["receipt_no"] in reversed_receipts for p in late)

    collected = Counter(e["payload"]["order_id"] for e in events if e["type"] == "pickup.completed")
    assert all(n == 1 for n in collected.values()), f"an order collected twice: {collected}"
    assert soak.relay_on_s and max(soak.relay_on_s) <= MAX_UNLOCK_S + SLACK_S, max(soak.relay_on_s)
    print(
        f"{operations} operations {dict(kinds)}; {sum(soak.kills.values())} power cuts; "
        f"{len(approved)} approved sales; longest pulse {max(soak.relay_on_s):.2f} s"
    )
