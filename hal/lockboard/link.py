"""The Pi's end of the lock board's serial protocol.

One request is outstanding at a time; it is retransmitted unchanged (same
SEQ, so the board answers a duplicate without acting twice) after a timeout
or a NAK for a bad CRC, and any other NAK raises CommandRejected. A reader
task acknowledges the board's unsolicited reports, drops the resends it has
already seen and keeps the relay and input states; a heartbeat task keeps
the board from dropping its relays while the Pi is alive.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import random
from collections.abc import Callable

from hal.device import AsyncDevice
from hal.errors import DeviceFault, ProtocolError
from hal.lockboard.codec import (
    REPORTS,
    BoardStatus,
    BootReport,
    Command,
    Frame,
    FrameDecoder,
    InputReport,
    NakReason,
    RelayReport,
    Report,
    encode_frame,
    parse_report,
    parse_unlock_ack,
    unlock_payload,
)
from hal.serial_link import SerialLink
from hal.tasks import cancel_and_wait

log = logging.getLogger(__name__)

BAUDRATE = 115200
_RECENT_REPORTS = 32  # remembered to recognise the board's resends


class CommandRejected(Exception):
    """The board answered a command with NAK for a reason other than a damaged frame."""

    def __init__(self, command: Command, reason: int) -> None:
        try:
            why = NakReason(reason).name
        except ValueError:
            why = f"reason {reason}"
        super().__init__(f"lock board rejected {command.name}: {why}")
        self.command = command
        self.reason = reason


class LockBoardLink(AsyncDevice):
    def __init__(
        self,
        serial: SerialLink,
        *,
        ack_timeout: float = 0.3,
        attempts: int = 3,
        heartbeat_interval: float = 1.0,
        open_timeout: float = 5.0,
    ) -> None:
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self.serial = serial
        self.name = serial.device
        self.ack_timeout = ack_timeout
        self.attempts = attempts
        self.heartbeat_interval = heartbeat_interval
        self.open_timeout = open_timeout
        self.board: BoardStatus | None = None  # the last status read
        self._relays: dict[int, bool] = {}
        self._inputs: dict[str, bool] = {}
        self._decoder = FrameDecoder()
        self._seq = 0
        self._request_lock = asyncio.Lock()
        self._write_lock = asyncio.Lock()
        self._waiting: tuple[int, asyncio.Future[Frame]] | None = None
        self._recent: collections.deque[tuple[int, int, bytes]] = collections.deque(maxlen=_RECENT_REPORTS)
        self._subscribers: list[Callable[[Report], None]] = []
        self._ready = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._background: set[asyncio.Task[None]] = set()
        self._fault: DeviceFault | None = None

    @property
    def device(self) -> str:
        return self.serial.device

    @property
    def where(self) -> str:
        return self.serial.port

    @property
    def state(self) -> str:
        if not self.serial.is_open:
            return "closed"
        return "open, board v" + ".".join(map(str, self.board.version)) if self.board is not None else "open"

    # -- lifecycle --------------------------------------------------------------

    async def open(self) -> None:
        """Open the port, read the board's status and start the reader and heartbeat."""
        await self.serial.open()
        self._decoder.clear()
        self._fault = None
        # A fresh start point, so a restarted Pi does not reuse the SEQ of its last frame.
        self._seq = random.randrange(256)
        self._tasks.append(asyncio.create_task(self._read_loop(), name="lockboard-reader"))
        self._ready.set()
        try:
            await self.read_status()
        except BaseException:
            await self.close()
            raise
        self._tasks.append(asyncio.create_task(self._heartbeat_loop(), name="lockboard-heartbeat"))

    async def close(self) -> None:
        self._ready.clear()
        for task in [*self._tasks, *self._background]:
            await cancel_and_wait(task)
        self._tasks.clear()
        self.serial.close()

    # -- state ------------------------------------------------------------------

    def relay_energized(self, relay: int) -> bool:
        return self._relays.get(relay, False)

    def input_open(self, name: str) -> bool:
        """The contact's last reported state; False (closed) until the board has told."""
        return self._inputs.get(name, False)

    def subscribe(self, callback: Callable[[Report], None]) -> None:
        """Call ``callback(report)`` for every report, after the state above is updated."""
        self._subscribers.append(callback)

    # -- commands ---------------------------------------------------------------

    async def unlock(self, lock: int, ms: int) -> int:
        """Energize ``lock`` for ``ms``; returns the time the board granted (cut to its maximum)."""
        answer = await self.request(Command.UNLOCK, unlock_payload(lock, ms))
        index, granted = parse_unlock_ack(answer)
        if index != lock:
            raise ProtocolError(f"UNLOCK of lock {lock} acknowledged for lock {index}", data=answer)
        return granted

    async def lock(self, lock: int) -> None:
        await self.request(Command.LOCK, bytes([lock]))

    async def read_status(self) -> BoardStatus:
        status = BoardStatus.from_payload(await self.request(Command.STATUS))
        self._apply_status(status)
        return status

    async def heartbeat(self) -> None:
        await self.request(Command.HEARTBEAT)

    async def request(self, command: Command, payload: bytes = b"") -> bytes:
        """Send a command and return the payload of its ACK."""
        if self._fault is not None:
            raise self._fault
        try:
            async with asyncio.timeout(self.open_timeout):
                await self._ready.wait()
        except TimeoutError:
            raise DeviceFault(
                self.device, f"{command.name}: the lock board link on {self.serial.port} is not open"
            ) from None
        async with self._request_lock:
            seq, self._seq = self._seq, (self._seq + 1) & 0xFF
            frame = encode_frame(seq, command, payload)
            for attempt in range(1, self.attempts + 1):
                answer: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()
                self._waiting = (seq, answer)
                try:
                    await self._write(frame)
                    # asyncio.timeout, not wait_for: wait_for may swallow a cancellation
                    # that races with the answer (Python 3.11), and close() would hang.
                    async with asyncio.timeout(self.ack_timeout):
                        reply = await answer
                except TimeoutError:
                    log.warning(
                        "lockboard: no answer to %s seq %d (attempt %d/%d)", command.name, seq, attempt, self.attempts
                    )
                    continue
                finally:
                    self._waiting = None
                if reply.command == Command.ACK:
                    return reply.payload
                reason = reply.payload[0] if reply.payload else 0
                if reason != NakReason.BAD_CRC:
                    raise CommandRejected(command, reason)
                log.warning("lockboard: %s seq %d arrived damaged, resending", command.name, seq)
            raise DeviceFault(
                self.device,
                f"lock board did not acknowledge {command.name} after {self.attempts} attempts on {self.serial.port}",
            )

    # -- the reader -------------------------------------------------------------

    async def _write(self, data: bytes) -> None:
        async with self._write_lock:
            await self.serial.write(data)

    async def _read_loop(self) -> None:
        while True:
            try:
                data = await self.serial.read_some(1.0)
            except DeviceFault as exc:
                log.error("lockboard: %s", exc)
                self._fault = exc
                if self._waiting is not None and not self._waiting[1].done():
                    self._waiting[1].set_exception(exc)
                return
            self._decoder.feed(data)
            while True:
                try:
                    frame = self._decoder.next_frame()
                except ProtocolError as exc:
                    log.warning("lockboard: %s", exc)
                    continue
                if frame is None:
                    break
                await self._dispatch(frame)

    async def _dispatch(self, frame: Frame) -> None:
        if frame.command in (Command.ACK, Command.NAK):
            waiting = self._waiting
            if waiting is not None and waiting[0] == frame.seq and not waiting[1].done():
                waiting[1].set_result(frame)
            else:
                log.debug("lockboard: stale answer seq %d", frame.seq)
            return
        if frame.command not in REPORTS:
            log.warning("lockboard: unexpected command %02X from the board", frame.command)
            return
        await self._write(encode_frame(frame.seq, Command.ACK))
        key = (frame.seq, frame.command, frame.payload)
        if key in self._recent:
            return  # a resend whose ACK the board missed
        if frame.command == Command.REPORT_BOOT:
            self._recent.clear()  # the board's SEQs start over
        self._recent.append(key)
        try:
            report = parse_report(frame)
        except ProtocolError as exc:
            log.warning("lockboard: %s", exc)
            return
        self._apply_report(report)

    def _apply_report(self, report: Report) -> None:
        if isinstance(report, InputReport):
            self._inputs[report.input] = report.open
        elif isinstance(report, RelayReport):
            self._relays[report.relay] = report.energized
        elif isinstance(report, BootReport):
            # The board restarted: its relays are off and its SEQs start over.
            log.warning(
                "lockboard: board restarted (%s), firmware %s",
                report.reset_cause.name,
                ".".join(map(str, report.version)),
            )
            self._relays.clear()
            refresh = asyncio.get_running_loop().create_task(self._refresh_after_boot())
            self._background.add(refresh)
            refresh.add_done_callback(self._background.discard)
        self._notify(report)

    async def _refresh_after_boot(self) -> None:
        try:
            await self.read_status()
        except (DeviceFault, ProtocolError, CommandRejected) as exc:
            log.warning("lockboard: status after restart: %s", exc)

    def _apply_status(self, status: BoardStatus) -> None:
        first = self.board is None
        self.board = status
        self._relays = dict(enumerate(status.relays))
        changed = {name: is_open for name, is_open in status.inputs.items() if self._inputs.get(name) != is_open}
        self._inputs.update(status.inputs)
        if not first:
            # Changes the board reported while nobody listened (across a restart).
            for name, is_open in changed.items():
                self._notify(InputReport(name, is_open, status.uptime_ms))

    def _notify(self, report: Report) -> None:
        for callback in list(self._subscribers):
            try:
                callback(report)
            except Exception:
                log.exception("lockboard: report subscriber failed")

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_interval)
            try:
                await self.heartbeat()
            except (DeviceFault, ProtocolError, CommandRejected) as exc:
                log.warning("lockboard: heartbeat: %s", exc)
