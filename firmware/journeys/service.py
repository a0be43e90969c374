"""The technician's service menu: an explicit state machine.

    idle ─technician_card→ menu;  idle ─pin_pad→ pin_entry ─technician_card→ menu
    pin_entry ─check→ pin_checking ─pin_ok→ menu | ─pin_wrong→ pin_entry   (scrypt on a worker thread)
    pin_entry ─cancel | idle→ idle                            (wrong PINs lock the pad, growing delays)
    menu ─selftest→ selftest_running ─selftest_done→ menu
    menu ─lock_test→ lock_test ─lock_test_done→ menu          (one bounded relay pulse, checked released)
    menu ─calibrate→ calibrate ─calibrated | cancel→ menu;  calibrate ─calibration_rejected→ calibrate
    menu ─restart | exit | idle→ idle;  calibrate ─idle→ idle
    idle ─technician_finger→ menu                             (a finger enrolled for a technician)
    menu ─enrol→ enrol ─enrol_done→ menu                      (a staff finger placed twice, stored on the module
                                                               at a free slot; cancel stops it)

Every action is audited in ``service_actions`` in the same transaction as what
it changed, and as a ``service.action`` event once the schema has that type;
entering is an ``auth.attempt`` like the retailer's PIN pad, the lock test a
``door.unlocked``. The last self-test results live in ``selftest_results`` (so
the menu shows them after a reboot) and go up as ``selftest.completed`` once
the schema has it. The calibration's four touches live in ``touch_calibration``.
"""

from __future__ import annotations

import asyncio
import enum
import importlib.metadata
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

from firmware.attempt_guard import AttemptGuard
from firmware.clock import Clock, LoopClock, TimerHandle
from firmware.devices import Devices
from firmware.journeys.machine import later, transition
from firmware.logs import mask_card_uids
from firmware.secret_check import matches_any
from hal.errors import DeviceFault, ProtocolError
from hal.fingerprint_sensor import EnrolStep, FingerprintSensor
from hal.lock import Lock
from kiosk_ui.view import CALIBRATION_INSET, NetworkView
from sync_client.cabinet_config import MAX_FINGERPRINT_SLOT, StaffFingerprint
from sync_client.outbox import Outbox, Transaction
from sync_client.schema import utc_now_iso
from sync_client.store.service_records import ServiceAction, ServiceRecords

log = logging.getLogger(__name__)

# Event types asked of sync_client/schema.py; until it has them the tables (sync_client/store/service_records.py)
# are the record.
ACTION_EVENT, SELFTEST_EVENT = "service.action", "selftest.completed"
LOCK_TEST_S = 1.0  # the test pulse, further bounded by the lock's own maximum
RELEASE_MARGIN_S = 0.5  # how long after the pulse the relay has to have dropped
MIN_AREA_RATIO = 0.25  # touches spanning less than this of the targets' area are not plausible

SelfTest = Callable[[], Awaitable[Sequence[tuple[str, bool, str]]]]


class V(enum.StrEnum):
    IDLE = "idle"
    PIN_ENTRY = "pin_entry"
    PIN_CHECKING = "pin_checking"
    MENU = "menu"
    SELFTEST_RUNNING = "selftest_running"
    LOCK_TEST = "lock_test"
    CALIBRATE = "calibrate"
    ENROL = "enrol"


TRANSITIONS: dict[V, dict[str, V]] = {
    V.IDLE: {"pin_pad": V.PIN_ENTRY, "technician_card": V.MENU, "technician_finger": V.MENU},
    V.PIN_ENTRY: {"check": V.PIN_CHECKING, "technician_card": V.MENU, "cancel": V.IDLE, "idle": V.IDLE},
    V.PIN_CHECKING: {"pin_ok": V.MENU, "pin_wrong": V.PIN_ENTRY},
    V.MENU: {
        "selftest": V.SELFTEST_RUNNING,
        "lock_test": V.LOCK_TEST,
        "calibrate": V.CALIBRATE,
        "enrol": V.ENROL,
        "restart": V.IDLE,
        "exit": V.IDLE,
        "idle": V.IDLE,
    },
    V.SELFTEST_RUNNING: {"selftest_done": V.MENU},
    V.LOCK_TEST: {"lock_test_done": V.MENU},
    V.CALIBRATE: {"calibrated": V.MENU, "calibration_rejected": V.CALIBRATE, "cancel": V.MENU, "idle": V.IDLE},
    V.ENROL: {"enrol_done": V.MENU},
}
# Where a technician who walked away is logged out; a running test finishes first.
IDLE_STATES = frozenset({V.PIN_ENTRY, V.MENU, V.CALIBRATE})


