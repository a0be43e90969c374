"""The owner's refund from the console reaches the cabinet as a ``refund`` command: a reversal the terminal
refused (flagged ``refund_needed``) is tried again and, once the terminal takes it, recorded as
``payment.reversed``. Real parts as in test_follow_up_actions: the ZVT driver against its emulator over a
PTY, the SQLite store on disk, gpiozero mock pins."""

# mypy: allow-untyped-calls
from __future__ import annotations

from typing import Any

import pytest

from sync_client.pending_actions import PendingActions
from sync_client.schema import SchemaError, validate_command
from tests.firmware.test_follow_up_actions import lapse_now, paid_and_waiting_at_the_door, reversals_sent, site, until

__all__ = ["site"]


def refund(cabinet: Any, sale_id: str) -> str:
    """What the command's handler does: the decision in the command's transaction, then the follow-ups run."""
    follow_ups = cabinet.journey.follow_ups
    with cabinet.outbox.transaction(durable=True) as tx:
        result: str = follow_ups.give_back_again(tx, sale_id)
    follow_ups.kick()
    return result


async def test_a_refused_reversal_is_given_back_when_the_owner_refunds_it(site: Any) -> None:
    cabinet = await site.boot()
    sale = await paid_and_waiting_at_the_door(cabinet, site.emulator)
    site.emulator.refuse_reversals = True  # the terminal's host says "not possible"
    lapse_now(cabinet.journey)
    await until(lambda: cabinet.refund_alarms())
    assert cabinet.events("payment.reversed") == []
    site.emulator.refuse_reversals = False  # the next day the host takes reversals again

    assert refund(cabinet, sale.sale_id) == "giving it back again"
    await until(lambda: cabinet.events("payment.reversed"))
    [reversed_] = cabinet.events("payment.reversed")
    assert (reversed_["sale_id"], reversed_["receipt_no"]) == (sale.sale_id, sale.receipt_no)
    assert cabinet.sale_state(sale.sale_id) == "reversed"
    assert len(reversals_sent(site.emulator)) == 2, "refused once, then done once"
    # A second refund of the same sale is not a second reversal.
    assert refund(cabinet, sale.sale_id) == "already given back"
    assert [a.state for a in PendingActions(cabinet.outbox).all()] == ["done"]
    assert len(reversals_sent(site.emulator)) == 2


async def test_a_refund_refused_again_is_flagged_again(site: Any) -> None:
    cabinet = await site.boot()
    sale = await paid_and_waiting_at_the_door(cabinet, site.emulator)
    site.emulator.refuse_reversals = True
    lapse_now(cabinet.journey)
    await until(lambda: cabinet.refund_alarms())
    refund(cabinet, sale.sale_id)
    await until(lambda: len(cabinet.refund_alarms()) == 2)
    assert cabinet.events("payment.reversed") == []
    assert [a.state for a in PendingActions(cabinet.outbox).all()] == ["flagged"]


async def test_a_refund_of_a_sale_the_cabinet_does_not_hold_is_refused_naming_it(site: Any) -> None:
    cabinet = await site.boot()
    with pytest.raises(SchemaError, match="args.sale_id: no unclaimed sale 'nope'"):
        refund(cabinet, "nope")


def test_a_refund_command_needs_the_sale_id() -> None:
    validate_command("refund", {"sale_id": "s-1"})
    with pytest.raises(SchemaError, match="args.sale_id: required for refund"):
        validate_command("refund", {})
