"""The network link as the kernel reports it, on a fake /proc/net/route and /sys/class/net in tmp_path: a
pulled cable, a lost Wi-Fi or a removed route takes scan-to-pay off the screen within a second of the
cabinet's (fake) clock, "buy" goes off with its reason when the card terminal is gone too, and scan-to-pay
comes back only once the cloud answers again. A machine without those files watches nothing."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory
from hypothesis import given
from hypothesis import strategies as st

from firmware.cabinet import Cabinet
from firmware.clock import FakeClock
from firmware.config import Config, NetworkSection
from firmware.devices import Devices, build_lock_and_door
from firmware.link_watch import KernelLink, LinkState, kernel_link
from hal.errors import DeviceFault
from kiosk_ui.intents import Buy, SelectProduct, Start
from kiosk_ui.view import CheckoutScreen, ProductScreen
from sync_client.cabinet_config import CabinetConfig, ScanToPay
from sync_client.outbox import Outbox
from tests.firmware.test_cabinet_parts import Terminal
from tests.firmware.test_network_state import HEADER, row
from tests.sync.conftest import CAB


class FakeKernel:
    """/proc/net/route and /sys/class/net/<iface>/{operstate,carrier}, as files a test writes."""

    def __init__(self, root: Path) -> None:
        self.route, self.net = root / "route", root / "net"
        self.net.mkdir(parents=True)
        self.link = KernelLink(self.route, self.net)

    def plug(self, iface: str = "eth0", operstate: str = "up", carrier: str = "1", route: bool = True) -> None:
        self.route.write_text(HEADER + (row(iface, metric=100) if route else ""))
        folder = self.net / iface
        folder.mkdir(exist_ok=True)
        (folder / "operstate").write_text(operstate + "\n")
        (folder / "carrier").write_text(carrier + "\n")


@pytest.fixture
def kernel(tmp_path: Path) -> FakeKernel:
    kernel = FakeKernel(tmp_path / "kernel")
    kernel.plug()
    return kernel


def test_the_link_is_up_with_a_default_route_on_an_interface_up_with_carrier(kernel: FakeKernel) -> None:
    assert kernel.link.read() == LinkState(True, "eth0")
    kernel.plug(operstate="down", carrier="0")
    assert kernel.link.read() == LinkState(False, "eth0", "eth0: down")
    kernel.plug(operstate="unknown", carrier="0")  # a driver without operstate: the carrier decides
    assert kernel.link.read() == LinkState(False, "eth0", "eth0: no carrier")
    kernel.plug(operstate="unknown", carrier="1")
    assert kernel.link.read().up is True
    kernel.plug("wlan0", operstate="dormant")  # associated, not yet authenticated
    assert kernel.link.read() == LinkState(False, "wlan0", "wlan0: dormant")
    kernel.plug(route=False)
    assert kernel.link.read() == LinkState(False, "", "no default route")
    kernel.route.write_text(HEADER + row("usb0"))  # the route names an interface that is gone
    assert kernel.link.read() == LinkState(False, "usb0", "usb0: interface gone")


def test_without_the_kernels_files_nothing_can_be_said(tmp_path: Path) -> None:
    assert KernelLink(tmp_path / "no-route", tmp_path).read().up is None, "not Linux: no /proc/net/route"
    (tmp_path / "route").write_text(HEADER)
    assert KernelLink(tmp_path / "route", tmp_path / "no-net").read().up is None, "no /sys/class/net"


def test_the_configuration_names_the_files_or_leaves_the_kernels_own_to_a_real_cabinet(tmp_path: Path) -> None:
    assert kernel_link(NetworkSection(), sim=False) == KernelLink(Path("/proc/net/route"), Path("/sys/class/net"))
    assert kernel_link(NetworkSection(), sim=True) is None, "simulation: the bench's cable is the link"
    named = NetworkSection(route_table=str(tmp_path / "route"), sys_class_net=str(tmp_path / "net"))
    assert kernel_link(named, sim=True) == KernelLink(tmp_path / "route", tmp_path / "net")


@given(st.text(max_size=40), st.text(max_size=10))
def test_any_operstate_and_carrier_text_gives_a_state(operstate: str, carrier: str) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as root:
        kernel = FakeKernel(Path(root))
        try:
            kernel.plug(operstate=operstate, carrier=carrier)
        except (OSError, ValueError):  # text the file system cannot hold is not a case
            return
        state = kernel.link.read()
        assert state.up in (True, False) and state.interface == "eth0"
        assert state.up or state.reason.startswith("eth0: ")


# --- on a whole cabinet, on the fake clock ------------------------------------------------------------------
class Cloud:
    """What the runtime wires around the cabinet: the uploader's "online" (False once the link is lost,
    True at the cloud's next answer)."""

    def __init__(self) -> None:
        self.online = True
        self.told: list[bool] = []

    def link(self, up: bool) -> None:
        self.told.append(up)
        if not up:
            self.online = False