class ServiceRefused(Exception):
    pass


class CalibrationInvalid(ValueError):
    """Four touches that cannot be a calibration; the message names the point and what is wrong."""


@dataclass(frozen=True)
class SelfTestResult:
    device: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Calibration:
    points: tuple[tuple[int, int], ...]  # touched: top-left, top-right, bottom-right, bottom-left
    size: tuple[int, int]  # the touchscreen, px
    calibrated_at: str = ""

    @property
    def targets(self) -> tuple[tuple[int, int], ...]:
        """Where the targets' centres were drawn (as kiosk_ui.screens.calibrate places them)."""
        return calibration_targets(self.size)


def calibration_targets(size: tuple[int, int]) -> tuple[tuple[int, int], ...]:
    width, height = size
    near_x, far_x = round(width * CALIBRATION_INSET), round(width * (1 - CALIBRATION_INSET))
    near_y, far_y = round(height * CALIBRATION_INSET), round(height * (1 - CALIBRATION_INSET))
    return (near_x, near_y), (far_x, near_y), (far_x, far_y), (near_x, far_y)


def parse_calibration(text: str, size: tuple[int, int]) -> tuple[tuple[int, int], ...]:
    """ "x1,y1;x2,y2;x3,y3;x4,y4" (touchscreen px) checked to be a plausible calibration of a screen of
    ``size``: every touch on the screen and in its own corner's quarter, the four a convex quadrilateral
    in target order, covering at least MIN_AREA_RATIO of the targets' rectangle."""
    parts = text.split(";")
    if len(parts) != 4:
        raise CalibrationInvalid(f"expected 4 points x,y separated by ';', got {len(parts)}")
    points = []
    for i, part in enumerate(parts, 1):
        try:
            x_text, y_text = part.split(",")
            x, y = int(x_text), int(y_text)
        except ValueError:
            raise CalibrationInvalid(f"point {i}: expected x,y in whole pixels, got {part[:20]!r}") from None
        points.append((x, y))
    return check_calibration(tuple(points), size)


def check_calibration(points: tuple[tuple[int, int], ...], size: tuple[int, int]) -> tuple[tuple[int, int], ...]:
    """Four touches (touchscreen px, in target order) checked to be a plausible calibration of a screen of
    ``size`` (see parse_calibration); returned as they are, or CalibrationInvalid naming what is wrong."""
    width, height = size
    if len(points) != 4:
        raise CalibrationInvalid(f"expected 4 points, got {len(points)}")
    for i, (x, y) in enumerate(points, 1):
        if not (0 <= x < width and 0 <= y < height):
            raise CalibrationInvalid(f"point {i}: ({x}, {y}) is off the {width}x{height} screen")
    corners = ("top-left", "top-right", "bottom-right", "bottom-left")
    for i, ((x, y), (tx, ty)) in enumerate(zip(points, calibration_targets(size), strict=True)):
        if (x < width / 2) != (tx < width / 2) or (y < height / 2) != (ty < height / 2):
            raise CalibrationInvalid(f"point {i + 1}: ({x}, {y}) is not in the {corners[i]} quarter of the screen")
    # Screen y grows downwards, so going round TL, TR, BR, BL turns clockwise on screen: every cross
    # product is positive. A zero or negative one is a fold, a twist or three touches in a line.
    for i in range(4):
        (ax, ay), (bx, by), (cx, cy) = points[i], points[(i + 1) % 4], points[(i + 2) % 4]
        if (bx - ax) * (cy - by) - (by - ay) * (cx - bx) <= 0:
            raise CalibrationInvalid(
                f"points {i + 1}-{(i + 1) % 4 + 1}-{(i + 2) % 4 + 1} do not turn like "
                "the targets' corners: not a convex quadrilateral"
            )
    area = abs(sum(points[i][0] * points[(i + 1) % 4][1] - points[(i + 1) % 4][0] * points[i][1] for i in range(4))) / 2
    targets = calibration_targets(size)
    target_area = (targets[2][0] - targets[0][0]) * (targets[2][1] - targets[0][1])
    if area < MIN_AREA_RATIO * target_area:
        raise CalibrationInvalid(
            f"the touches span {area:.0f} px², under {MIN_AREA_RATIO:.0%} of the targets' {target_area} px²"
        )
    return tuple(points)


