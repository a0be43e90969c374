"""The technician-needed screen: what is missing in the screen's language, the detail as the tools say it,
the hardware id as text and in the QR code a technician scans to provision the cabinet."""

from __future__ import annotations

import pytest

from kiosk_ui.app import KioskUi
from kiosk_ui.view import Chrome, SetupDetail, TechnicianScreen

KEY_ABSENT = SetupDetail(
    "/var/lib/kiosk/cabinet.key does not exist (kiosk provision writes it)",
    what="key_absent",
    params=(("file", "/var/lib/kiosk/cabinet.key"),),
)
NO_FILE = SetupDetail("/etc/kiosk/kiosk.toml: file not found", "/etc/kiosk/kiosk.toml", "", "config_missing")
NEEDS = (("key", KEY_ABSENT), ("config", NO_FILE))


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
    assert (
        widgets["detail:key"].label
        == {
            "en": "/var/lib/kiosk/cabinet.key does not exist (kiosk provision writes it)",
            "zh": "/var/lib/kiosk/cabinet.key 不存在（kiosk provision 会写入）",
        }[language]
    )
    assert widgets["hardware_qr"].extra["text"] == "RPI-10000000a3c9e127"
    assert "need:enrolment" not in widgets  # only what is missing
    assert not {"help", "home", "back", "start"} & set(widgets)


def test_a_screen_with_nothing_missing_is_refused() -> None:
    from kiosk_ui.screens import validate_view

    with pytest.raises(ValueError, match="TechnicianScreen.needs is empty"):
        validate_view(TechnicianScreen(needs=(), hardware_id="x"))
    with pytest.raises(ValueError, match="TechnicianScreen.needs: need 'wifi'"):
        validate_view(TechnicianScreen(needs=(("wifi", NO_FILE),), hardware_id="x"))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="pairs"):  # a detail is the checker's record, not a bare text
        validate_view(TechnicianScreen(needs=(("config", "file not found"),), hardware_id="x"))  # type: ignore[arg-type]


CA_MISSING = SetupDetail(
    "/etc/kiosk/kiosk.toml: sync.ca_file: /etc/kiosk/cloud-ca.pem does not exist (or is not a file)",
    "/etc/kiosk/kiosk.toml",
    "sync.ca_file",
    "file_missing",
    (("file", "/etc/kiosk/cloud-ca.pem"),),
    more=2,
)


@pytest.mark.parametrize(
    ("language", "detail"),
    [
        (
            "en",
            "/etc/kiosk/kiosk.toml: sync.ca_file: /etc/kiosk/cloud-ca.pem does not exist (or is not a file)"
            " (and 2 more: kiosk config check)",
        ),
        (
            "zh",
            "/etc/kiosk/kiosk.toml：sync.ca_file：/etc/kiosk/cloud-ca.pem 不存在（或不是文件）"
            "（另有 2 项：kiosk config check）",
        ),
    ],
)
def test_the_configurations_problem_is_said_in_the_screens_language_with_file_and_key_as_they_are(
    language: str, detail: str
) -> None:
    from kiosk_ui.i18n import setup_detail

    assert setup_detail(CA_MISSING, language) == detail


def test_a_problem_the_screen_has_no_words_for_is_shown_as_the_checker_says_it() -> None:
    from kiosk_ui.i18n import setup_detail

    unknown = SetupDetail("/etc/kiosk/kiosk.toml: x.y: something new", "/etc/kiosk/kiosk.toml", "x.y", "new_code")
    assert setup_detail(unknown, "zh") == "/etc/kiosk/kiosk.toml: x.y: something new"
