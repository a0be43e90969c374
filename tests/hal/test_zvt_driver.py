"""The ZVT driver against the terminal emulator over a real pseudo-terminal."""

import asyncio

import pytest

from hal.errors import DeviceFault
from hal.payment import (
    STATUS_ENTER_PIN,
    STATUS_PRESENT_CARD,
    STATUS_PROCESSING,
    PaymentOutcome,
)
from hal.sim.zvt_emulator import KEPT_PAYMENTS, ApprovedPayment, ZvtEmulator
from hal.zvt import ZvtTerminal
from hal.zvt import apdu as zvt

# Short protocol timeouts keep the suite fast; generous enough for a loaded 2-core machine.
FAST = {"ack_timeout": 0.4, "reply_timeout": 3.0, "auth_timeout": 10.0}


@pytest.fixture
async def emulator():
    emu = ZvtEmulator(password="123456", ack_timeout=0.4, reply_timeout=3.0, seed=7)
    await emu.start()
    yield emu
    await emu.stop()


@pytest.fixture
async def terminal(emulator):
    term = ZvtTerminal(emulator.port, password="123456", **FAST)
    await term.open()
    yield term
    await term.close()


async def sale(terminal, emulator, act, amount=11000):
    return await sale_in(terminal, emulator, act, "EUR", amount)


async def sale_in(terminal, emulator, act, currency, amount=11000):
    statuses = []
    task = asyncio.create_task(terminal.authorize(amount, currency, statuses.append))
    await emulator.wait_for_card_prompt()
    act()
    return await asyncio.wait_for(task, 15), statuses


async def test_open_registers_with_password_config_and_currency(terminal, emulator):
    assert emulator.registered
    assert terminal.terminal_id == "29001234"
    assert emulator.received[0].encode() == bytes.fromhex("06 00 06 12 34 56 38 09 78")
    assert await terminal.terminal_status() == 0


async def test_approved_sale_reports_receipt_trace_and_amount(terminal, emulator):
    result, statuses = await sale(terminal, emulator, lambda: emulator.approve(pin=True))
    assert result.outcome is PaymentOutcome.APPROVED and result.approved
    assert (result.amount_cents, result.currency, result.result_code) == (11000, "EUR", 0)
    assert (result.receipt_no, result.trace_no) == (emulator.approved[0].receipt_no, emulator.approved[0].trace_no)
    assert statuses == [STATUS_PRESENT_CARD, STATUS_ENTER_PIN, STATUS_PROCESSING]
    assert emulator.received[-1].command == zvt.ACKNOWLEDGE  # ECR answered the completion
    again, _ = await sale(terminal, emulator, emulator.approve, amount=1999)
    assert again.approved and again.amount_cents == 1999
    assert int(again.receipt_no) == int(result.receipt_no) + 1


async def test_declined_sale(terminal, emulator):
    result, _ = await sale(terminal, emulator, lambda: emulator.decline(0x05))
    assert result.outcome is PaymentOutcome.DECLINED
    assert result.result_code == 0x05 and result.receipt_no is None and result.trace_no is not None
    assert emulator.approved == []


async def test_terminal_timeout(terminal, emulator):
    result, _ = await sale(terminal, emulator, emulator.time_out)
    assert result.outcome is PaymentOutcome.TIMED_OUT and result.result_code == 0x6C


async def test_cancel_during_authorization(terminal, emulator):
    result, _ = await sale(terminal, emulator, lambda: asyncio.create_task(terminal.cancel()))
    assert result.outcome is PaymentOutcome.CANCELLED and result.result_code == 0x6C
    assert any(m.command == zvt.ECR_ABORT for m in emulator.received)
    follow_up, _ = await sale(terminal, emulator, emulator.approve)
    assert follow_up.approved


async def test_driver_deadline_aborts_at_the_terminal(emulator):
    term = ZvtTerminal(emulator.port, password="123456", ack_timeout=0.4, reply_timeout=3.0, auth_timeout=0.5)
    await term.open()
    try:
        result = await term.authorize(500, "EUR")
    finally:
        await term.close()
    assert result.outcome is PaymentOutcome.TIMED_OUT
    assert any(m.command == zvt.ECR_ABORT for m in emulator.received)


async def test_nak_causes_retransmission_then_success(terminal, emulator):
    emulator.nak_next(2)
    result, _ = await sale(terminal, emulator, emulator.approve)
    assert result.approved
    assert [m.command for m in emulator.received].count(zvt.AUTHORIZATION) == 1