DeviceState = tuple[str, str, str]  # (name, "ok"|"fault", a state key or the fault's words)


@dataclass(frozen=True)
class LiveFacts:
    """What the menu shows first, read live each time (nothing is exercised: the self-test does that)."""

    devices: tuple[DeviceState, ...] = ()
    alarms: tuple[tuple[str, str], ...] = ()  # (name, detail), the open ones
    network: NetworkView = NetworkView()
    version: str = ""


def software_version() -> str:
    try:
        return importlib.metadata.version("smart-cabinet")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def live_devices(devices: Devices, faults: Mapping[str, str]) -> tuple[DeviceState, ...]:
    """Each device's state now: its fault from the device watch, else what its pin or reader says."""

    def state(name: str, ok_detail: str) -> DeviceState:
        return (name, "fault", faults[name]) if name in faults else (name, "ok", ok_detail)

    rows = [
        state("lock", "released" if devices.lock.energized else "locked"),
        state("door", "open" if devices.door.is_open else "closed"),
        *(state(terminal.name, "ready") for terminal in devices.terminals.values()),
        *(
            state(reader.name, "reading")
            for reader in (devices.card_reader, devices.fingerprint, devices.code_reader)
            if reader
        ),
    ]
    if devices.camera is not None:
        rows.append(state(devices.camera.name, "ready"))
    if devices.tamper is not None:
        rows.append(state("tamper", "open" if devices.tamper.is_open else "closed"))
    return tuple(rows)


def open_alarms(faults: Mapping[str, str], door_reminder: str | None, tamper_open: bool) -> tuple[tuple[str, str], ...]:
    """The alarms still open: the casing opened, the door left open, then every named fault."""
    alarms = [("tamper", "open")] if tamper_open else []
    if door_reminder is not None:
        alarms.append(("door", door_reminder))
    return (*alarms, *faults.items())


