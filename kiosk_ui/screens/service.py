"""Service: the technician's menu, which the firmware opens after a technician card or PIN.

What a technician needs first: on the left each device's live state and the self-test; on the right the
open alarms, then the network (interface, address, cloud online), the uploader, the software and
configuration versions; the actions under them. With a fingerprint module, "Enrol finger" sits above the
self-test. Restart asks again: the first tap arms it for
RESTART_CONFIRM_S, a second tap meanwhile emits Restart().
"""

from __future__ import annotations

import pygame

from kiosk_ui.context import BuildContext
from kiosk_ui.i18n import known
from kiosk_ui.intents import EnrolFingerprint, ExitService, Intent, LockTest, OpenCalibration, Restart, RunSelfTest
from kiosk_ui.kit import Kit
from kiosk_ui.moving import Paragraph, scrolled_column
from kiosk_ui.screens.chrome import chrome
from kiosk_ui.screens.parts import split
from kiosk_ui.theme import Colour
from kiosk_ui.view import ServiceScreen
from kiosk_ui.widgets import Button, ConfirmButton, Label, Panel, Taps, Widget

RESTART_CONFIRM_S = 5.0


def _status_colours(kit: Kit, status: str) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    palette = kit.theme.palette
    return {
        "ok": (palette.accent, palette.on_accent),
        "fault": (palette.danger, palette.on_danger),
        "unknown": (palette.line, palette.text),
    }[status]


