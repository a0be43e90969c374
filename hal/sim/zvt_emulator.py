"""A ZVT payment terminal (PT side) on a pseudo-terminal, for tests, benches and `--sim`.

It speaks the wire protocol byte for byte: ACKs good frames and NAKs bad ones,
retransmits its own frames, answers registration, status enquiry,
authorization, reversal, repeat receipt (the last transaction's status
information) and the ECR's abort. An authorization stops at
"present card" until the bench acts for the shopper: ``approve()``,
``decline()`` or ``time_out()`` (or ``auto_approve`` does). Fault knobs
simulate a bad line or a dead terminal.

The driver opens ``emulator.port``: a symlink that stays the same across
``unplug()``/``replug()``, like a udev by-id link, while the PTY behind it is
replaced.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import datetime
import json
import logging
import os
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import ClassVar

from hal.errors import DeviceFault, ProtocolError
from hal.sim.pty_link import PluggablePty, PtyLink
from hal.zvt import apdu as zvt
from hal.zvt import card_info
from hal.zvt.bcd import decode_bcd, encode_bcd, encode_var_length
from hal.zvt.bmp import BmpFields, encode_bmps, parse_bmps
from hal.zvt.framing import DLE, STX
from hal.zvt.link import ZvtLink

log = logging.getLogger(__name__)

# Intermediate status codes the emulator shows (04 FF).
STATUS_INSERT_CARD = 0x0A
STATUS_WATCH_PIN_PAD = 0x01
STATUS_PLEASE_WAIT = 0x17
CARD_TYPE_GIROCARD = 0x05
# How a shopper may pay: the card technology, ZVT card type (8A), card name (8B), application name (60/44).
CARDS = {
    card_info.CHIP: (card_info.CHIP, CARD_TYPE_GIROCARD, "girocard", "girocard"),
    card_info.CONTACTLESS: (card_info.CONTACTLESS, 0x06, "MASTERCARD", "Debit Mastercard"),
    card_info.WALLET: (card_info.WALLET, 0x0A, "VISA", "Apple Pay"),
}
SOFTWARE_VERSION = "SIM-ZVT 1.0"
KEPT_PAYMENTS = 1000  # approved payments the terminal remembers (for reversals and its journal)


@dataclass(frozen=True)
class ApprovedPayment:
    receipt_no: str
    trace_no: str
    amount_cents: int
    currency: int
    decided_at: float  # event-loop time the bank's approval was decided, for latency benches


@dataclass(frozen=True)
class Transaction:
    """The terminal's last transaction (payment or reversal), as Repeat Receipt reports it."""

    result_code: int
    amount_cents: int
    trace_no: str
    receipt_no: str | None  # none for a declined payment
    card: str = "chip"  # how the shopper paid (CARDS)


@dataclass(frozen=True)
class _ShopperAction:
    kind: str  # "approve", "decline", "time_out"
    result_code: int = zvt.RESULT_APPROVED
    pin: bool = False
    card: str = "chip"


class _Abandoned(Exception):
    """The ECR stopped answering in the middle of an exchange."""


class _FaultyPort:
    """The emulator's end of the line, with the fault knobs between it and the PTY."""

    def __init__(self, pty: PtyLink, emulator: ZvtEmulator) -> None:
        self._pty = pty
        self._emulator = emulator

    def _damage(self, data: bytes) -> bytes:
        fraction = self._emulator.drop_fraction
        if fraction <= 0:
            return data
        rng = self._emulator.rng
        return bytes(byte for byte in data if rng.random() >= fraction)

    async def read_some(self, timeout: float) -> bytes:
        data = await self._pty.read_some(timeout)
        if self._emulator.silent:
            return b""
        return self._damage(data)

    async def write(self, data: bytes) -> None:
        if self._emulator.silent:
            return
        if data[:2] == bytes([DLE, STX]):
            data = self._emulator.line_noise + data
        await self._pty.write(self._damage(data))