@pytest.fixture
async def rig(tmp_path: Path, kernel: FakeKernel) -> AsyncIterator[tuple[Cabinet, FakeClock, Cloud]]:
    clock, cloud = FakeClock(), Cloud()
    config = Config()
    lock, door, _ = build_lock_and_door(config, MockFactory())
    terminals = {"terminal": Terminal("payment", "terminal"), "qr": Terminal("scan_to_pay", "qr")}
    outbox = Outbox(tmp_path / "cabinet.db", CAB)
    cabinet = Cabinet(
        config,
        Devices(lock=lock, door=door, terminals=terminals),
        outbox,
        tmp_path,
        is_online=lambda: cloud.online,
        clock=clock,
        link=kernel.link,
        on_network=cloud.link,
    )
    cabinet.apply_cloud_config(CabinetConfig(1, "EUR", (), scan_to_pay=ScanToPay(enabled=True)))
    await cabinet.start()
    yield cabinet, clock, cloud
    await cabinet.stop()
    outbox.close()


async def within_a_second(clock: FakeClock, done) -> float:  # type: ignore[no-untyped-def]
    """Fake seconds until done() holds, stepping the cabinet's clock by 50 ms; fails past one second."""
    for step in range(1, 21):
        await clock.run(0.05)
        if done():
            return step * 0.05
    raise AssertionError("not within 1 s of the cabinet's clock")


async def test_an_unplugged_cable_withdraws_scan_to_pay_within_a_second_and_the_cloud_brings_it_back(
    rig, kernel: FakeKernel
) -> None:
    cabinet, clock, cloud = rig
    await clock.run(0.3)
    cabinet.handle_intent(Start())
    cabinet.handle_intent(SelectProduct("SCOOT-S1"))
    assert cabinet.shop.payment_methods() == ("terminal", "qr")
    cabinet.fault_list.device(DeviceFault("payment", "unplugged"))  # the card terminal went first
    view = cabinet.view_state()
    assert isinstance(view, ProductScreen) and not view.no_payment_method, "scan-to-pay is still there"

    kernel.plug(operstate="down", carrier="0")  # the cable pulled
    await within_a_second(clock, lambda: cabinet.shop.payment_methods() == ())
    view = cabinet.view_state()
    assert isinstance(view, ProductScreen) and view.no_payment_method, "buy off, with its reason"
    assert not view.chrome.online and cabinet.faults["network"] == "eth0: down"
    assert cloud.told == [False] and [a["kind"] for a in events(cabinet, "alarm")][-1] == "network_down"

    kernel.plug()  # the cable back: the cloud is asked, but nothing is offered before it answers
    await within_a_second(clock, lambda: "network" not in cabinet.faults)
    assert cloud.told == [False, True]
    await clock.run(5.0)
    assert cabinet.shop.payment_methods() == (), "no flapping: offered again only at the cloud's answer"
    cloud.online = True  # the uploader's next upload went through
    assert cabinet.shop.payment_methods() == ("qr",)
    cabinet.fault_list.recovered("payment")
    cabinet.handle_intent(Buy())
    view = cabinet.view_state()
    assert isinstance(view, CheckoutScreen) and view.payment_methods == ("terminal", "qr")


async def test_a_removed_route_withdraws_scan_to_pay_and_the_service_menu_says_why(rig, kernel: FakeKernel) -> None:
    cabinet, clock, cloud = rig
    await clock.run(0.3)
    kernel.plug(route=False)  # the DHCP lease lost, the Wi-Fi gone: no default route
    await within_a_second(clock, lambda: cabinet.shop.payment_methods() == ("terminal",))
    facts = cabinet._service_facts()
    assert facts.network.link_down == "no default route" and not facts.network.online
    assert len(events(cabinet, "device.fault")) == 1
    await clock.run(2.0)
    assert len(events(cabinet, "device.fault")) == 1, "looked at every 0.25 s, raised once"


async def test_a_machine_without_the_kernels_files_says_so_once_and_withdraws_nothing(
    rig, kernel: FakeKernel, caplog: pytest.LogCaptureFixture
) -> None:
    cabinet, clock, cloud = rig
    kernel.route.unlink()
    with caplog.at_level(logging.WARNING, logger="firmware.device_watch"):
        await clock.run(3.0)
    said = [r for r in caplog.records if r.getMessage() == "the network link cannot be watched here"]
    assert len(said) == 1 and "route" in said[0].detail  # type: ignore[attr-defined]
    assert cabinet.shop.payment_methods() == ("terminal", "qr") and cloud.told == []


def events(cabinet: Cabinet, kind: str) -> list[dict]:
    return [e.payload for e in cabinet.outbox.events(kind)]
