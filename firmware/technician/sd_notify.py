"""A tiny sd_notify(3) client: tell systemd we are ready, alive, or stopping.

The unit is Type=notify with WatchdogSec, so the runtime sends READY=1 once the
first frame is drawn and WATCHDOG=1 from its event loop: a loop that hangs
stops pinging and systemd restarts the cabinet. Everything is a no-op when
NOTIFY_SOCKET is unset (a developer's terminal, the tests, the simulator).
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable


def notify(*fields: str) -> bool:
    """Send ``KEY=value`` fields in one datagram; True if it was sent.

    ``$NOTIFY_SOCKET`` is a filesystem path or, starting with ``@``, a name in
    the abstract namespace (a leading NUL byte on the wire). A socket that is
    gone (systemd re-executing) is not the cabinet's problem: False, as
    sd_notify(3) returns an error its callers ignore.
    """
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    elif not address.startswith("/"):
        raise ValueError(f"NOTIFY_SOCKET must be an absolute path or start with '@', got {address!r}")
    message = "\n".join(fields).encode()
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
        try:
            sock.sendto(message, address)
        except OSError:
            return False
    return True


def ready(status: str | None = None) -> bool:
    return notify("READY=1", *([f"STATUS={status}"] if status else []))


def watchdog() -> bool:
    return notify("WATCHDOG=1")


def status(text: str) -> bool:
    """The one-line status ``systemctl status kiosk`` shows."""
    return notify(f"STATUS={text}")


def stopping() -> bool:
    return notify("STOPPING=1")


def watchdog_interval() -> float | None:
    """How often to send WATCHDOG=1, in seconds: half of WatchdogSec, as sd_watchdog_enabled(3)
    recommends. None when the watchdog is off or meant for another process (WATCHDOG_PID)."""
    usec = os.environ.get("WATCHDOG_USEC")
    if not usec:
        return None
    pid = os.environ.get("WATCHDOG_PID")
    if pid and pid.isdigit() and int(pid) != os.getpid():
        return None
    try:
        value = int(usec)
    except ValueError:
        raise ValueError(f"WATCHDOG_USEC must be an integer number of microseconds, got {usec!r}") from None
    if value <= 0:
        return None
    return value / 2_000_000


async def keep_watchdog_fed(stop: asyncio.Event, healthy: Callable[[], bool] = lambda: True) -> None:
    """Send WATCHDOG=1 every watchdog_interval() until ``stop`` is set or ``healthy()`` turns False.

    Run it as a task on the runtime's event loop: it only runs while the loop
    runs, so a blocked loop starves it and systemd notices; so does a cabinet
    that is no longer healthy. Returns at once when there is no watchdog.
    """
    interval = watchdog_interval()
    if interval is None:
        return
    while not stop.is_set() and healthy():
        watchdog()
        try:
            await asyncio.wait_for(stop.wait(), interval)
        except TimeoutError:
            pass
