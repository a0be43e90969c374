"""Service: the technician's menu, which the firmware opens after a technician card or PIN.

Devices and their status, the self-test and its outcome, the uploader, the configuration version and
the last errors on the left and right; the actions under them. Restart asks again: the first tap
arms it for RESTART_CONFIRM_S, a second tap meanwhile emits Restart().
"""

from __future__ import annotations

import pygame

from kiosk_ui.context import BuildContext
from kiosk_ui.intents import ExitService, Intent, LockTest, OpenCalibration, Restart, RunSelfTest
from kiosk_ui.kit import Kit
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
    for name, status, detail in shown:
        background, text = _status_colours(kit, status)
        widgets.append(Label(kit, f"device:{name}", (box.x, y, name_w - theme.px(8), row_h), name, "body"))
        widgets.append(
            Label(
                kit,
                f"device:{name}:status",
                (box.x + name_w, y + theme.px(4), pill_w, row_h - theme.px(8)),
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
                detail,
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
        faults = sum(1 for _, status, _ in view.devices if status == "fault")
        colour = {"running": palette.text_muted, "passed": palette.accent, "failed": palette.danger}[view.selftest]
        widgets.append(
            Label(
                kit,
                "selftest_result",
                (row.x + button_w + theme.gap, row.y, row.w - button_w - theme.gap, row.h),
                kit.t(f"service.selftest.{view.selftest}", count=faults),
                "heading",
                colour,
            )
        )
    return widgets


def _facts(view: ServiceScreen, kit: Kit, box: pygame.Rect) -> tuple[list[Widget], int]:
    """Sync, configuration and the last errors, top down; returns them and where they end."""
    theme, palette = kit.theme, kit.theme.palette
    line_h, label_w = theme.px(28), box.w * 55 // 100
    widgets: list[Widget] = []
    y = box.y

    def fact(key: str, label: str, value: str, colour: Colour | None = None) -> None:
        nonlocal y
        widgets.append(Label(kit, f"{key}_label", (box.x, y, label_w, line_h), label, "body", palette.text_muted))
        widgets.append(
            Label(kit, key, (box.x + label_w, y, box.w - label_w, line_h), value, "body", colour, align="right")
        )
        y += line_h

    widgets.append(Label(kit, "sync_title", (box.x, y, box.w, theme.px(36)), kit.t("service.sync"), "heading"))
    y += theme.px(40)
    sync = view.sync
    fact("pending", kit.t("service.pending"), str(sync.pending))
    fact("last_success", kit.t("service.last_success"), sync.last_success or kit.t("service.never"))
    fact(
        "dead_letters",
        kit.t("service.dead_letters"),
        str(sync.dead_letters),
        palette.warning if sync.dead_letters else None,
    )
    fact("config_version", kit.t("service.config"), view.config_version or "—")
    y += theme.px(8)
    widgets.append(Label(kit, "errors_title", (box.x, y, box.w, theme.px(36)), kit.t("service.errors"), "heading"))
    y += theme.px(40)
    return widgets, y


def _errors(view: ServiceScreen, kit: Kit, box: pygame.Rect) -> list[Widget]:
    theme, palette = kit.theme, kit.theme.palette
    line_h = theme.px(26)
    if not view.errors:
        return [
            Label(
                kit, "no_errors", (box.x, box.y, box.w, line_h), kit.t("service.no_errors"), "label", palette.text_muted
            )
        ]
    return [
        Label(kit, f"error:{i}", (box.x, box.y + i * line_h, box.w, line_h), text, "label", palette.danger)
        for i, text in enumerate(view.errors[: max(1, box.h // line_h)])
    ]


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
    widgets += _devices(view, kit, pygame.Rect(inner.x, inner.y, inner.w, inner.h - button_h - theme.gap))
    widgets += _selftest(view, kit, pygame.Rect(inner.x, inner.bottom - button_h, inner.w, button_h))

    actions_h = 2 * button_h + theme.px(10)
    facts, y = _facts(view, kit, right)
    widgets += facts
    widgets += _errors(view, kit, pygame.Rect(right.x, y, right.w, right.bottom - actions_h - theme.gap - y))
    widgets += _actions(kit, pygame.Rect(right.x, right.bottom - actions_h, right.w, actions_h), context)
    return [*widgets, *top]
