"""Restock: the retailer has unlocked the cabinet; open the door, count the stock, close the door.

The firmware owns the counts (RestockScreen.restock_counts) and accepts changes only while the door is
open: each −/+ asks for the new count with SetCount(sku, count). With the door closed
again (door "closed") the counts are recorded and the screen lists what changed (restock_changes).
Rows come two columns a page; more products than fit a page get page buttons.
"""

from __future__ import annotations

import pygame

from kiosk_ui.context import BuildContext
from kiosk_ui.intents import Done, SetCount, UnlockAgain
from kiosk_ui.kit import Kit
from kiosk_ui.screens.chrome import chrome
from kiosk_ui.screens.door import door_countdown
from kiosk_ui.screens.parts import alarm_banner
from kiosk_ui.view import RestockScreen
from kiosk_ui.widgets import Button, Countdown, Label, Panel, Taps, Widget

MAX_COUNT = 999  # what the firmware accepts per product
COLUMNS = 2  # when one column of rows does not hold them all


def _status(view: RestockScreen, kit: Kit, box: pygame.Rect) -> list[Widget]:
    """What to do now: the big instruction, and under it a hint, the relock countdown or the outcome."""
    theme, palette = kit.theme, kit.theme.palette
    pad = theme.px(20)
    inner = box.inflate(-2 * pad, -2 * theme.px(8))
    title_h = inner.h * 55 // 100
    # Unlocked but the latch's pulse is over: the door is locked again, whatever the window left.
    relocked = view.door == "unlocked" and view.latch_until is None
    title = "door.relocked" if relocked else f"restock.{view.door}"
    widgets: list[Widget] = [
        Panel("door_panel", box, palette.surface, theme.radius),
        Label(
            kit,
            "title",
            (inner.x, inner.y, inner.w, title_h),
            kit.t(title),
            "title",
            palette.accent if view.door == "closed" else palette.text,
        ),
    ]
    hint = (inner.x, inner.y + title_h, inner.w, inner.h - title_h)
    _, countdown = door_countdown(view)
    if countdown is not None:
        until, caption = countdown
        widgets.append(
            Countdown(
                kit,
                "countdown_text",
                hint,
                until,
                lambda s: kit.t(caption, seconds=s),
                "body",
                palette.text_muted,
                "left",
            )
        )
    elif view.door == "closed":
        changed = any(added for _, added in view.changes)
        widgets.append(
            Label(
                kit,
                "hint",
                hint,
                kit.t("restock.changed" if changed else "restock.unchanged"),
                "body",
                palette.text_muted,
            )
        )
    else:
        widgets.append(Label(kit, "hint", hint, kit.t(f"restock.{view.door}.hint"), "body", palette.text_muted))
    return widgets


def _row_pad(kit: Kit) -> int:
    """A row's padding: thinner in accessibility mode, whose two lines of text take more of the row."""
    return kit.theme.px(4 if kit.theme.accessible else 10)


