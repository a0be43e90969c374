"""The network link as the kernel sees it: the default route's interface (/proc/net/route) and that
interface's operstate and carrier (/sys/class/net/<iface>/). Plain file reads, no packet sent, so the
device watch looks every 0.25 s and scan-to-pay leaves the screen within a second of a pulled cable or a
lost Wi-Fi, not at the next failed request to the cloud."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from firmware.config import NetworkSection
from firmware.network_state import ROUTE_TABLE, default_interface

SYS_CLASS_NET = Path("/sys/class/net")
# RFC 2863 states in which no packet gets through ("unknown" is what drivers without operstate report: the
# carrier decides then). "dormant": Wi-Fi associated but not yet authenticated.
DOWN_STATES = frozenset({"down", "lowerlayerdown", "notpresent", "dormant"})


@dataclass(frozen=True)
class LinkState:
    up: bool | None  # None: the kernel's view cannot be read here (not Linux): nothing is withdrawn
    interface: str = ""
    reason: str = ""  # why it is down (or cannot be watched), for the fault and the log


@dataclass(frozen=True)
class KernelLink:
    route_table: Path = ROUTE_TABLE
    sys_class_net: Path = SYS_CLASS_NET

    def read(self) -> LinkState:
        try:
            routes = self.route_table.read_text()
        except OSError as exc:
            return LinkState(None, reason=f"{self.route_table} unreadable ({exc.strerror or exc})")
        if not self.sys_class_net.is_dir():
            return LinkState(None, reason=f"{self.sys_class_net} missing")
        interface = default_interface(routes)
        if interface is None:
            return LinkState(False, reason="no default route")
        folder = self.sys_class_net / interface
        operstate, carrier = _read(folder / "operstate"), _read(folder / "carrier")
        if operstate is None:
            return LinkState(False, interface, f"{interface}: interface gone")
        if operstate in DOWN_STATES:
            return LinkState(False, interface, f"{interface}: {operstate}")
        if carrier == "0":  # unreadable (EINVAL) only while the interface is down, which operstate says
            return LinkState(False, interface, f"{interface}: no carrier")
        return LinkState(True, interface)


def kernel_link(section: NetworkSection, sim: bool) -> KernelLink | None:
    """The link watch the configuration asks for: its paths when named; when not, the kernel's own on a
    cabinet and none in simulation (the bench's cable is the link there)."""
    if not (section.route_table or section.sys_class_net):
        return None if sim else KernelLink()
    return KernelLink(
        Path(section.route_table) if section.route_table else ROUTE_TABLE,
        Path(section.sys_class_net) if section.sys_class_net else SYS_CLASS_NET,
    )


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None
