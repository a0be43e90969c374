"""ZVT payment terminal driver (ECR side) over a serial line, 9600 8N2."""

from __future__ import annotations

import asyncio
import dataclasses
import logging

import serial

from hal.errors import DeviceFault, ProtocolError
from hal.payment import (
    STATUS_ENTER_PIN,
    STATUS_PRESENT_CARD,
    STATUS_PROCESSING,
    PaymentOutcome,
    PaymentResult,
    PaymentTerminal,
    StatusCallback,
)
from hal.serial_link import SerialLink
from hal.zvt import apdu as zvt
from hal.zvt.bmp import BmpFields
from hal.zvt.card_info import card_info
from hal.zvt.link import ACK_TIMEOUT, SEND_TRIES, ZvtLink

log = logging.getLogger(__name__)

# Intermediate status codes (04 FF) grouped by what the checkout screen should say.
_PRESENT_CARD_CODES = frozenset({0x0A, 0x2A})  # insert / present card
_ENTER_PIN_CODES = frozenset({0x01, 0x02, 0x15, 0x41, 0x42})  # watch PIN pad, incorrect PIN


def status_for(code: int) -> str:
    """The hal.payment STATUS_* a 04 FF intermediate status code stands for."""
    if code in _PRESENT_CARD_CODES:
        return STATUS_PRESENT_CARD
    if code in _ENTER_PIN_CODES:
        return STATUS_ENTER_PIN
    return STATUS_PROCESSING


