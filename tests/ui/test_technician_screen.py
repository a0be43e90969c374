"""The technician-needed screen: what is missing in the screen's language, the detail as the tools say it,
the hardware id as text and in the QR code a technician scans to provision the cabinet."""

from __future__ import annotations

import pytest

from kiosk_ui.app import KioskUi
from kiosk_ui.view import Chrome, TechnicianScreen

NEEDS = (("key", "/var/lib/kiosk/cabinet.key does not exist"), ("config", "/etc/kiosk/kiosk.toml: file not found"))


@pytest.mark.parametrize(
    ("language", "texts"),
    [
        ("en", ("No cabinet key", "The configuration has a problem", "Hardware id: RPI-10000000a3c9e127")),
        ("zh", ("没有柜机密钥", "配置有问题", "硬件编号: RPI-10000000a3c9e127")),
    ],
)
def test_it_says_what_is_missing_and_carries_the_hardware_id(
    static_ui: KioskUi, language: str, texts: tuple[str, str, str]
) -> None:
    view = TechnicianScreen(chrome=Chrome(language=language), needs=NEEDS, hardware_id="RPI-10000000a3c9e127")  # type: ignore[arg-type]
    static_ui.set_state(view)
    widgets = {w.id: w for w in static_ui.widgets()}
    assert (widgets["need:key"].label, widgets["need:config"].label, widgets["hardware_id"].label) == texts
    assert widgets["detail:key"].label == "/var/lib/kiosk/cabinet.key does not exist"
    assert widgets["hardware_qr"].extra["text"] == "RPI-10000000a3c9e127"
    assert "need:enrolment" not in widgets  # only what is missing
    assert not {"help", "home", "back", "start"} & set(widgets)


def test_a_screen_with_nothing_missing_is_refused() -> None:
    from kiosk_ui.screens import validate_view

    with pytest.raises(ValueError, match="TechnicianScreen.needs is empty"):
        validate_view(TechnicianScreen(needs=(), hardware_id="x"))
    with pytest.raises(ValueError, match="TechnicianScreen.needs: need 'wifi'"):
        validate_view(TechnicianScreen(needs=(("wifi", "down"),), hardware_id="x"))  # type: ignore[arg-type]
