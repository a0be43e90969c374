"""Service: the technician's menu (open alarms, network, version, live devices, self-test, sync, lock test,
calibration, enrolling a staff finger, restart)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import get_args

from firmware.journeys.service import LiveFacts, ServiceJourney, V
from firmware.presenters import Check, Passive, Shop
from kiosk_ui.intents import (
    Back,
    Cancel,
    EnrolFingerprint,
    ExitService,
    Intent,
    LockTest,
    OpenCalibration,
    Restart,
    RunSelfTest,
    SubmitCalibration,
    SubmitPin,
)
from kiosk_ui.view import (
    CalibrateScreen,
    Chrome,
    DeviceStatus,
    EnrolScreen,
    EnrolStepView,
    PinMessage,
    PinPadScreen,
    SelfTestState,
    ServiceScreen,
    SyncView,
    View,
    member,
    one_of,
)

SERVICE_INTENTS = (
    RunSelfTest,
    LockTest,
    OpenCalibration,
    SubmitCalibration,
    EnrolFingerprint,
    Restart,
    Cancel,
    ExitService,
    Back,
)
ENROL_STEPS: tuple[EnrolStepView, ...] = get_args(EnrolStepView)
PIN_MESSAGES: tuple[PinMessage, ...] = get_args(PinMessage)
STATUSES: tuple[DeviceStatus, ...] = get_args(DeviceStatus)
SELFTEST: tuple[SelfTestState, ...] = get_args(SelfTestState)


@dataclass
class ServicePresenter(Passive):
    """Entered by a technician's card or PIN (never by a tap of its own)."""

    service: ServiceJourney
    shop: Shop
    sync_status: Callable[[], SyncView]
    config_version: Callable[[], str]
    checked: Check
    facts: Callable[[], LiveFacts] = LiveFacts  # devices, alarms, network and version, now
    name: str = "service"

    def active(self) -> bool:
        return self.service.active

    def handles(self, intent: Intent) -> bool:
        if isinstance(intent, SubmitPin):
            return self.service.state in (V.PIN_ENTRY, V.PIN_CHECKING)  # a second tap is refused by the journey
        return isinstance(intent, SERVICE_INTENTS)  # each state refuses what it does not take

    def handle(self, intent: Intent) -> None:
        service = self.service
        match intent:
            case SubmitPin(pin=pin):
                self.shop.spawn(self.checked(service.enter_pin(pin)), "service-pin-check")
            case RunSelfTest():
                service.run_selftest()
            case LockTest():
                service.lock_test()
            case OpenCalibration():
                service.open_calibration()
            case SubmitCalibration(points=points):
                service.submit_calibration(points)
            case EnrolFingerprint():
                service.enrol_fingerprint()
            case Restart():
                service.restart()
            case Cancel():
                service.cancel()
            case Back() if service.enrolment_ended:
                service.close_enrolment()
            case ExitService() | Back():
                service.exit()

    def view(self, chrome: Chrome) -> View:
        service = self.service
        if service.state in (V.PIN_ENTRY, V.PIN_CHECKING):
            return PinPadScreen(chrome=chrome, message=one_of(PIN_MESSAGES, service.message, "PIN pad message"))
        if service.state is V.CALIBRATE:
            return CalibrateScreen(chrome=chrome)
        if service.state is V.ENROL or service.enrolment_ended:
            return EnrolScreen(
                chrome=chrome,
                step=member(ENROL_STEPS, service.enrol_step or "place", "enrolment step"),
                slot=service.enrol_slot,
                error=service.enrol_error or "",
            )
        facts = self.facts()
        return ServiceScreen(
            chrome=chrome,
            devices=tuple(
                (name, member(STATUSES, status, f"device {name} status"), detail)
                for name, status, detail in facts.devices
            ),
            selftest=one_of(SELFTEST, service.selftest_status, "self-test state"),
            selftest_faults=sum(1 for _, status, _ in service.devices() if status == "fault"),
            sync=self.sync_status(),
            config_version=self.config_version(),
            alarms=facts.alarms,
            network=facts.network,
            version=facts.version,
            fingerprint=service.fingerprint is not None,
        )