async def test_persistent_nak_is_a_device_fault_before_money_moves(terminal, emulator):
    emulator.nak_next(terminal.tries)
    with pytest.raises(DeviceFault, match="no ACK") as info:
        await terminal.authorize(500, "EUR")
    assert info.value.device == "payment"
    assert emulator.approved == []


async def test_line_noise_between_frames(terminal, emulator):
    emulator.line_noise = b"\x00\xff\x13garbage\x10\x55\x10"
    result, _ = await sale(terminal, emulator, emulator.approve)
    assert result.approved and result.receipt_no == emulator.approved[0].receipt_no


async def test_lossy_line_still_completes(terminal, emulator):
    emulator.drop_fraction = 0.01
    result, _ = await sale(terminal, emulator, emulator.approve)
    assert result.approved and result.receipt_no == emulator.approved[0].receipt_no


async def test_slow_terminal_answers(terminal, emulator):
    emulator.answer_delay = 0.2
    result, _ = await sale(terminal, emulator, emulator.approve)
    assert result.approved


async def test_auto_approve(terminal, emulator):
    emulator.auto_approve = 0.0
    result = await terminal.authorize(250, "EUR")
    assert result.approved and emulator.approved[0].amount_cents == 250


async def test_reversal_of_known_and_unknown_receipts(terminal, emulator):
    sold, _ = await sale(terminal, emulator, emulator.approve)
    reversed_ = await terminal.reverse(sold.receipt_no, 11000, "EUR")
    assert reversed_.outcome is PaymentOutcome.APPROVED and reversed_.amount_cents == 11000
    assert emulator.reversed == {sold.receipt_no}
    # Asked again (the first answer lost to a power cut): the money is back already, so it is done,
    # and the terminal did not reverse twice.
    twice = await terminal.reverse(sold.receipt_no, 11000, "EUR")
    assert twice.outcome is PaymentOutcome.APPROVED and twice.result_code == zvt.RESULT_ALREADY_REVERSED
    assert twice.message == "already reversed" and emulator.reversed == {sold.receipt_no}
    unknown = await terminal.reverse("9999", 11000, "EUR")
    assert unknown.outcome is PaymentOutcome.DECLINED and unknown.result_code == zvt.RESULT_REVERSAL_NOT_POSSIBLE
    reversal_cmd = next(m for m in emulator.received if m.command == zvt.REVERSAL)
    assert reversal_cmd.data == bytes.fromhex("123456 87") + bytes.fromhex(sold.receipt_no)


async def test_silent_terminal_fails_open(emulator):
    emulator.silent = True
    term = ZvtTerminal(emulator.port, password="123456", **FAST)
    with pytest.raises(DeviceFault, match="no ACK"):
        await term.open()


async def test_unplug_then_replug(terminal, emulator):
    await emulator.unplug()
    with pytest.raises(DeviceFault) as info:
        await terminal.authorize(500, "EUR")
    assert info.value.device == "payment"
    with pytest.raises(DeviceFault, match="cannot open"):
        await terminal.open()
    await emulator.replug()
    result, _ = await sale(terminal, emulator, emulator.approve)  # reopens and registers by itself
    assert result.approved and emulator.registered


async def test_unplug_mid_authorization_is_a_fault_result_not_an_exception(terminal, emulator):
    task = asyncio.create_task(terminal.authorize(500, "EUR"))
    await emulator.wait_for_card_prompt()
    await emulator.unplug()
    result = await asyncio.wait_for(task, 15)
    assert result.outcome is PaymentOutcome.FAULT and "link lost" in result.message


async def test_wrong_password_is_refused(emulator):
    term = ZvtTerminal(emulator.port, password="000000", **FAST)
    with pytest.raises(DeviceFault, match="registration refused with code 83"):
        await term.open()


async def test_a_terminal_set_up_for_cny_registers_and_sells_in_cny_and_refuses_another_currency():
    emulator = ZvtEmulator(password="123456", currency=156, ack_timeout=0.4, reply_timeout=3.0)
    await emulator.start()
    cny = ZvtTerminal(emulator.port, password="123456", currency="CNY", **FAST)
    eur = ZvtTerminal(emulator.port, password="123456", currency="EUR", **FAST)
    try:
        await cny.open()
        assert emulator.received[0].encode() == bytes.fromhex("06 00 06 12 34 56 38 01 56")
        result, _ = await sale_in(cny, emulator, emulator.approve, "CNY")
        assert result.approved and (result.amount_cents, result.currency) == (11000, "CNY")
        assert emulator.approved[0].currency == 156
        await cny.close()
        with pytest.raises(DeviceFault, match="registration refused with code 6f"):
            await eur.open()  # a terminal refuses a currency it is not set up for
    finally:
        await cny.close()
        await eur.close()
        await emulator.stop()


