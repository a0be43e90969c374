"""The service menu through the control API: a technician's card opens it, and what they need first is on
it (open alarms, network, software version, each device's live state), in both languages; a terminal
unplugged on the bench shows as a fault on the open menu, and back when plugged in again."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
from pathlib import Path

from tests.e2e.conftest import TECHNICIAN_CARD

FAST_CHECKS = """
[payment]
check_s = 0.5
"""
ROOT = Path(__file__).resolve().parents[2]


def labels(state: dict) -> dict[str, str]:
    return {w["id"]: w["label"] for w in state["widgets"]}


def default_route_by_ip() -> str | None:
    """'interface address' of the default route as iproute2 reports it (None without the tool)."""
    if shutil.which("ip") is None:
        return None
    route = subprocess.run(["ip", "-4", "route", "show", "default"], capture_output=True, text=True).stdout
    match = re.search(r"\bdev (\S+)", route)
    if not match:
        return ""
    interface = match.group(1)
    addr = subprocess.run(["ip", "-o", "-4", "addr", "show", "dev", interface], capture_output=True, text=True)
    address = re.search(r"inet (\d+\.\d+\.\d+\.\d+)", addr.stdout)
    return f"{interface} {address.group(1)}" if address else interface


def test_the_service_menu_shows_alarms_network_version_and_live_devices(retail):
    client = retail[1](FAST_CHECKS)
    client.wait_for(lambda s: s["online"] and s["payment_methods"], what="online with a terminal")
    client.sim("nfc/present", {"uid": TECHNICIAN_CARD.upper()})
    seen = labels(client.wait_screen("service"))
    assert seen["alarms_title"] == "Open alarms" and seen["no_alarms"] == "None"
    assert (seen["device:lock"], seen["device:lock:status"], seen["device:lock:detail"]) == ("Lock", "OK", "Locked")
    assert (seen["device:door:status"], seen["device:door:detail"]) == ("OK", "Closed")
    assert (seen["device:payment"], seen["device:payment:status"]) == ("Card terminal", "OK")
    assert seen["device:nfc:status"] == "OK" and seen["device:scanner:status"] == "OK"
    assert seen["cloud"] == "Online" and seen["last_success"] != "never"
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    assert seen["version"] == setup["metadata"]["version"]
    expected_network = default_route_by_ip()
    if expected_network is not None:  # iproute2's view of the same kernel tables
        assert seen["network"] == (expected_network or "No network")
    assert not client.state()["lock"]["energized"], "nothing was exercised: no self-test ran"

    client.sim("pos/unplug")  # on the bench, with the menu open
    seen = labels(
        client.wait_for(lambda s: labels(s).get("device:payment:status") == "Fault", what="terminal shown faulty")
    )
    assert client.state()["screen"] == "service"
    assert seen["alarm:payment"].startswith("Card terminal: ") and "no_alarms" not in seen

    client.tap("lang")
    seen = labels(client.wait_for(lambda s: s["language"] == "zh" and "alarm:payment" in labels(s), what="zh"))
    assert (seen["alarms_title"], seen["device:payment"], seen["device:payment:status"]) == (
        "未处理警报",
        "刷卡终端",
        "故障",
    )
    assert (seen["device:door:detail"], seen["cloud"], seen["version_label"]) == ("关闭", "在线", "软件版本")

    client.sim("pos/replug")
    seen = labels(
        client.wait_for(lambda s: labels(s).get("device:payment:status") == "正常", timeout=20, what="terminal back")
    )
    assert seen["no_alarms"] == "无"