@dataclass
class ServiceJourney:
    outbox: Outbox
    lock: Lock
    pin_hashes: Callable[[], list[str]]  # the technician PIN hashes in force, at each attempt
    staff_cards: Callable[[], dict[str, str]]  # uid hex (upper case) -> role
    selftest_checks: SelfTest  # runs every device check: [(device, ok, detail)]
    restart_service: Callable[[], None]  # e.g. stop the runtime; systemd starts it again
    screen_size: tuple[int, int] = (1024, 600)  # the touchscreen, px
    fingerprint: FingerprintSensor | None = None  # the staff fingerprint module, when the cabinet has one
    # fingerprint module slot -> whose finger (from the configuration)
    staff_fingerprints: Callable[[], Mapping[int, StaffFingerprint]] = dict
    # a template stored at a slot, recorded in the enrolment's transaction (the slot's time to be named starts)
    on_enrolled: Callable[[Transaction, int], None] = lambda tx, slot: None
    on_change: Callable[[], None] = lambda: None
    lock_test_s: float = LOCK_TEST_S
    selftest_timeout_s: float = 120.0
    state: V = V.IDLE
    who: str | None = None  # "pin" or "card:<uid>"
    message: str | None = None  # "pin_wrong", "pin_locked", "calibration_rejected",
    #                                                  "lock_released", "lock_stuck"
    calibration_error: str | None = None  # why the last calibration was refused
    results: tuple[SelfTestResult, ...] = ()
    selftest_status: str | None = None  # None, "running", "passed", "failed"
    # the enrolment on screen: place, lift, place_again, saving, done, failed (None: none yet)
    enrol_step: str | None = None
    enrol_slot: int | None = None  # where the template goes (is): for the retailer's configuration
    enrol_error: str | None = None  # why it failed, in the module's words
    clock: Clock = field(default_factory=LoopClock)
    _timer: TimerHandle | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _door_opened_at: float | None = None
    _enrol_task: asyncio.Task[tuple[bool, str]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.guard = AttemptGuard(self.outbox, "service_pin", clock=self.clock)
        self.records = ServiceRecords(self.outbox)
        self.results = tuple(SelfTestResult(r.device, r.ok, r.detail) for r in self.records.selftest())
        if self.results:
            self.selftest_status = "passed" if all(r.ok for r in self.results) else "failed"

    def _go(self, trigger: str) -> V:
        return transition(self, TRANSITIONS, trigger, ServiceRefused, "service")

    @property
    def active(self) -> bool:
        return self.state is not V.IDLE

    def devices(self) -> tuple[tuple[str, str, str], ...]:
        """The last self-test, as ServiceScreen.devices: (name, "ok"|"fault", detail)."""
        return tuple((r.device, "ok" if r.ok else "fault", r.detail) for r in self.results)

    def _audit(self, tx: Transaction, action: str, result: str) -> None:
        self.records.add_action(tx, action, result, self.who)
        tx.append(ACTION_EVENT, {"action": action, "result": result, "who": self.who})
        log.info(
            "service action",
            extra={
                "action": action,
                "result": result,  # a card by its last 2 digits
                "who": mask_card_uids(self.who) if self.who else None,
            },
        )

    def actions(self, limit: int = 20) -> list[ServiceAction]:
        """The audit trail, newest first."""
        return self.records.actions(limit)

    # --- getting in ---------------------------------------------------------------
    def open_pin_pad(self) -> None:
        self.message = None
        self._go("pin_pad")

    async def enter_pin(self, pin: str) -> bool:
        """Checked off the event loop; a PIN submitted while one is being checked is refused, never counted."""
        if self.state is not V.PIN_ENTRY:
            raise ServiceRefused(f"the technician PIN pad is not taking a PIN ({self.state.value})")
        if self.guard.locked_for() > 0:
            self.message = "pin_locked"
            self.on_change()
            return False
        self.message = "checking"
        self._go("check")
        ok = await matches_any(pin, self.pin_hashes())
        with self.outbox.transaction() as tx:
            delay = self.guard.record(tx, ok)
            tx.append(
                "auth.attempt",
                {"method": "pin", "purpose": "service", "ok": ok, "failures": self.guard.failures, "locked_s": delay},
            )
            if ok:
                self.who = "pin"
                self._audit(tx, "enter", "pin")
        if not ok:
            self.message = "pin_locked" if delay else "pin_wrong"
            self._go("pin_wrong")
            return False
        self.message = None
        self._go("pin_ok")
        return True

    def pin_lock_remaining(self) -> float:
        return self.guard.locked_for()

    def attempts_left(self) -> int:
        return max(0, self.guard.free_attempts - self.guard.failures)

    def technician_card(self, uid_hex: str) -> bool:
        """A staff card tapped: opens the menu for a technician's card; any other is refused (and audited)."""
        uid = uid_hex.upper()
        role = self.staff_cards().get(uid)
        ok = role == "technician" and self.state in (V.IDLE, V.PIN_ENTRY)
        with self.outbox.transaction() as tx:
            tx.append("auth.attempt", {"method": "card", "purpose": "service", "ok": ok, "uid": uid, "role": role})
            if ok:
                self.who = f"card:{uid}"
                self._audit(tx, "enter", "card")
        if not ok:
            return False
        self.message = None
        self._go("technician_card")
        return True

    def technician_finger(self, slot: int) -> bool:
        """A finger enrolled for a technician opens the menu (audited like a card); any other is refused."""
        staff = self.staff_fingerprints().get(slot)
        ok = staff is not None and staff.role == "technician" and self.state in (V.IDLE, V.PIN_ENTRY)
        with self.outbox.transaction() as tx:
            tx.append(
                "auth.attempt",
                {
                    "method": "fingerprint",
                    "purpose": "service",
                    "ok": ok,
                    "slot": slot,
                    "staff": staff.staff if staff else None,
                    "role": staff.role if staff else None,
                },
            )
            if ok:
                self.who = f"finger:{slot}"
                self._audit(tx, "enter", "fingerprint")
        if not ok:
            return False
        self.message = None
        self._go("technician_finger")
        return True

    def cancel(self) -> None:
        """Cancel on the PIN pad (back to idle), the calibration screen or an enrolment (back to the menu)."""
        if self.state is V.ENROL:
            self._enrol_task.cancel()  # its ending records the cancellation and goes back to the menu
        elif self.state in (V.PIN_ENTRY, V.CALIBRATE):
            self.message, self.calibration_error = None, None
            self._go("cancel")

    # --- the menu -------------------------------------------------------------------
    def run_selftest(self) -> asyncio.Task[None]:
        """Start the device checks; the menu comes back with their results. Returns the running task."""
        if self.state is not V.MENU:
            raise ServiceRefused(f"the self-test runs from the service menu, not {self.state.value}")
        self.message, self.selftest_status = None, "running"
        self._go("selftest")
        task = asyncio.get_running_loop().create_task(self._selftest())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _selftest(self) -> None:
        await self._checked_and_recorded(self.selftest_checks)
        self._go("selftest_done")

    def remote_selftest(self, command_id: str, checks: SelfTest) -> asyncio.Task[None]:
        """The cloud's self-test command, run with ``checks`` in the background while the cabinet is idle (the
        command's handler makes sure): recorded like the menu's, ``selftest.completed`` naming the command."""
        task = asyncio.get_running_loop().create_task(self._checked_and_recorded(checks, command_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _checked_and_recorded(self, checks: SelfTest, command_id: str | None = None) -> None:
        try:
            raw = await self.clock.wait_for(checks(), self.selftest_timeout_s)
            results = tuple(SelfTestResult(device, bool(ok), detail) for device, ok, detail in raw)
        except TimeoutError:
            results = (SelfTestResult("selftest", False, f"did not finish within {self.selftest_timeout_s:g} s"),)
        except Exception as exc:  # a broken check must not leave the menu stuck on "running"
            log.exception("self-test failed to run")
            results = (SelfTestResult("selftest", False, f"could not run: {exc}"),)
        passed = bool(results) and all(r.ok for r in results)
        run_at = utc_now_iso()
        payload: dict[str, object] = {
            "passed": passed,
            "results": [{"device": r.device, "ok": r.ok, "detail": r.detail} for r in results],
        }
        if command_id is not None:
            payload["command_id"] = command_id
        with self.outbox.transaction() as tx:
            self.records.replace_selftest(tx, [(r.device, r.ok, r.detail) for r in results], run_at)
            tx.append(SELFTEST_EVENT, payload)
            self._audit(
                tx, "selftest", "passed" if passed else "failed: " + ", ".join(r.device for r in results if not r.ok)
            )
        self.results, self.selftest_status = results, "passed" if passed else "failed"

    def lock_test(self) -> float:
        """Pulse the relay once, bounded; afterwards check it dropped. Returns the pulse used (s)."""
        if self.state is not V.MENU:
            raise ServiceRefused(f"the lock test runs from the service menu, not {self.state.value}")
        pulse = self.lock.unlock(self.lock_test_s)
        with self.outbox.transaction() as tx:
            tx.append("door.unlocked", {"reason": "lock_test", "seconds": pulse, "who": self.who})
            self._audit(tx, "lock_test", f"pulsed {pulse:g} s")
        self.message = None
        self._go("lock_test")
        later(self, pulse + RELEASE_MARGIN_S, self._lock_test_over)
        return pulse

    def _lock_test_over(self) -> None:
        if self.state is not V.LOCK_TEST:
            return
        stuck = self.lock.energized
        if stuck:
            self.lock.lock()  # belt and braces: the technician is told, the latch is dropped anyway
        with self.outbox.transaction() as tx:
            self._audit(tx, "lock_test", "relay stuck on" if stuck else "released")
        self.message = "lock_stuck" if stuck else "lock_released"
        self._go("lock_test_done")

    def open_calibration(self) -> None:
        self.message, self.calibration_error = None, None
        self._go("calibrate")

    def submit_calibration(self, touches: tuple[tuple[int, int], ...]) -> bool:
        """SubmitCalibration: the four touches stored when plausible (back to the menu), else refused."""
        if self.state is not V.CALIBRATE:
            raise ServiceRefused(f"calibration points are taken on the calibrate screen, not {self.state.value}")
        try:
            points = check_calibration(touches, self.screen_size)
        except CalibrationInvalid as exc:
            with self.outbox.transaction() as tx:
                self._audit(tx, "calibrate", f"rejected: {exc}")
            self.message, self.calibration_error = "calibration_rejected", str(exc)
            self._go("calibration_rejected")
            return False
        width, height = self.screen_size
        with self.outbox.transaction() as tx:
            self.records.store_calibration(tx, points, width, height)
            self._audit(tx, "calibrate", "stored")
        self.message, self.calibration_error = None, None
        self._go("calibrated")
        return True

    def calibration(self) -> Calibration | None:
        """The stored calibration, or None if the screen was never calibrated."""
        stored = self.records.calibration()
        if stored is None:
            return None
        return Calibration(stored.points, (stored.width, stored.height), stored.calibrated_at)

    # --- staff fingerprints ------------------------------------------------------------------
    def enrol_fingerprint(self) -> asyncio.Task[tuple[bool, str]]:
        """Enrol a staff finger at the first slot that is neither on the module nor in the configuration: the
        screen follows the module's steps; the result goes to the cloud as ``fingerprint.enrolled`` (the
        retailer then names the slot's owner in the configuration). Returns the running task."""
        if self.state is not V.MENU or self.fingerprint is None:
            raise ServiceRefused(
                f"fingerprints are enrolled from the service menu with a module, not {self.state.value}"
            )
        self.message, self.enrol_step, self.enrol_slot, self.enrol_error = None, "place", None, None
        self._go("enrol")
        task = asyncio.get_running_loop().create_task(self._enrol(self.fingerprint))
        task.add_done_callback(self._enrol_ended)
        self._enrol_task = task
        return task

    @property
    def enrolment_ended(self) -> bool:
        """An enrolment's result is on screen (until the technician goes back to the menu)."""
        return self.state is V.MENU and self.enrol_step in ("done", "failed")

    def close_enrolment(self) -> None:
        self.enrol_step = None
        self.on_change()

    def _enrol_step(self, step: EnrolStep) -> None:
        self.enrol_step = step.value
        self.on_change()

    async def _enrol(self, sensor: FingerprintSensor) -> tuple[bool, str]:
        """(stored, what happened); a cancellation propagates (``_enrol_ended`` records it)."""
        try:
            taken = await sensor.used_slots() | set(self.staff_fingerprints())
            self.enrol_slot = next((s for s in range(MAX_FINGERPRINT_SLOT + 1) if s not in taken), None)
            if self.enrol_slot is None:
                return False, "no free slot on the module"
            await sensor.enrol(self.enrol_slot, self._enrol_step)
            return True, "stored"
        except (DeviceFault, ProtocolError, ValueError, TimeoutError) as exc:
            return False, str(exc) or "timed out"

    def _enrol_ended(self, task: asyncio.Task[tuple[bool, str]]) -> None:
        """Recorded and reported however it ended: stored, failed, or cancelled (even before it started)."""
        ok, detail = (False, "cancelled") if task.cancelled() else task.result()
        slot = self.enrol_slot
        with self.outbox.transaction() as tx:
            tx.append("fingerprint.enrolled", {"slot": slot, "ok": ok, "detail": detail, "who": self.who})
            if ok and slot is not None:
                self.on_enrolled(tx, slot)
            self._audit(tx, "enrol_fingerprint", f"slot {slot}: {detail}")
        self.enrol_step, self.enrol_error = ("done", None) if ok else ("failed", detail)
        self._go("enrol_done")
        self.on_change()

    def restart(self) -> None:
        """Leave the menu and ask the runtime to restart (the UI asked the technician to confirm)."""
        if self.state is not V.MENU:
            raise ServiceRefused(f"restart is offered in the service menu, not {self.state.value}")
        with self.outbox.transaction() as tx:
            self._audit(tx, "restart", "requested")
        self._leave("restart")
        self.restart_service()

    def exit(self) -> None:
        if self.state is not V.MENU:
            raise ServiceRefused(f"exit is offered in the service menu, not {self.state.value}")
        with self.outbox.transaction() as tx:
            self._audit(tx, "exit", "left")
        self._leave("exit")

    def idle_timeout(self) -> None:
        """Nobody touched the screen: log the technician out (not in the middle of a test)."""
        if self.state not in IDLE_STATES:
            return
        if self.state is not V.PIN_ENTRY:
            with self.outbox.transaction() as tx:
                self._audit(tx, "timeout", "logged out")
        self._leave("idle")

    def _leave(self, trigger: str) -> None:
        self.who, self.message, self.calibration_error, self.enrol_step = None, None, None, None
        self._go(trigger)

    # --- the door ---------------------------------------------------------------------
    def door_changed(self, is_open: bool) -> bool:
        """True when the change is the technician's (they are logged in, the menu is theirs)."""
        if self.state in (V.IDLE, V.PIN_ENTRY):
            return False
        with self.outbox.transaction() as tx:
            if is_open:
                self._door_opened_at = self.clock.monotonic()
                tx.append("door.opened", {"authorized": True, "reason": "service", "who": self.who})
            else:
                opened = self._door_opened_at
                self._door_opened_at = None
                tx.append(
                    "door.closed",
                    {"open_s": round(self.clock.monotonic() - opened, 3) if opened else 0.0, "reason": "service"},
                )
        return True