async def test_bad_arguments_are_rejected(terminal):
    with pytest.raises(ValueError, match="not USD"):
        await terminal.authorize(100, "USD")
    with pytest.raises(ValueError, match="amount"):
        await terminal.authorize(0, "EUR")
    with pytest.raises(ValueError, match="receipt"):
        await terminal.reverse("12a", 100, "EUR")
    with pytest.raises(ValueError, match="password"):
        ZvtTerminal("/dev/null", password="12")


async def test_the_last_transaction_is_asked_with_repeat_receipt_and_printed_nowhere(terminal, emulator):
    assert await terminal.last_transaction() is None  # a terminal with no transaction yet
    assert await terminal.mark() is None
    sold, _ = await sale(terminal, emulator, emulator.approve)
    last = await terminal.last_transaction()
    assert (last.trace_no, last.receipt_no, last.amount_cents, last.result_code) == (
        sold.trace_no,
        sold.receipt_no,
        11000,
        zvt.RESULT_APPROVED,
    )
    asked = [m for m in emulator.received if m.command == zvt.REPEAT_RECEIPT][-1]
    # Password, then BMP 03 (service byte): status information of the original transaction, no print.
    assert asked.encode() == bytes.fromhex("06 20 05 12 34 56 03 03")
    declined, _ = await sale(terminal, emulator, emulator.decline)
    assert (await terminal.last_transaction()).result_code == 0x05


async def test_query_finds_the_authorization_started_after_the_mark(terminal, emulator):
    before = await terminal.mark()
    assert await terminal.query("sale-1", 11000, "EUR", before) is None  # nothing happened since
    sold, _ = await sale(terminal, emulator, emulator.approve)
    found = await terminal.query("sale-1", 11000, "EUR", before)
    assert found.approved and (found.receipt_no, found.trace_no) == (sold.receipt_no, sold.trace_no)
    # The mark taken after it: that approval belongs to an earlier sale, not to one started since.
    assert await terminal.query("sale-2", 11000, "EUR", await terminal.mark()) is None
    # Another amount is not this sale's transaction either.
    assert await terminal.query("sale-1", 500, "EUR", before) is None
    mark = await terminal.mark()
    await sale(terminal, emulator, emulator.decline)
    refused = await terminal.query("sale-3", 11000, "EUR", mark)
    assert refused.outcome is PaymentOutcome.DECLINED and refused.result_code == 0x05


async def test_the_last_transaction_survives_a_terminal_restart(tmp_path):
    journal = str(tmp_path / "zvt.json")
    emu = ZvtEmulator(password="123456", ack_timeout=0.4, reply_timeout=3.0, journal=journal)
    await emu.start()
    term = ZvtTerminal(emu.port, password="123456", **FAST)
    await term.open()
    sold, _ = await sale(term, emu, emu.approve)
    await term.close()
    await emu.stop()
    again = ZvtEmulator(password="123456", ack_timeout=0.4, reply_timeout=3.0, journal=journal)
    await again.start()
    term = ZvtTerminal(again.port, password="123456", **FAST)
    try:
        assert (await term.last_transaction()).receipt_no == sold.receipt_no
    finally:
        await term.close()
        await again.stop()


async def test_an_unreachable_terminal_cannot_be_asked(terminal, emulator):
    await emulator.unplug()
    with pytest.raises(DeviceFault):
        await terminal.query("sale-1", 11000, "EUR", None)


async def test_a_task_cancelled_while_closing_the_port_ends_cancelled(terminal):
    """Closing stops the link's reader; a caller cancelled meanwhile (the cabinet shutting down during a
    terminal check) must end, not swallow its cancellation and go on looping."""
    closing = asyncio.create_task(terminal.close())
    await asyncio.sleep(0)  # inside close(), waiting for the reader task to stop
    closing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await closing


async def test_the_simulated_terminal_remembers_its_latest_payments_only(terminal, emulator):
    """A cabinet selling all day: the emulator's memory (and its journal) keeps the newest payments only."""
    emulator.approved = [ApprovedPayment(f"{n:04d}", f"{n:06d}", 100, 978, 0.0) for n in range(KEPT_PAYMENTS)]
    result, _ = await sale(terminal, emulator, lambda: emulator.approve(pin=True))
    assert result.approved and len(emulator.approved) == KEPT_PAYMENTS
    assert (emulator.approved[0].receipt_no, emulator.approved[-1].receipt_no) == ("0001", result.receipt_no)