def _row(
    view: RestockScreen, kit: Kit, rect: pygame.Rect, sku: str, count: int, names: dict[str, str], added: int | None
) -> list[Widget]:
    """One product: its name and SKU, what changed, and its count between big − and + buttons."""
    theme, palette = kit.theme, kit.theme.palette
    editable = view.door == "opened"
    pad = _row_pad(kit)
    button = theme.touch(64)
    count_w = theme.px(64)
    widgets: list[Widget] = [Panel(f"row:{sku}", rect, palette.surface, theme.radius)]
    x = rect.right - pad
    if editable:
        x -= button
        widgets.append(
            Button(
                kit,
                f"count:{sku}:plus",
                (x, rect.centery - button // 2, button, button),
                "+",
                SetCount(sku, count + 1),
                style="secondary",
                role="title",
                enabled=count < MAX_COUNT,
            )
        )
    x -= count_w + (pad if editable else 0)
    widgets.append(Label(kit, f"count:{sku}", (x, rect.y, count_w, rect.h), str(count), "title", align="center"))
    if editable:
        x -= button + pad
        widgets.append(
            Button(
                kit,
                f"count:{sku}:minus",
                (x, rect.centery - button // 2, button, button),
                "−",
                SetCount(sku, count - 1),
                style="secondary",
                role="title",
                enabled=count > 0,
            )
        )
    text = pygame.Rect(rect.x + theme.px(16), rect.y + pad, x - rect.x - theme.px(16) - 2 * pad, rect.h - 2 * pad)
    name = names.get(sku, sku)
    upper = min(text.h * 56 // 100, text.h - theme.px(2) - kit.line_h(0))  # the mode: the SKU a whole line
    widgets.append(Label(kit, f"name:{sku}", (text.x, text.y, text.w, upper), name, "heading", valign="bottom"))
    lower = pygame.Rect(text.x, text.y + upper + theme.px(2), text.w, text.h - upper - theme.px(2))
    if added:
        badge = Label(
            kit,
            f"change:{sku}",
            (lower.right - theme.px(90), lower.y, theme.px(90), lower.h),
            f"{added:+d}".replace("-", "−"),
            "label",
            palette.on_accent if added > 0 else palette.on_danger,
            align="right",
            background=palette.accent if added > 0 else palette.danger,
            padding=(theme.px(12), 0),
            hug=True,
        )
        widgets.append(badge)
        lower.w = badge.rect.x - theme.px(8) - lower.x
    if name != sku:
        widgets.append(Label(kit, f"sku:{sku}", lower, sku, "label", palette.text_muted))
    return widgets


def _pager(kit: Kit, row: pygame.Rect, context: BuildContext, page: int, pages: int) -> list[Widget]:
    theme, palette = kit.theme, kit.theme.palette
    memory = context.memory
    button = theme.touch(64)

    def turn(by: int) -> Taps:
        memory.page = max(0, min(pages - 1, memory.page + by))
        context.rebuild()
        return None

    return [
        Button(
            kit,
            "page:prev",
            (row.x, row.y, button, button),
            "‹",
            None,
            style="secondary",
            role="title",
            enabled=page > 0,
            on_tap=lambda: turn(-1),
        ),
        Label(
            kit,
            "page",
            (row.x + button + theme.gap, row.y, theme.px(220), button),
            kit.t("restock.page", page=page + 1, pages=pages),
            "body",
            palette.text_muted,
        ),
        Button(
            kit,
            "page:next",
            (row.x + button + 2 * theme.gap + theme.px(220), row.y, button, button),
            "›",
            None,
            style="secondary",
            role="title",
            enabled=page < pages - 1,
            on_tap=lambda: turn(1),
        ),
    ]


def build(view: RestockScreen, kit: Kit, context: BuildContext) -> list[Widget]:
    theme, palette = kit.theme, kit.theme.palette
    top, content = chrome(view.chrome, kit, title=kit.t("restock.header"))
    widgets: list[Widget] = []
    y = content.y
    if view.alarm is not None:
        banner_w = content.w
        if view.alarm == "door_stuck":
            again_w = theme.touch(300)
            banner_w -= again_w + theme.gap
            widgets.append(
                Button(
                    kit,
                    "unlock_again",
                    (content.right - again_w, y, again_w, theme.touch(64)),
                    kit.t("door.unlock_again"),
                    UnlockAgain(),
                )
            )
        banner = alarm_banner(kit, view.alarm, pygame.Rect(content.x, y, banner_w, content.h))
        widgets.append(banner)
        y = banner.rect.bottom + theme.gap
    status_h = theme.px(92)
    status = pygame.Rect(content.x, y, content.w, status_h)
    if view.can_unlock_again and view.alarm != "door_stuck":  # the latch holds again: release it once more
        again_w, again_h = theme.touch(300), theme.touch(64)
        status.w -= again_w + theme.gap
        widgets.append(
            Button(
                kit,
                "unlock_again",
                (status.right + theme.gap, y + (status_h - again_h) // 2, again_w, again_h),
                kit.t("door.unlock_again"),
                UnlockAgain(),
            )
        )
    widgets += _status(view, kit, status)
    y += status_h + theme.gap

    bottom = content.bottom - theme.px(8)
    button_h = theme.touch(64)
    if view.door == "closed":  # recorded: the retailer finishes here
        done_w = theme.touch(240)
        widgets.append(
            Button(
                kit,
                "done",
                (content.right - done_w, bottom - button_h, done_w, button_h),
                kit.t("restock.done"),
                Done(),
            )
        )
    counts = view.counts
    if not counts:
        widgets.append(
            Label(
                kit,
                "empty",
                (content.x, y, content.w, theme.px(60)),
                kit.t("restock.empty"),
                "heading",
                palette.text_muted,
            )
        )
        return [*widgets, *top]

    # Accessibility mode: a row holds two whole lines of the mode's type (the name, the SKU)
    row_h, gap = max(theme.touch(64), 2 * kit.line_h(0) + theme.px(2)) + 2 * _row_pad(kit), theme.px(10)
    area_bottom = bottom - (button_h + theme.gap if view.door == "closed" else 0)
    rows = max(1, (area_bottom - y + gap) // (row_h + gap))
    columns = 1 if len(counts) <= rows else COLUMNS
    per_page = rows * columns
    if len(counts) > per_page:  # the page buttons take a row (the done button's, when there is one)
        if view.door != "closed":
            rows = max(1, (area_bottom - button_h - theme.gap - y + gap) // (row_h + gap))
        per_page = rows * columns
        pages = -(-len(counts) // per_page)
        page = context.memory.page = min(context.memory.page, pages - 1)
        widgets += _pager(kit, pygame.Rect(content.x, bottom - button_h, content.w, button_h), context, page, pages)
    else:
        page = 0
    names = {product.sku: product.name for product in view.products}
    names |= {v.sku: f"{p.name} · {v.name}" for p in view.products for v in p.variants}  # counted per variant
    changes = dict(view.changes)
    col_w = (content.w - theme.gap * (columns - 1)) // columns
    for i, (sku, count) in enumerate(counts[page * per_page : (page + 1) * per_page]):
        col, row = divmod(i, rows)
        rect = pygame.Rect(content.x + col * (col_w + theme.gap), y + row * (row_h + gap), col_w, row_h)
        widgets += _row(view, kit, rect, sku, count, names, changes.get(sku))
    return [*widgets, *top]