class ZvtEmulator:
    def __init__(
        self,
        *,
        password: str = "000000",
        terminal_id: str = "29001234",
        currency: int = 978,  # ISO 4217 numeric: the one currency this terminal is set up for
        ack_timeout: float = 5.0,
        reply_timeout: float = 5.0,
        tries: int = 3,
        auto_approve: float | None = None,
        seed: int | None = None,
        journal: str | None = None,
    ) -> None:
        self.password = password
        self.terminal_id = terminal_id
        self.currency = currency
        self.ack_timeout = ack_timeout
        self.reply_timeout = reply_timeout  # how long the PT waits for the ECR's 80 00 00
        self.tries = tries
        # Automation and fault knobs, changeable at any time.
        self.auto_approve = auto_approve  # seconds after "present card", None = wait for a command
        self.presented = card_info.CHIP  # how shoppers pay when a test does not say (one of CARDS)
        self.answer_delay = 0.0  # seconds before each frame the PT sends
        self.drop_fraction = 0.0  # fraction of bytes lost on the line, both ways
        self.line_noise = b""  # garbage sent before each frame
        self.silent = False  # neither hears nor says anything
        self.refuse_reversals = False  # the host refuses every reversal (06 1E "not possible")
        self.rng = random.Random(seed)
        # What the terminal has done.
        self.registered = False
        # The latest payments, as a terminal's own journal keeps a bounded number (a cabinet sells all day).
        self.approved: list[ApprovedPayment] = []
        self.reversed: set[str] = set()
        self.last: Transaction | None = None
        self.received: collections.deque[zvt.Apdu] = collections.deque(maxlen=1000)
        self.card_prompted = asyncio.Event()  # set while an authorization waits for the shopper
        self._trace = 0
        self._receipt = 0
        # A real terminal keeps its journal through a power cut: with a path, so does the emulator
        # (numbers, approvals and reversals), so the cabinet can reverse a sale after a restart.
        self.journal = journal
        self._load_journal()
        self._pty = PluggablePty("ttyZVT")  # a stable path; the PTY behind it changes on replug
        self.port = self._pty.port
        self._link: ZvtLink | None = None
        self._serve_task: asyncio.Task[None] | None = None
        self._txn_task: asyncio.Task[None] | None = None
        self._txn_command: zvt.Apdu | None = None
        self._replies: asyncio.Queue[zvt.Apdu] = asyncio.Queue()
        self._actions: asyncio.Queue[_ShopperAction] = asyncio.Queue()
        self._ecr_abort = asyncio.Event()

    # --- lifecycle -----------------------------------------------------------------

    async def start(self) -> None:
        self._link = ZvtLink(
            _FaultyPort(self._pty.plug(), self), "zvt-emulator", ack_timeout=self.ack_timeout, tries=self.tries
        )
        self._link.start()
        self._serve_task = asyncio.get_running_loop().create_task(self._serve(), name="zvt-emulator")

    async def _shutdown(self) -> None:
        for task in (self._txn_task, self._serve_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._txn_task = self._serve_task = None
        if self._link is not None:
            await self._link.stop()
            self._link = None
        self._pty.unplug()
        self.card_prompted.clear()

    async def stop(self) -> None:
        await self._shutdown()
        self._pty.close()

    async def unplug(self) -> None:
        """The cable is pulled: the PTY closes and the port path disappears."""
        await self._shutdown()

    async def replug(self) -> None:
        """Plugged back in: a fresh PTY behind the same port path. The terminal forgets the ECR."""
        self.registered = False
        await self.start()

    # --- shopper and bench actions ------------------------------------------------------

    def approve(self, *, pin: bool = False, card: str | None = None) -> None:
        """The shopper presents a card (and enters a PIN if ``pin``); the bank approves. ``card``: how they
        pay, one of CARDS (chip, contactless, wallet); ``presented`` when not given."""
        card = card or self.presented
        if card not in CARDS:
            raise ValueError(f"card must be one of {', '.join(CARDS)}, not {card!r}")
        self._actions.put_nowait(_ShopperAction("approve", pin=pin, card=card))

    def decline(self, result_code: int = 0x05) -> None:
        """The shopper presents a card and the bank declines with ``result_code``."""
        if result_code in (zvt.RESULT_APPROVED, zvt.RESULT_ABORTED):
            raise ValueError(f"result code {result_code:02x} is not a decline")
        self._actions.put_nowait(_ShopperAction("decline", result_code=result_code))

    def time_out(self) -> None:
        """Nobody presents a card: the terminal gives up with 06 1E 6C."""
        self._actions.put_nowait(_ShopperAction("time_out", result_code=zvt.RESULT_ABORTED))

    def nak_next(self, count: int) -> None:
        """NAK the next ``count`` good frames from the ECR."""
        if self._link is None:
            raise RuntimeError("emulator is not running")
        self._link.reject_next = count

    async def wait_for_card_prompt(self, timeout: float = 5.0) -> None:
        await asyncio.wait_for(self.card_prompted.wait(), timeout)

    # --- protocol ------------------------------------------------------------------------

    async def _send(self, message: zvt.Apdu) -> None:
        assert self._link is not None
        if self.answer_delay > 0:
            await asyncio.sleep(self.answer_delay)
        await self._link.send(message)

    async def _exchange(self, message: zvt.Apdu) -> None:
        """Send a PT message and wait for the ECR's 80 00 00."""
        try:
            await self._send(message)
        except DeviceFault as fault:
            # Only the ACKs may have been lost: the ECR's answer still proves the message arrived.
            log.info("emulator: %s; waiting for an answer anyway", fault)
        try:
            reply = await asyncio.wait_for(self._replies.get(), self.reply_timeout)
        except TimeoutError:
            raise _Abandoned(f"no answer to {message}") from None
        if reply.command != zvt.ACKNOWLEDGE:
            raise _Abandoned(f"ECR answered {message} with {reply}")

    async def _serve(self) -> None:
        assert self._link is not None
        while True:
            message = await self._link.receive(None)
            assert message is not None
            self.received.append(message)
            await self._dispatch(message)

    async def _dispatch(self, message: zvt.Apdu) -> None:
        busy = self._txn_task is not None and not self._txn_task.done()
        if message.command == zvt.ACKNOWLEDGE or message.cls == zvt.NEGATIVE_CLASS:
            if busy:
                self._replies.put_nowait(message)
        elif message.command == zvt.ECR_ABORT:
            if busy and self._txn_command is not None and self._txn_command.command == zvt.AUTHORIZATION:
                await self._send(zvt.acknowledge())
                self._ecr_abort.set()
            else:
                await self._send(zvt.negative(zvt.RESULT_FUNCTION_NOT_POSSIBLE))
        elif busy:
            if message != self._txn_command:  # an identical one is a retransmission
                await self._send(zvt.negative(zvt.RESULT_BUSY))
        elif message.command in self._handlers:
            self._txn_command = message
            self._replies = asyncio.Queue()
            self._ecr_abort.clear()
            self._txn_task = asyncio.get_running_loop().create_task(self._run(message))
        else:
            await self._send(zvt.negative(zvt.RESULT_FUNCTION_NOT_POSSIBLE))

    async def _run(self, command: zvt.Apdu) -> None:
        try:
            await self._handlers[command.command](self, command)
        except ProtocolError as exc:
            log.info("emulator refuses %s: %s", command, exc)
            await self._send(zvt.negative(zvt.RESULT_PROTOCOL_ERROR))
        except (_Abandoned, DeviceFault) as exc:  # DeviceFault: a plain reply found no ACK
            log.info("emulator abandons %s: %s", command, exc)
        finally:
            self.card_prompted.clear()
            while not self._actions.empty():  # an action is for this transaction only
                self._actions.get_nowait()

    async def _checked_password(self, command: zvt.Apdu) -> zvt.PasswordCommand | None:
        parts = zvt.split_password(command)
        if parts.password != self.password:
            await self._send(zvt.negative(zvt.RESULT_FUNCTION_NOT_POSSIBLE))
            return None
        return parts

    async def _registration(self, command: zvt.Apdu) -> None:
        parts = await self._checked_password(command)
        if parts is None:
            return
        if len(parts.rest) < 1:
            raise ProtocolError("registration without config byte", offset=parts.rest_offset)
        if len(parts.rest) >= 3 and int(decode_bcd(parts.rest[1:3], parts.rest_offset + 1)) != self.currency:
            await self._send(zvt.negative(zvt.RESULT_WRONG_CURRENCY))
            return
        await self._send(zvt.acknowledge())
        info = BmpFields(terminal_id=self.terminal_id, currency=self.currency, others={0x19: b"\x00"})
        await self._exchange(zvt.Apdu(*zvt.COMPLETION, encode_bmps(info)))
        self.registered = True

    async def _status_enquiry(self, command: zvt.Apdu) -> None:
        if await self._checked_password(command) is None:
            return
        await self._send(zvt.acknowledge())
        version = SOFTWARE_VERSION.encode("ascii")
        await self._exchange(zvt.Apdu(*zvt.COMPLETION, encode_var_length(len(version), 3) + version + b"\x00"))

    def _load_journal(self) -> None:
        if self.journal is None or not os.path.exists(self.journal):
            return
        with open(self.journal) as fh:
            state = json.load(fh)
        self._trace, self._receipt = state["trace"], state["receipt"]
        self.approved = [ApprovedPayment(**p) for p in state["approved"]]
        self.reversed = set(state["reversed"])
        self.last = Transaction(**state["last"]) if state.get("last") else None

    def _save_journal(self) -> None:
        if self.journal is None:
            return
        partial = self.journal + ".part"
        with open(partial, "w") as fh:
            json.dump(
                {
                    "trace": self._trace,
                    "receipt": self._receipt,
                    "reversed": sorted(self.reversed),
                    "approved": [dataclasses.asdict(p) for p in self.approved],
                    "last": dataclasses.asdict(self.last) if self.last else None,
                },
                fh,
            )
        os.replace(partial, self.journal)

    def _next_numbers(self) -> tuple[str, str]:
        self._trace = self._trace % 999999 + 1
        self._receipt = self._receipt % 9999 + 1
        return f"{self._trace:06d}", f"{self._receipt:04d}"

    def _status_information(
        self, result_code: int, amount_cents: int, trace_no: str, receipt_no: str | None, card: str = "chip"
    ) -> zvt.Apdu:
        now = datetime.datetime.now()
        others = {0x0C: encode_bcd(now.strftime("%H%M%S"), 3), 0x0D: encode_bcd(now.strftime("%m%d"), 2)}
        tlv = None
        if result_code == zvt.RESULT_APPROVED:
            card_bmps, tlv = card_info.status_fields(*CARDS[card])
            others |= card_bmps
        info = BmpFields(
            tlv=tlv,
            amount_cents=amount_cents,
            trace_no=trace_no,
            result_code=result_code,
            terminal_id=self.terminal_id,
            currency=self.currency,
            receipt_no=receipt_no,
            others=others,
        )
        return zvt.Apdu(*zvt.STATUS_INFORMATION, encode_bmps(info))

    async def _intermediate(self, code: int) -> None:
        await self._exchange(zvt.Apdu(*zvt.INTERMEDIATE_STATUS, bytes([code, 0x00])))

    async def _shopper(self) -> _ShopperAction | None:
        """The shopper's action, or None when the ECR aborts first."""
        waits = {asyncio.ensure_future(self._actions.get()), asyncio.ensure_future(self._ecr_abort.wait())}
        try:
            done, _ = await asyncio.wait(waits, timeout=self.auto_approve, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in waits:
                task.cancel()
        if not done:
            return _ShopperAction("approve", card=self.presented)  # auto_approve delay passed
        result = done.pop().result()
        if isinstance(result, _ShopperAction) and not self._ecr_abort.is_set():
            return result
        return None

    async def _authorization(self, command: zvt.Apdu) -> None:
        fields = zvt.command_bmps(command)
        if fields.amount_cents is None:
            raise ProtocolError("authorization without amount (BMP 04)", offset=3)
        if fields.currency not in (None, self.currency):
            await self._send(zvt.negative(zvt.RESULT_WRONG_CURRENCY))
            return
        amount = fields.amount_cents
        await self._send(zvt.acknowledge())
        await self._intermediate(STATUS_INSERT_CARD)
        self.card_prompted.set()
        action = await self._shopper()
        decided_at = asyncio.get_running_loop().time()
        self.card_prompted.clear()
        if action is None or action.kind == "time_out":
            await self._exchange(zvt.Apdu(*zvt.ABORT, bytes([zvt.RESULT_ABORTED])))
            return
        if action.pin:
            await self._intermediate(STATUS_WATCH_PIN_PAD)
        await self._intermediate(STATUS_PLEASE_WAIT)
        trace_no, receipt_no = self._next_numbers()
        if action.kind == "decline":
            self.last = Transaction(action.result_code, amount, trace_no, None)
            self._save_journal()
            await self._exchange(self._status_information(action.result_code, amount, trace_no, None))
            await self._exchange(zvt.Apdu(*zvt.ABORT, bytes([action.result_code])))
            return
        await self._exchange(self._status_information(zvt.RESULT_APPROVED, amount, trace_no, receipt_no, action.card))
        self.approved.append(ApprovedPayment(receipt_no, trace_no, amount, self.currency, decided_at))
        del self.approved[:-KEPT_PAYMENTS]
        self.last = Transaction(zvt.RESULT_APPROVED, amount, trace_no, receipt_no, action.card)
        self._save_journal()
        await self._exchange(zvt.Apdu(*zvt.COMPLETION))

    async def _reversal(self, command: zvt.Apdu) -> None:
        parts = await self._checked_password(command)
        if parts is None:
            return
        receipt_no = parse_bmps(parts.rest, parts.rest_offset).receipt_no
        if receipt_no is None:
            raise ProtocolError("reversal without receipt number (BMP 87)", offset=parts.rest_offset)
        await self._send(zvt.acknowledge())
        original = next((p for p in self.approved if p.receipt_no == receipt_no), None)
        if original is None or receipt_no in self.reversed or self.refuse_reversals:
            code = (
                zvt.RESULT_ALREADY_REVERSED
                if original and receipt_no in self.reversed
                else zvt.RESULT_REVERSAL_NOT_POSSIBLE
            )
            await self._exchange(zvt.Apdu(*zvt.ABORT, bytes([code])))
            return
        await self._intermediate(STATUS_PLEASE_WAIT)
        trace_no, new_receipt = self._next_numbers()
        self.reversed.add(receipt_no)
        self.last = Transaction(zvt.RESULT_APPROVED, original.amount_cents, trace_no, new_receipt)
        self._save_journal()
        await self._exchange(
            self._status_information(zvt.RESULT_APPROVED, original.amount_cents, trace_no, new_receipt)
        )
        await self._exchange(zvt.Apdu(*zvt.COMPLETION))

    async def _repeat_receipt(self, command: zvt.Apdu) -> None:
        """The last transaction again: its status information if the service byte asks for it (nothing
        is printed here either way); 06 1E 83 when there is none."""
        parts = await self._checked_password(command)
        if parts is None:
            return
        service = parse_bmps(parts.rest, parts.rest_offset).others.get(zvt.SERVICE_BYTE, b"\x00")[0]
        await self._send(zvt.acknowledge())
        last = self.last
        if last is None:
            await self._exchange(zvt.Apdu(*zvt.ABORT, bytes([zvt.RESULT_FUNCTION_NOT_POSSIBLE])))
            return
        if service & zvt.REPEAT_STATUS_INFORMATION:
            await self._exchange(
                self._status_information(last.result_code, last.amount_cents, last.trace_no, last.receipt_no, last.card)
            )
        await self._exchange(zvt.Apdu(*zvt.COMPLETION))

    _handlers: ClassVar[dict[tuple[int, int], Callable[[ZvtEmulator, zvt.Apdu], Awaitable[None]]]] = {
        zvt.REGISTRATION: _registration,
        zvt.STATUS_ENQUIRY: _status_enquiry,
        zvt.AUTHORIZATION: _authorization,
        zvt.REVERSAL: _reversal,
        zvt.REPEAT_RECEIPT: _repeat_receipt,
    }
