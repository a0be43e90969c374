"""The accessibility session: on until the shopper's session ends; its use recorded without personal data."""

import pytest

from firmware.accessibility import AccessibilitySession
from firmware.config import ConfigError, parse_config
from sync_client.outbox import Outbox


def test_the_session_keeps_the_mode_until_attract_or_idle(tmp_path) -> None:
    outbox = Outbox(tmp_path / "cabinet.db", "cab-1")
    session = AccessibilitySession(outbox)
    assert session.showing("catalog") is False
    session.toggle()
    assert [e.payload for e in outbox.events("accessibility.used")] == [{"screen": "catalog"}]
    assert session.showing("product") and session.showing("help") and session.showing("product")
    assert session.showing("attract") is False  # the journey went back to the attract loop
    session.toggle()
    assert session.showing("attract") and session.showing("help") and session.showing("attract")  # help is an overlay
    session.end()  # the idle timeout
    assert session.showing("catalog") is False
    session.toggle()
    session.toggle()  # off again by the shopper: recorded once per turning on
    assert [e.payload["screen"] for e in outbox.events("accessibility.used")] == ["catalog", "attract", "catalog"]


def test_a_mounting_out_of_reach_is_refused_naming_the_keys() -> None:
    with pytest.raises(ConfigError, match=r"kiosk.toml: screen.bottom_mm, screen.height_mm: .*mount the screen lower"):
        parse_config({"screen": {"bottom_mm": 1500, "height_mm": 125}}, "kiosk.toml")
    assert parse_config({"screen": {"bottom_mm": 900}}).screen.mounting.bottom_mm == 900
