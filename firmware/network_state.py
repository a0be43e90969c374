"""The cabinet's network as a technician first wants it: the interface of the default route and its IPv4
address, read from the kernel (no DNS, no packet sent: cheap enough for every redraw of the service menu)."""

from __future__ import annotations

import fcntl
import socket
import struct
from pathlib import Path

ROUTE_TABLE = Path("/proc/net/route")
SIOCGIFADDR = 0x8915  # Linux: an interface's IPv4 address
RTF_UP = 0x1


def default_interface(route_table: str) -> str | None:
    """The interface of the up default route (lowest metric) in /proc/net/route's text, or None."""
    best: tuple[int, str] | None = None
    for line in route_table.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 7 or fields[1] != "00000000":
            continue
        try:
            flags, metric = int(fields[3], 16), int(fields[6])
        except ValueError:
            continue
        if flags & RTF_UP and (best is None or metric < best[0]):
            best = (metric, fields[0])
    return best[1] if best else None


def interface_address(name: str) -> str:
    """The interface's IPv4 address, or "" when it has none (down, or no such interface)."""
    request = struct.pack("256s", name.encode()[:15])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            answer = fcntl.ioctl(sock.fileno(), SIOCGIFADDR, request)
        except OSError:
            return ""
    return socket.inet_ntoa(answer[20:24])


def default_route(route_table: Path = ROUTE_TABLE) -> tuple[str, str]:
    """(interface, IPv4 address) of the default route; ("", "") when there is none."""
    try:
        interface = default_interface(route_table.read_text())
    except OSError:
        return "", ""
    return (interface, interface_address(interface)) if interface else ("", "")