class ZvtTerminal(PaymentTerminal):
    """A ZVT card terminal on a serial port. The cabinet is the ECR, the terminal the PT.

    Timeouts (seconds): ``ack_timeout`` is T3, the wait for ACK/NAK after a
    frame; ``reply_timeout`` bounds the wait for the terminal's answer to a
    command and for each message of a short exchange (registration,
    reversal); ``auth_timeout`` bounds a whole authorization, after which the
    cabinet aborts it (reversals too).
    """

    method = "terminal"
    name = "payment"

    def __init__(
        self,
        port: str,
        *,
        password: str = "000000",
        currency: str = "EUR",
        baudrate: int = 9600,
        ack_timeout: float = ACK_TIMEOUT,
        reply_timeout: float = 15.0,
        auth_timeout: float = 120.0,
        tries: int = SEND_TRIES,
        config_byte: int = (
            zvt.CONFIG_INTERMEDIATE_STATUS | zvt.CONFIG_ECR_CONTROLS_PAYMENT | zvt.CONFIG_ECR_CONTROLS_ADMIN
        ),
    ) -> None:
        if len(password) != 6 or not password.isdigit():
            raise ValueError(f"ZVT password must be 6 digits, got {password!r}")
        zvt.currency_code(currency)  # a currency no terminal knows: refused here, not at registration
        self.port = port
        self.password = password
        self.currency = currency
        self.baudrate = baudrate
        self.ack_timeout = ack_timeout
        self.reply_timeout = reply_timeout
        self.auth_timeout = auth_timeout
        self.tries = tries
        self.config_byte = config_byte
        self.terminal_id: str | None = None
        self._serial: SerialLink | None = None
        self._link: ZvtLink | None = None
        self._busy = asyncio.Lock()  # one PT transaction at a time
        self._authorizing = False
        self._cancel_requested = False

    # --- connection ------------------------------------------------------------------

    @property
    def where(self) -> str:
        return self.port

    @property
    def state(self) -> str:
        if self._link is None:
            return "closed"
        if self._link.error is not None:
            return f"link lost ({self._link.error.detail})"
        return f"connected to terminal {self.terminal_id}"

    def link_fault(self) -> DeviceFault | None:
        return self._link.error if self._link is not None else None

    def identity(self) -> str | None:
        return f"terminal id {self.terminal_id}" if self.terminal_id is not None else None

    async def open(self) -> None:
        """Open the port and register with the terminal; DeviceFault if it does not answer."""
        async with self._busy:
            await self._connect()

    async def _connect(self) -> None:
        await self.close()
        self._serial = SerialLink(self.name, self.port, self.baudrate, stopbits=serial.STOPBITS_TWO)
        await self._serial.open()
        self._link = ZvtLink(self._serial, self.name, ack_timeout=self.ack_timeout, tries=self.tries)
        self._link.start()
        try:
            await self._register()
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        if self._link is not None:
            await self._link.stop()
            self._link = None
        if self._serial is not None:
            self._serial.close()
            self._serial = None

    def _connected_link(self) -> ZvtLink:
        if self._link is None or self._link.error is not None:
            raise DeviceFault(self.name, f"{self.port} is not connected")
        return self._link

    async def _ensure_open(self) -> ZvtLink:
        """The link, reopening the port first if it was lost (a terminal plugged back in).

        Called with ``_busy`` held."""
        if self._link is None or self._link.error is not None:
            await self._connect()
        return self._connected_link()

    async def _command(self, link: ZvtLink, apdu: zvt.Apdu) -> zvt.Apdu:
        """Send a command and return the terminal's first answer (80 00 or 84 xx)."""
        link.drain()
        await link.send(apdu)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.reply_timeout
        while True:
            answer = await link.receive(deadline - loop.time())
            if answer is None:
                raise DeviceFault(self.name, f"no answer to {apdu} within {self.reply_timeout:g} s")
            if answer.command == zvt.ACKNOWLEDGE or answer.cls == zvt.NEGATIVE_CLASS:
                return answer
            log.warning("ignoring %s while waiting for the answer to %s", answer, apdu)

    async def _register(self) -> None:
        link = self._connected_link()
        currency = zvt.CURRENCY_CODES[self.currency]
        answer = await self._command(link, zvt.registration(self.password, self.config_byte, currency))
        if answer.cls == zvt.NEGATIVE_CLASS:
            raise DeviceFault(self.name, f"registration refused with code {answer.instr:02x}")
        message = await self._next_pt_message(link, self.reply_timeout)
        if message.command != zvt.COMPLETION:
            raise DeviceFault(self.name, f"registration ended with {message}")
        try:
            self.terminal_id = zvt.command_bmps(message).terminal_id
        except ProtocolError as exc:
            log.warning("registration completion unreadable: %s", exc)
        log.info("registered with terminal %s on %s", self.terminal_id, self.port)

    async def _next_pt_message(self, link: ZvtLink, timeout: float) -> zvt.Apdu:
        """The terminal's next message, answered with 80 00 00; DeviceFault if none comes."""
        while True:
            message = await link.receive(timeout)
            if message is None:
                raise DeviceFault(self.name, f"terminal silent for {timeout:g} s")
            if message.command == zvt.ACKNOWLEDGE or message.cls == zvt.NEGATIVE_CLASS:
                continue  # a late or repeated answer to our own command
            await link.send(zvt.acknowledge())
            return message

    async def check(self) -> None:
        """Between sales: a status enquiry, reconnecting first if the port came back."""
        status = await self.terminal_status()
        if status not in (None, 0):
            raise DeviceFault(self.name, f"terminal not ready (status {status:02x})")

    async def terminal_status(self) -> int | None:
        """Status enquiry (05 01): the terminal status byte, 0 meaning ready."""
        async with self._busy:
            link = await self._ensure_open()
            answer = await self._command(link, zvt.status_enquiry(self.password))
            if answer.cls == zvt.NEGATIVE_CLASS:
                raise DeviceFault(self.name, f"status enquiry refused with code {answer.instr:02x}")
            while True:
                message = await self._next_pt_message(link, self.reply_timeout)
                if message.command == zvt.COMPLETION:
                    return zvt.completion_terminal_status(message)[1]

    # --- payments ----------------------------------------------------------------------

    def _currency_code(self, currency: str) -> int:
        if currency != self.currency:
            raise ValueError(f"terminal is set up for {self.currency}, not {currency}")
        return zvt.CURRENCY_CODES[currency]

    async def authorize(
        self, amount_cents: int, currency: str, on_status: StatusCallback | None = None, reference: str | None = None
    ) -> PaymentResult:
        if not 0 < amount_cents < 10**12:
            raise ValueError(f"amount must be 1..999999999999 cents, got {amount_cents}")
        code = self._currency_code(currency)
        async with self._busy:
            link = await self._ensure_open()
            self._cancel_requested = False
            self._authorizing = True
            try:
                return await self._transaction(
                    link, zvt.authorization(amount_cents, code), amount_cents, currency, on_status
                )
            finally:
                self._authorizing = False

    async def cancel(self) -> None:
        """Send 06 B0; the terminal then ends the authorization with 06 1E (CANCELLED)."""
        if not self._authorizing or self._link is None:
            return
        self._cancel_requested = True
        try:
            await self._link.send(zvt.ecr_abort())
        except DeviceFault as fault:
            log.warning("cancel not delivered: %s", fault)

    async def reverse(self, receipt_no: str, amount_cents: int, currency: str) -> PaymentResult:
        """Reversal (06 30) by receipt number. "Already reversed" (B4) is APPROVED: an earlier reversal
        whose answer was lost (a power cut, a pulled cable) gave the money back already."""
        if len(receipt_no) > 4 or not receipt_no.isdigit():
            raise ValueError(f"receipt number must be up to 4 digits, got {receipt_no!r}")
        self._currency_code(currency)
        async with self._busy:
            link = await self._ensure_open()
            self._cancel_requested = False
            result = await self._transaction(
                link, zvt.reversal(self.password, receipt_no), amount_cents, currency, None
            )
        if result.result_code == zvt.RESULT_ALREADY_REVERSED:
            return dataclasses.replace(result, outcome=PaymentOutcome.APPROVED, message="already reversed")
        return result

    async def last_transaction(self) -> BmpFields | None:
        """The status information of the terminal's last transaction, asked with Repeat Receipt (06 20,
        nothing printed); None when the terminal has none stored (it ends the command with 06 1E 83)."""
        async with self._busy:
            link = await self._ensure_open()
            answer = await self._command(link, zvt.repeat_receipt(self.password))
            if answer.cls == zvt.NEGATIVE_CLASS:
                raise DeviceFault(self.name, f"repeat receipt refused with code {answer.instr:02x}")
            status = None
            while True:
                message = await self._next_pt_message(link, self.reply_timeout)
                try:
                    if message.command == zvt.STATUS_INFORMATION:
                        status = zvt.command_bmps(message)
                    elif message.command == zvt.ABORT:
                        code = zvt.abort_result_code(message)
                        if code == zvt.RESULT_FUNCTION_NOT_POSSIBLE:
                            return None
                        raise DeviceFault(self.name, f"repeat receipt aborted with code {code:02x}")
                except ProtocolError as exc:
                    raise DeviceFault(self.name, f"unreadable answer to the repeat receipt: {exc}") from exc
                if message.command == zvt.COMPLETION:
                    if status is None:
                        raise DeviceFault(self.name, "repeat receipt completed without status information")
                    return status

    async def mark(self) -> str | None:
        """The trace number of the terminal's last transaction (None before its first)."""
        last = await self.last_transaction()
        return last.trace_no if last else None

    async def query(self, reference: str, amount_cents: int, currency: str, mark: str | None) -> PaymentResult | None:
        """The terminal keeps no reference of ours, but it keeps its last transaction: if that came after
        ``mark`` (another trace number) and is for this amount, it is this authorization, because the
        cabinet is the terminal's only ECR and starts nothing else there until this one is settled.
        A status information without a result code counts as approved, as during the payment itself."""
        self._currency_code(currency)
        last = await self.last_transaction()
        if last is None or last.trace_no == mark:
            return None
        if last.amount_cents not in (None, amount_cents):
            log.warning(
                "last transaction %s is for %s cents, not %s: not this sale's",
                last.trace_no,
                last.amount_cents,
                amount_cents,
            )
            return None
        code = last.result_code
        if code in (None, zvt.RESULT_APPROVED):
            return self._result(
                PaymentOutcome.APPROVED,
                zvt.RESULT_APPROVED,
                "approved (the terminal's last transaction)",
                amount_cents,
                currency,
                last,
            )
        return self._result(
            PaymentOutcome.DECLINED,
            code,
            f"declined with result code {code:02x} (the terminal's last transaction)",
            amount_cents,
            currency,
            last,
        )

    def _result(
        self,
        outcome: PaymentOutcome,
        code: int | None,
        message: str,
        amount_cents: int,
        currency: str,
        status: BmpFields | None = None,
    ) -> PaymentResult:
        status = status or BmpFields()
        paid_by = card_info(status)
        return PaymentResult(
            outcome,
            status.amount_cents or amount_cents,
            currency,
            self.method,
            result_code=code,
            receipt_no=status.receipt_no,
            trace_no=status.trace_no,
            message=message,
            method_detail=paid_by.entry,
            card=paid_by.card,
        )

    async def _transaction(
        self, link: ZvtLink, command: zvt.Apdu, amount_cents: int, currency: str, on_status: StatusCallback | None
    ) -> PaymentResult:
        """Run one payment command to its end: 06 0F completion or 06 1E abort.

        DeviceFault escapes only while the terminal has not yet taken the
        command (no 80 00 00 and no message of the transaction). After that
        every ending is a PaymentResult. When ``auth_timeout`` passes the
        cabinet sends 06 B0 and allows the terminal ``reply_timeout`` more.
        A transaction cut short after an approving status information (04 0F,
        result 00) is APPROVED: the money has moved, so the cabinet must
        either hand out the product or reverse the payment.
        """
        status: BmpFields | None = None

        def result(outcome: PaymentOutcome, code: int | None, message: str) -> PaymentResult:
            return self._result(outcome, code, message, amount_cents, currency, status)

        def unfinished(outcome: PaymentOutcome, message: str) -> PaymentResult:
            if status is not None and status.result_code == zvt.RESULT_APPROVED:
                return result(PaymentOutcome.APPROVED, zvt.RESULT_APPROVED, f"approved; then {message}")
            return result(outcome, None, message)

        link.drain()
        await link.send(command)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.reply_timeout
        accepted = gave_up = False
        try:
            while True:
                message = await link.receive(deadline - loop.time())
                if message is None:
                    if not accepted:
                        raise DeviceFault(self.name, f"no answer to {command} within {self.reply_timeout:g} s")
                    if gave_up:
                        return unfinished(PaymentOutcome.TIMED_OUT, "terminal did not confirm the abort")
                    gave_up, self._cancel_requested = True, False
                    deadline = loop.time() + self.reply_timeout
                    await link.send(zvt.ecr_abort())
                    continue
                if message.cls == zvt.NEGATIVE_CLASS and not accepted:
                    return result(PaymentOutcome.FAULT, message.instr, f"terminal refused {command}")
                if not accepted:
                    # 80 00 00, or a transaction message whose 80 00 00 was lost on the line.
                    accepted = True
                    deadline = loop.time() + self.auth_timeout
                if message.command == zvt.ACKNOWLEDGE or message.cls == zvt.NEGATIVE_CLASS:
                    continue  # the answer to our 06 B0, or a repeat
                if message.command not in _PT_MESSAGES:
                    await link.send(zvt.negative(zvt.RESULT_FUNCTION_NOT_POSSIBLE))
                    continue
                await link.send(zvt.acknowledge())
                if message.command == zvt.INTERMEDIATE_STATUS:
                    self._report(on_status, zvt.intermediate_status_code(message))
                elif message.command == zvt.STATUS_INFORMATION:
                    status = self._read_status(message) or status
                elif message.command == zvt.COMPLETION:
                    code = status.result_code if status is not None else None
                    if code in (None, zvt.RESULT_APPROVED):
                        return result(PaymentOutcome.APPROVED, zvt.RESULT_APPROVED, "approved")
                    return result(PaymentOutcome.DECLINED, code, f"declined with result code {code:02x}")
                elif message.command == zvt.ABORT:
                    code = zvt.abort_result_code(message)
                    if code != zvt.RESULT_ABORTED:
                        return result(PaymentOutcome.DECLINED, code, f"aborted with result code {code:02x}")
                    if gave_up:
                        return result(PaymentOutcome.TIMED_OUT, code, "no answer in time; aborted")
                    if self._cancel_requested:
                        return result(PaymentOutcome.CANCELLED, code, "cancelled")
                    return result(PaymentOutcome.TIMED_OUT, code, "timed out at the terminal")
        except ProtocolError as exc:
            return unfinished(PaymentOutcome.FAULT, f"unreadable terminal message: {exc}")
        except DeviceFault as fault:
            if not accepted:
                raise
            return unfinished(PaymentOutcome.FAULT, f"link lost during the transaction: {fault.detail}")

    @staticmethod
    def _report(on_status: StatusCallback | None, code: int) -> None:
        if on_status is None:
            return
        try:
            on_status(status_for(code))
        except Exception:  # the screen's problem must not break the payment
            log.exception("status callback failed")

    @staticmethod
    def _read_status(message: zvt.Apdu) -> BmpFields | None:
        try:
            return zvt.command_bmps(message)
        except ProtocolError as exc:
            log.warning("status information unreadable, waiting for the end: %s", exc)
            return None


# Messages the terminal sends during a transaction that the cabinet accepts with 80 00 00.
_PT_MESSAGES = frozenset(
    {zvt.PRINT_LINE, zvt.PRINT_TEXT_BLOCK, zvt.INTERMEDIATE_STATUS, zvt.STATUS_INFORMATION, zvt.COMPLETION, zvt.ABORT}
)