def _devices(view: ServiceScreen, kit: Kit, box: pygame.Rect) -> list[Widget]:
    """The device table: name, a status pill, the detail; what does not fit is counted."""
    theme, palette = kit.theme, kit.theme.palette
    row_h = theme.px(36)
    widgets: list[Widget] = [
        Label(kit, "devices_title", (box.x, box.y, box.w, theme.px(36)), kit.t("service.devices"), "heading")
    ]
    y = box.y + theme.px(40)
    if not view.devices:
        return [
            *widgets,
            Label(kit, "no_devices", (box.x, y, box.w, row_h), kit.t("service.no_devices"), "body", palette.text_muted),
        ]
    fits = max(1, (box.bottom - y) // row_h)
    shown = view.devices if len(view.devices) <= fits else view.devices[: fits - 1]
    name_w, pill_w = box.w * 30 // 100, theme.px(96)
    pill_h = max(row_h - theme.px(8), kit.line_h(0))  # accessibility mode: at least a line of its type
    for name, status, detail in shown:
        background, text = _status_colours(kit, status)
        shown_name = known(f"service.device.{name}", name, kit.language)
        widgets.append(Label(kit, f"device:{name}", (box.x, y, name_w - theme.px(8), row_h), shown_name, "body"))
        widgets.append(
            Label(
                kit,
                f"device:{name}:status",
                (box.x + name_w, y + min(theme.px(4), (row_h - pill_h) // 2), pill_w, pill_h),
                kit.t(f"service.status.{status}"),
                "label",
                text,
                align="center",
                background=background,
            )
        )
        detail_x = box.x + name_w + pill_w + theme.px(12)
        widgets.append(
            Label(
                kit,
                f"device:{name}:detail",
                (detail_x, y, box.right - detail_x, row_h),
                known(f"service.state.{detail}", detail, kit.language),
                "label",
                palette.text_muted,
            )
        )
        y += row_h
    if len(shown) < len(view.devices):
        widgets.append(
            Label(
                kit,
                "devices_more",
                (box.x, y, box.w, row_h),
                kit.t("service.more", count=len(view.devices) - len(shown)),
                "label",
                palette.text_muted,
            )
        )
    return widgets


def _selftest(view: ServiceScreen, kit: Kit, row: pygame.Rect) -> list[Widget]:
    theme, palette = kit.theme, kit.theme.palette
    button_w = theme.touch(220)
    widgets: list[Widget] = [
        Button(
            kit,
            "selftest",
            (row.x, row.y, button_w, row.h),
            kit.t("service.selftest"),
            RunSelfTest(),
            style="secondary",
            enabled=view.selftest != "running",
        )
    ]
    if view.selftest is not None:
        colour = {"running": palette.text_muted, "passed": palette.accent, "failed": palette.danger}[view.selftest]
        widgets.append(
            Label(
                kit,
                "selftest_result",
                (row.x + button_w + theme.gap, row.y, row.w - button_w - theme.gap, row.h),
                kit.t(f"service.selftest.{view.selftest}", count=view.selftest_faults),
                "heading",
                colour,
            )
        )
    return widgets


FACT_ROWS = 7  # network, cloud, last upload, pending, refused, software, configuration


def _facts(view: ServiceScreen, kit: Kit, box: pygame.Rect) -> list[Widget]:
    """Network, cloud, uploader and versions, one row each, filling box top down."""
    palette = kit.theme.palette
    line_h, label_w = box.h // FACT_ROWS, box.w * 45 // 100
    widgets: list[Widget] = []
    y = box.y

    def fact(key: str, label: str, value: str, colour: Colour | None = None) -> None:
        nonlocal y
        widgets.append(Label(kit, f"{key}_label", (box.x, y, label_w, line_h), label, "body", palette.text_muted))
        widgets.append(
            Label(kit, key, (box.x + label_w, y, box.w - label_w, line_h), value, "body", colour, align="right")
        )
        y += line_h

    for key, label, value, colour in _fact_lines(view, kit):
        fact(key, label, value, colour)
    return widgets


def _fact_lines(view: ServiceScreen, kit: Kit) -> list[tuple[str, str, str, Colour | None]]:
    """(id, label, value, colour or None) of network, cloud, uploader and versions."""
    palette = kit.theme.palette
    network, sync = view.network, view.sync
    where = " ".join(part for part in (network.interface, network.address) if part)
    online = "service.online" if network.online else "service.offline"
    if network.link_down:
        where = f"{kit.t('service.link_down')}: {network.link_down}"
    return [
        (
            "network",
            kit.t("service.network"),
            where or kit.t("service.no_network"),
            None if where and not network.link_down else palette.danger,
        ),
        ("cloud", kit.t("service.cloud"), kit.t(online), palette.accent if network.online else palette.danger),
        ("last_success", kit.t("service.last_success"), sync.last_success or kit.t("service.never"), None),
        ("pending", kit.t("service.pending"), str(sync.pending), None),
        (
            "dead_letters",
            kit.t("service.dead_letters"),
            str(sync.dead_letters),
            palette.warning if sync.dead_letters else None,
        ),
        ("version", kit.t("service.version"), view.version or "—", None),
        ("config_version", kit.t("service.config"), view.config_version or "—", None),
    ]


def _alarm_lines(view: ServiceScreen, kit: Kit) -> list[tuple[str, str]]:
    """(device name, "device: state") of the open alarms, in the screen's language."""
    lines = []
    for name, detail in view.alarms:
        device = known(f"service.device.{name}", name, kit.language)
        lines.append((name, f"{device}: {known(f'service.state.{detail}', detail, kit.language)}"))
    return lines


def _paragraphs(view: ServiceScreen, kit: Kit) -> list[Paragraph]:
    """Accessibility mode: the alarms, then each fact as "label: value", one scrolled column."""
    palette = kit.theme.palette
    paragraphs = [Paragraph(kit.t("service.alarms"), "heading", palette.text)]
    alarms = _alarm_lines(view, kit)
    paragraphs += [Paragraph(text, "label", palette.danger) for _, text in alarms]
    if not alarms:
        paragraphs.append(Paragraph(kit.t("service.no_alarms"), "label", palette.accent))
    for i, (_, label, value, colour) in enumerate(_fact_lines(view, kit)):
        paragraphs.append(Paragraph(f"{label}: {value}", "label", colour or palette.text, space=12 if i == 0 else 0))
    return paragraphs


def _alarms(view: ServiceScreen, kit: Kit, box: pygame.Rect) -> list[Widget]:
    """The open alarms, one a line, named in the screen's language; what does not fit is counted."""
    theme, palette = kit.theme, kit.theme.palette
    title_h, line_h = theme.px(36), theme.px(26)
    widgets: list[Widget] = [
        Label(kit, "alarms_title", (box.x, box.y, box.w, title_h), kit.t("service.alarms"), "heading")
    ]
    y = box.y + title_h + theme.px(4)
    if not view.alarms:
        return [
            *widgets,
            Label(kit, "no_alarms", (box.x, y, box.w, line_h), kit.t("service.no_alarms"), "label", palette.accent),
        ]
    fits = max(1, (box.bottom - y) // line_h)
    shown = view.alarms if len(view.alarms) <= fits else view.alarms[: fits - 1]
    for name, text in _alarm_lines(view, kit)[: len(shown)]:
        widgets.append(Label(kit, f"alarm:{name}", (box.x, y, box.w, line_h), text, "label", palette.danger))
        y += line_h
    if len(shown) < len(view.alarms):
        more = kit.t("service.more", count=len(view.alarms) - len(shown))
        widgets.append(Label(kit, "alarms_more", (box.x, y, box.w, line_h), more, "label", palette.text_muted))
    return widgets


def _actions(kit: Kit, area: pygame.Rect, context: BuildContext) -> list[Widget]:
    """Pulse the lock, calibrate, restart (asks again), exit: a 2x2 grid."""
    theme, memory = kit.theme, context.memory
    gap = theme.px(10)
    w, h = (area.w - gap) // 2, (area.h - gap) // 2
    cells = [pygame.Rect(area.x + (i % 2) * (w + gap), area.y + (i // 2) * (h + gap), w, h) for i in range(4)]

    def arm(until: float) -> None:
        memory.armed_until = until

    restart = ConfirmButton(
        Button(kit, "restart", cells[2], kit.t("service.restart"), None, style="secondary"),
        Button(kit, "restart", cells[2], kit.t("service.restart.confirm"), None, style="warning"),
        lambda: memory.armed_until,
        arm,
        Restart(),
        RESTART_CONFIRM_S,
    )

    def plain(intent: Intent) -> Taps:
        memory.armed_until = 0.0  # another action disarms restart
        return intent

    return [
        Button(
            kit,
            "lock_test",
            cells[0],
            kit.t("service.lock_test"),
            None,
            style="secondary",
            on_tap=lambda: plain(LockTest()),
        ),
        Button(
            kit,
            "calibrate",
            cells[1],
            kit.t("service.calibrate"),
            None,
            style="secondary",
            on_tap=lambda: plain(OpenCalibration()),
        ),
        restart,
        Button(kit, "exit", cells[3], kit.t("service.exit"), None, on_tap=lambda: plain(ExitService())),
    ]


def build(view: ServiceScreen, kit: Kit, context: BuildContext) -> list[Widget]:
    theme, palette = kit.theme, kit.theme.palette
    top, content = chrome(view.chrome, kit, title=kit.t("service.header"))
    body = content.inflate(0, -theme.gap)
    body.top = content.top
    left, right = split(kit, body, 54)
    pad = theme.px(18)
    widgets: list[Widget] = [Panel("devices_panel", left, palette.surface, theme.radius)]
    inner = left.inflate(-2 * pad, -2 * pad)
    button_h = theme.touch(64)
    buttons_h = (2 if view.fingerprint else 1) * (button_h + theme.gap)  # enrol a finger above the self-test
    widgets += _devices(view, kit, pygame.Rect(inner.x, inner.y, inner.w, inner.h - buttons_h))
    if view.fingerprint:
        enrol = (inner.x, inner.bottom - 2 * button_h - theme.gap, theme.touch(220), button_h)
        widgets.append(Button(kit, "enrol", enrol, kit.t("service.enrol"), EnrolFingerprint(), style="secondary"))
    widgets += _selftest(view, kit, pygame.Rect(inner.x, inner.bottom - button_h, inner.w, button_h))

    actions_h = 2 * button_h + theme.px(10)
    if theme.accessible:  # the alarms and the facts at the mode's type need more room: they scroll above the actions
        column = pygame.Rect(right.x, right.y, right.w, right.h - actions_h - theme.gap)
        widgets.append(scrolled_column(kit, "facts", column, _paragraphs(view, kit), context.memory.scroll))
        widgets += _actions(kit, pygame.Rect(right.x, right.bottom - actions_h, right.w, actions_h), context)
        return [*widgets, *top]
    facts_h = FACT_ROWS * theme.px(26)
    facts_top = right.bottom - actions_h - theme.gap - facts_h
    widgets += _alarms(view, kit, pygame.Rect(right.x, right.y, right.w, facts_top - theme.px(8) - right.y))
    widgets += _facts(view, kit, pygame.Rect(right.x, facts_top, right.w, facts_h))
    widgets += _actions(kit, pygame.Rect(right.x, right.bottom - actions_h, right.w, actions_h), context)
    return [*widgets, *top]
