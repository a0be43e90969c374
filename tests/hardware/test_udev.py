"""hardware/udev/99-kiosk.rules: well-formed, one stable name per device, dialout 0660."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "hardware" / "udev" / "99-kiosk.rules"

TOKEN = re.compile(r'\s*(?P<key>[A-Z]+(?:\{[^}]+\})?)\s*(?P<op>==|!=|\+=|:=|=)\s*"(?P<value>[^"]*)"\s*(?:,|$)')
MATCH_KEYS = {
    "SUBSYSTEM",
    "SUBSYSTEMS",
    "KERNEL",
    "KERNELS",
    "SYMLINK",
    "ATTRS{idVendor}",
    "ATTRS{idProduct}",
    "ATTRS{serial}",
}
ASSIGN_KEYS = {"SYMLINK", "GROUP", "MODE", "GOTO", "LABEL"}


def parse(line: str) -> list[tuple[str, str, str]]:
    tokens, pos = [], 0
    while pos < len(line):
        match = TOKEN.match(line, pos)
        assert match, f"cannot parse {line[pos:]!r} in {line!r}"
        key, op = match["key"], match["op"]
        assert (key in MATCH_KEYS and op in ("==", "!=")) or (key in ASSIGN_KEYS and op in ("=", "+=")), (
            f"{key}{op} is not something this file should use: {line!r}"
        )
        tokens.append((key, op, match["value"]))
        pos = match.end()
    return tokens


def rules(commented: bool = False) -> list[list[tuple[str, str, str]]]:
    out = []
    for line in RULES.read_text().splitlines():
        line = line.strip()
        if commented and re.match(r"#[A-Z]", line):  # a rule commented out, not prose
            line = line[1:]
        if line and not line.startswith("#"):
            out.append(parse(line))
    return out


def by_name(all_rules: list[list[tuple[str, str, str]]]) -> dict[str, list[dict[str, str]]]:
    named: dict[str, list[dict[str, str]]] = {}
    for rule in all_rules:
        keys = {f"{k}{op}": v for k, op, v in rule}
        if "SYMLINK+=" in keys:
            named.setdefault(keys["SYMLINK+="], []).append(keys)
    return named


def test_every_rule_parses_and_the_goto_has_its_label() -> None:
    parsed = rules(commented=True)  # the commented-out CH340 example must be valid once uncommented
    labels = [v for rule in parsed for k, op, v in rule if k == "LABEL"]
    gotos = [v for rule in parsed for k, op, v in rule if k == "GOTO"]
    assert gotos == ["kiosk_end"] and labels == ["kiosk_end"]


def test_stable_names_for_each_device_and_adapter() -> None:
    named = by_name(rules())
    assert set(named) == {"kiosk-payment", "kiosk-nfc", "kiosk-scanner", "kiosk-fingerprint", "kiosk-lockboard"}
    for name, variants in named.items():
        for rule in variants:
            assert rule["GROUP="] == "dialout" and rule["MODE="] == "0660", name
            assert rule["ATTRS{serial}=="].startswith("REPLACE_"), name  # a placeholder to fill in
            assert rule["SUBSYSTEMS=="] == "usb"

    def chips(name):
        return {(r["ATTRS{idVendor}=="], r["ATTRS{idProduct}=="]) for r in named[name]}

    for name in ("kiosk-payment", "kiosk-nfc", "kiosk-scanner", "kiosk-fingerprint"):
        assert {("0403", "6001"), ("10c4", "ea60")} <= chips(name)  # FTDI, CP210x
    assert chips("kiosk-lockboard") == {("2e8a", "0005")}  # Pico, MicroPython
    example = by_name(rules(commented=True))["kiosk-scanner"]
    assert any(r.get("ATTRS{idVendor}==") == "1a86" and "KERNELS==" in r for r in example)  # CH340 by port


def test_pi_uart_for_the_pn532_hat() -> None:
    uart = [{k + op: v for k, op, v in rule} for rule in rules() if ("SYMLINK", "==", "serial0") in rule]
    assert uart == [{"SYMLINK==": "serial0", "GROUP=": "dialout", "MODE=": "0660"}]
