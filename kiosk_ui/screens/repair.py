"""Repair drop-off: vehicle, contact, fault, consent, then the ticket (RepairScreen.step).

The UI owns the text typed into the fields (ScreenMemory.fields) and sends it when the person taps
next: one SetField(name, value) per field of the step, then Next(), in one go, so
the firmware validates the step with all its values in hand. It answers with field_errors (shown
under each field) or the next step. Values the firmware sends in RepairScreen.fields (the vehicle id the
camera read) replace what is typed when they change. Keys themselves tell the firmware nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import get_args

import pygame

from kiosk_ui.context import BuildContext, ScreenMemory
from kiosk_ui.entry import PHONE, VEHICLE, Layout, TextField, keyboard, text_keyboard
from kiosk_ui.illustration import scan_icon, tick_badge
from kiosk_ui.intents import Agree, Cancel, ChooseFaultCategory, ContinueOnPhone, Done, Next, SetField
from kiosk_ui.kit import Kit
from kiosk_ui.moving import Paragraph, scrolled_column
from kiosk_ui.screens.chrome import chrome
from kiosk_ui.screens.parts import on_phone, split
from kiosk_ui.view import FaultCategory, RepairScreen, RepairStep
from kiosk_ui.widgets import Button, Label, Panel, Picture, QrCode, Taps, Widget

REPAIR_STEPS: tuple[RepairStep, ...] = get_args(RepairStep)
NUMBERED = REPAIR_STEPS[:-1]  # the ticket is the outcome, not a step
FAULT_CATEGORIES: tuple[FaultCategory, ...] = get_args(FaultCategory)
FIELD_LIMITS = {"vehicle": 24, "name": 40, "phone": 20, "description": 200}  # characters
KEYBOARD_W = 940  # design px: wider keys than this only make the hand travel
FORM_W = 240  # design px: accessibility mode's column of fields beside the keys


def _take_firmware_values(view: RepairScreen, memory: ScreenMemory) -> None:
    """A value the firmware sends (again, but different) replaces what is typed; the same one does not."""
    given: dict[str, str] = dict(view.fields)
    if view.fault_category is not None:
        given["category"] = view.fault_category
    for name, value in given.items():
        if memory.sent.get(name) != value:
            memory.fields[name] = memory.sent[name] = value


def _focus(view: RepairScreen, memory: ScreenMemory, names: tuple[str, ...]) -> str:
    """The field the keyboard types into: the first one the firmware found wrong (once), else the last
    one tapped, else the first."""
    if view.field_errors != memory.errors_seen:
        memory.errors_seen = view.field_errors
        wrong = [name for name, _ in view.field_errors if name in names]
        if wrong:
            memory.focus = wrong[0]
    if memory.focus not in names:
        memory.focus = names[0]
    return memory.focus


class _Step:
    """What the builders of one step share: the kit, the memory, the firmware's errors."""

    def __init__(self, view: RepairScreen, kit: Kit, context: BuildContext, content: pygame.Rect) -> None:
        self.view, self.kit, self.context, self.content = view, kit, context, content
        self.memory = context.memory
        self.errors = dict(view.field_errors)

    def value(self, name: str) -> str:
        return self.memory.fields.get(name, "")

    def put(self, name: str, text: str) -> None:
        self.memory.fields[name] = text[: FIELD_LIMITS[name]]
        self.context.rebuild()

    def field(
        self, name: str, rect: pygame.Rect, *, focused: bool, tappable: bool = False, note: str = "", lines: int = 1
    ) -> list[Widget]:
        """The field and, under it (in error_h), the firmware's complaint about it."""
        kit = self.kit

        def take_focus() -> Taps:
            self.memory.focus = name
            self.context.rebuild()
            return None

        widgets: list[Widget] = [
            TextField(
                kit,
                f"field:{name}",
                rect,
                kit.t(f"field.{name}"),
                self.value(name),
                focused=focused,
                error=name in self.errors,
                note=note,
                max_lines=lines,
                on_tap=take_focus if tappable else None,
            )
        ]
        widgets += self.error(name, pygame.Rect(rect.x, rect.bottom, rect.w, self.error_h))
        return widgets

    @property
    def error_h(self) -> int:
        return self.kit.line_h(26)

    @property
    def row_h(self) -> int:
        """A field's height (and the next button's): its caption and one line of text."""
        theme = self.kit.theme
        return max(theme.touch(72), theme.px(12) + 2 * self.kit.line_h(22)) if theme.accessible else theme.touch(72)

    def form_and_keys(self) -> tuple[pygame.Rect, pygame.Rect]:
        """Accessibility mode: the fields and next in a column on the left, the keys beside them on the right,
        both as tall as the content area (four rows of keys under the fields would leave the reach zone)."""
        theme, content = self.kit.theme, self.content
        form_w = max(theme.px(FORM_W), content.w - theme.px(KEYBOARD_W) - theme.gap)
        form = pygame.Rect(content.x, content.y, form_w, content.h)
        return form, pygame.Rect(form.right + theme.gap, content.y, content.right - form.right - theme.gap, content.h)

    def error(self, name: str, rect: pygame.Rect) -> list[Widget]:
        if name not in self.errors:
            return []
        return [
            Label(
                self.kit,
                f"error:{name}",
                rect,
                self.kit.t(f"field_error.{self.errors[name]}"),
                "label",
                self.kit.theme.palette.danger,
            )
        ]

    def next_button(self, rect: pygame.Rect, names: tuple[str, ...], ready: bool) -> Button:
        def go() -> Taps:
            return (*(SetField(name, self.value(name)) for name in names), Next())

        return Button(self.kit, "next", rect, self.kit.t("repair.next"), None, enabled=ready, on_tap=go)

    def keyboard(
        self, name: str, rows: Layout | None, top: int, width: int | None = None, within: pygame.Rect | None = None
    ) -> list[Widget]:
        """The keys that type into the field: rows, or the layered text keyboard when None; across the content
        from top down, or at the bottom of within (accessibility mode: beside the fields)."""
        theme = self.kit.theme
        box = within or pygame.Rect(self.content.x, top, self.content.w, self.content.bottom - top)
        w = min(box.w, width or theme.px(KEYBOARD_W))
        h = box.h
        if within is not None:  # no taller than four rows of the largest keys, as near the bottom as can be
            h = min(h, 4 * theme.touch(76) + 3 * theme.px(8))
        area = pygame.Rect(box.centerx - w // 2, box.bottom - h, w, h)
        get, limit = (lambda: self.value(name)), FIELD_LIMITS[name]
        if rows is None:
            state = self.memory.keyboard
            return text_keyboard(
                self.kit, area, state, get, lambda text: self.put(name, text), limit, self.context.rebuild
            )
        return keyboard(self.kit, area, rows, get, lambda text: self.put(name, text), limit)


def _vehicle(step: _Step) -> list[Widget]:
    kit, content = step.kit, step.content
    theme, palette = kit.theme, kit.theme.palette
    if theme.accessible:
        return _vehicle_beside_keys(step)
    y = content.y
    icon = scan_icon(theme.px(56), palette.accent)
    widgets: list[Widget] = [Picture("scan_icon", (content.x, y, icon.get_width(), theme.px(60)), icon)]
    text_x = content.x + icon.get_width() + theme.gap
    text_right = content.right
    if step.view.phone == "offer":  # the long form on the shopper's own phone, in their own script
        phone_w = theme.touch(300)
        text_right -= phone_w + theme.gap
        phone = (content.right - phone_w, y, phone_w, theme.touch(64))
        widgets.append(Button(kit, "phone_offer", phone, kit.t("repair.phone_offer"), ContinueOnPhone()))
    widgets.append(
        Label(
            kit,
            "instructions",
            (text_x, y, text_right - text_x, theme.px(60)),
            kit.t("repair.vehicle"),
            "heading",
            max_lines=2,
        )
    )
    y += max(theme.px(60), theme.touch(64) if step.view.phone == "offer" else 0) + theme.px(10)
    row_h, next_w = theme.touch(72), theme.touch(200)
    widgets += step.field("vehicle", pygame.Rect(content.x, y, content.w - next_w - theme.gap, row_h), focused=True)
    widgets.append(
        step.next_button(
            pygame.Rect(content.right - next_w, y, next_w, row_h), ("vehicle",), bool(step.value("vehicle").strip())
        )
    )
    widgets += step.keyboard("vehicle", VEHICLE, y + row_h + step.error_h + theme.px(6))
    return widgets


def _vehicle_beside_keys(step: _Step) -> list[Widget]:
    """Accessibility mode: what to do (as much as fits), the field and next on the left, the keys on the right."""
    kit, (form, keys) = step.kit, step.form_and_keys()
    theme, row_h = kit.theme, step.row_h
    next_y = form.bottom - row_h
    field_y = next_y - theme.px(6) - step.error_h - row_h
    widgets = step.field("vehicle", pygame.Rect(form.x, field_y, form.w, row_h), focused=True)
    ready = bool(step.value("vehicle").strip())
    widgets.append(step.next_button(pygame.Rect(form.x, next_y, form.w, row_h), ("vehicle",), ready))
    room = field_y - theme.px(6) - form.y
    if room >= kit.line_h(0):
        text = kit.t("repair.vehicle")
        widgets.append(Label(kit, "instructions", (form.x, form.y, form.w, room), text, "body", max_lines=4))
    return widgets + step.keyboard("vehicle", VEHICLE, form.y, within=keys)


def _contact(step: _Step) -> list[Widget]:
    kit, content, view, memory = step.kit, step.content, step.view, step.memory
    theme = kit.theme
    focus = _focus(view, memory, ("name", "phone"))
    if theme.accessible:
        return _contact_beside_keys(step, focus)
    y = content.y
    widgets: list[Widget] = [
        Label(kit, "instructions", (content.x, y, content.w, theme.px(44)), kit.t("repair.contact"), "heading")
    ]
    y += theme.px(44) + theme.px(6)
    row_h, next_w = theme.touch(72), theme.touch(200)
    fields_w = content.w - next_w - theme.gap
    name_w = (fields_w - theme.gap) * 58 // 100
    widgets += step.field("name", pygame.Rect(content.x, y, name_w, row_h), focused=focus == "name", tappable=True)
    widgets += step.field(
        "phone",
        pygame.Rect(content.x + name_w + theme.gap, y, fields_w - name_w - theme.gap, row_h),
        focused=focus == "phone",
        tappable=True,
    )
    ready = bool(step.value("name").strip()) and bool(step.value("phone"))
    widgets.append(step.next_button(pygame.Rect(content.right - next_w, y, next_w, row_h), ("name", "phone"), ready))
    top = y + row_h + step.error_h + theme.px(6)
    if focus == "name":
        widgets += step.keyboard("name", None, top)
    else:
        widgets += step.keyboard("phone", PHONE, top, theme.px(480))
    return widgets


def _contact_beside_keys(step: _Step, focus: str) -> list[Widget]:
    """Accessibility mode: both fields and next in a column on the left, the focused field's keys on the right."""
    kit, (form, keys) = step.kit, step.form_and_keys()
    theme, row_h = kit.theme, step.row_h
    widgets: list[Widget] = []
    y = form.y
    for name in ("name", "phone"):
        widgets += step.field(name, pygame.Rect(form.x, y, form.w, row_h), focused=focus == name, tappable=True)
        y += row_h + step.error_h + theme.px(6)
    ready = bool(step.value("name").strip()) and bool(step.value("phone"))
    widgets.append(step.next_button(pygame.Rect(form.x, form.bottom - row_h, form.w, row_h), ("name", "phone"), ready))
    if focus == "name":
        return widgets + step.keyboard("name", None, form.y, within=keys)
    return widgets + step.keyboard("phone", PHONE, form.y, theme.px(480), within=keys)


def _fault(step: _Step) -> list[Widget]:
    kit, content, memory, context = step.kit, step.content, step.memory, step.context
    theme = kit.theme
    chosen = step.value("category")

    def choose(category: FaultCategory) -> Taps:
        memory.fields["category"] = category
        context.rebuild()
        return ChooseFaultCategory(category)

    if theme.accessible:
        return _fault_beside_keys(step, choose)
    gap = theme.px(10)
    button_h = theme.touch(64)
    button_w = (content.w - gap * (len(FAULT_CATEGORIES) - 1)) // len(FAULT_CATEGORIES)
    widgets: list[Widget] = []
    for i, category in enumerate(FAULT_CATEGORIES):
        rect = (content.x + i * (button_w + gap), content.y, button_w, button_h)
        widgets.append(
            Button(
                kit,
                f"fault:{category}",
                rect,
                kit.t(f"fault.{category}"),
                None,
                style="primary" if category == chosen else "secondary",
                on_tap=partial(choose, category),
            )
        )
    y = content.y + button_h
    widgets += step.error("category", pygame.Rect(content.x, y, content.w, step.error_h))
    y += step.error_h
    row_h, next_w = theme.touch(72), theme.touch(200)
    left = FIELD_LIMITS["description"] - len(step.value("description"))
    widgets += step.field(
        "description",
        pygame.Rect(content.x, y, content.w - next_w - theme.gap, row_h),
        focused=True,
        note=kit.t("field.left", count=left),
    )
    widgets.append(
        step.next_button(pygame.Rect(content.right - next_w, y, next_w, row_h), ("description",), bool(chosen))
    )
    widgets += step.keyboard("description", None, y + row_h + step.error_h + theme.px(4))
    return widgets


def _fault_beside_keys(step: _Step, choose: Callable[[FaultCategory], Taps]) -> list[Widget]:
    """Accessibility mode: first the categories, large, on their own (with the keys there is no room for them
    within reach); once one is chosen, it heads the column of the description field and next, a tap on it
    shows the categories again, and the keys are beside the column."""
    kit, memory, context = step.kit, step.memory, step.context
    theme, row_h, chosen = kit.theme, step.row_h, step.value("category")
    if chosen not in FAULT_CATEGORIES:
        content, gap = step.content, theme.px(10)
        widgets = step.error("category", pygame.Rect(content.x, content.y, content.w, step.error_h))
        grid = pygame.Rect(content.x, content.y + step.error_h + gap, content.w, content.h - step.error_h - gap)
        cols, rows = 3, 2
        w, h = (grid.w - gap * (cols - 1)) // cols, min(theme.touch(96), (grid.h - gap * (rows - 1)) // rows)
        for i, category in enumerate(FAULT_CATEGORIES):
            rect = (grid.x + i % cols * (w + gap), grid.y + i // cols * (h + gap), w, h)
            text = kit.t(f"fault.{category}")
            widgets.append(
                Button(kit, f"fault:{category}", rect, text, None, style="secondary", on_tap=partial(choose, category))
            )
        return widgets

    def choose_again() -> Taps:
        memory.fields["category"] = ""
        context.rebuild()
        return None

    form, keys = step.form_and_keys()
    label, caption = kit.t(f"fault.{chosen}"), kit.t("consent.fault")
    if row_h - 2 * theme.px(8) < 2 * kit.line_h(0):  # no room for two lines of the mode's type: one says both
        label, caption = f"{caption}: {label}", ""
    widgets = [
        Button(
            kit, f"fault:{chosen}", (form.x, form.y, form.w, row_h), label, None, sublabel=caption, on_tap=choose_again
        )
    ]
    left = FIELD_LIMITS["description"] - len(step.value("description"))
    y = form.y + row_h + theme.px(6)
    next_rect = pygame.Rect(form.x, form.bottom - row_h, form.w, row_h)
    field = pygame.Rect(form.x, y, form.w, max(row_h, next_rect.y - theme.px(6) - step.error_h - y))
    note = kit.t("field.left", count=left)
    widgets += step.field("description", field, focused=True, note=note, lines=4)
    widgets.append(step.next_button(next_rect, ("description",), True))
    return widgets + step.keyboard("description", None, form.y, within=keys)


def _consent(step: _Step) -> list[Widget]:
    """The data notice beside what the person entered: they agree knowing exactly what is kept."""
    kit, content = step.kit, step.content
    theme, palette = kit.theme, kit.theme.palette
    y = content.y
    widgets: list[Widget] = [
        Label(kit, "title", (content.x, y, content.w, theme.px(52)), kit.t("consent.title"), "title")
    ]
    y += theme.px(52) + theme.px(8)
    button_h = theme.touch(76)
    box = pygame.Rect(content.x, y, content.w, content.bottom - theme.px(8) - button_h - theme.gap - y)
    notice, details = split(kit, box, 56)
    pad = theme.px(22)
    widgets.append(Panel("notice_panel", notice, palette.surface, theme.radius))
    inner = notice.inflate(-2 * pad, -2 * theme.px(16))
    detail_rows = details.inflate(-2 * pad, -2 * theme.px(16)).h // 4
    if theme.accessible and detail_rows < kit.line_h(0) * 2:  # a caption and a value do not fit: both scroll
        widgets.append(Panel("details_panel", details, palette.surface, theme.radius))
        widgets += _consent_scrolled(step, inner, details.inflate(-2 * pad, -2 * theme.px(16)))
        return widgets + _consent_buttons(step)
    each = inner.h // 3
    dot = theme.px(10)
    for i, key in enumerate(("stored", "kept", "who")):
        row = pygame.Rect(inner.x, inner.y + i * each, inner.w, each)
        widgets.append(Panel(f"notice:{key}:dot", (row.x, row.y + theme.px(11), dot, dot), palette.accent, dot // 2))
        widgets.append(
            Label(
                kit,
                f"notice:{key}",
                (row.x + theme.px(24), row.y, row.w - theme.px(24), each),
                kit.t(f"consent.{key}"),
                "body",
                max_lines=3,
                valign="top",
            )
        )

    widgets.append(Panel("details_panel", details, palette.surface, theme.radius))
    inner = details.inflate(-2 * pad, -2 * theme.px(16))
    shown = _consent_shown(step)
    each = inner.h // len(shown)
    for i, (name, caption, value) in enumerate(shown):
        y = inner.y + i * each
        widgets.append(
            Label(
                kit,
                f"detail:{name}:label",
                (inner.x, y, inner.w, each * 42 // 100),
                caption,
                "label",
                palette.text_muted,
                valign="bottom",
            )
        )
        widgets.append(
            Label(
                kit,
                f"detail:{name}",
                (inner.x, y + each * 42 // 100, inner.w, each * 58 // 100),
                value or "—",
                "heading",
                valign="top",
            )
        )
    return widgets + _consent_buttons(step)


def _consent_shown(step: _Step) -> list[tuple[str, str, str]]:
    """(name, caption, value) of what the person entered."""
    kit = step.kit
    category = step.value("category")
    fault = kit.t(f"fault.{category}") if category in FAULT_CATEGORIES else ""
    shown = [(name, kit.t(f"field.{name}"), step.value(name)) for name in ("vehicle", "name", "phone")]
    return [*shown, ("category", kit.t("consent.fault"), fault)]


def _consent_scrolled(step: _Step, notice: pygame.Rect, details: pygame.Rect) -> list[Widget]:
    """Accessibility mode in a short content area: the notice and the entered details, each scrolled."""
    kit, memory = step.kit, step.memory
    palette = kit.theme.palette
    points = [Paragraph(f"• {kit.t(f'consent.{key}')}", "body", palette.text) for key in ("stored", "kept", "who")]
    entered: list[Paragraph] = []
    for _, caption, value in _consent_shown(step):
        entered.append(Paragraph(caption, "label", palette.text_muted, space=8 if entered else 0))
        entered.append(Paragraph(value or "—", "heading", palette.text))
    return [
        scrolled_column(kit, "notice", notice, points, memory.scroll),
        scrolled_column(kit, "details", details, entered, memory.details),
    ]


def _consent_buttons(step: _Step) -> list[Widget]:
    kit, content = step.kit, step.content
    theme = kit.theme
    button_h = theme.touch(76)
    button_w = (content.w - theme.gap) // 2
    buttons_y = content.bottom - theme.px(8) - button_h
    return [
        Button(
            kit,
            "cancel",
            (content.x, buttons_y, button_w, button_h),
            kit.t("nav.cancel"),
            Cancel(),
            style="secondary",
        ),
        Button(
            kit,
            "agree",
            (content.right - button_w, buttons_y, button_w, button_h),
            kit.t("consent.agree"),
            Agree(),
        ),
    ]


def _ticket_short(kit: Kit, content: pygame.Rect) -> bool:
    """Accessibility mode: whether the ticket's column is too short for its title row and three lines of what
    to do (then the title goes up to the header, and what to do scrolls)."""
    theme = kit.theme
    column = theme.px(64 + 96 + 8) + kit.line_h(30) + 3 * theme.gap + theme.touch(76) + 3 * kit.line_h(0)
    return theme.accessible and content.h - theme.gap < column


def _ticket(step: _Step) -> list[Widget]:
    kit, content, view = step.kit, step.content, step.view
    theme, palette = kit.theme, kit.theme.palette
    assert view.ticket is not None  # checked by validate_view
    body = content.inflate(0, -theme.gap)
    body.top = content.top
    left, right = split(kit, body, 58)
    badge = theme.px(64)
    widgets: list[Widget] = []
    y = left.y
    short = _ticket_short(kit, content)
    if not short:  # short: the title is in the header
        tick = tick_badge(badge, palette.accent, palette.on_accent)
        widgets.append(Picture("tick", (left.x, left.y, badge, badge), tick))
        title_rect = (left.x + badge + theme.gap, left.y, left.w - badge - theme.gap, badge)
        widgets.append(Label(kit, "title", title_rect, kit.t("ticket.title"), "title", max_lines=2))
        y += badge + theme.gap
    label_h = kit.line_h(30)
    number = kit.t("ticket.number")
    widgets.append(Label(kit, "ticket_label", (left.x, y, left.w, label_h), number, "body", palette.text_muted))
    y += label_h
    widgets.append(Label(kit, "ticket", (left.x, y, left.w, theme.px(96)), view.ticket, "countdown", palette.accent))
    y += theme.px(96) + theme.px(8)
    button_h = theme.touch(76)
    leave = pygame.Rect(left.x, y, left.w, left.bottom - button_h - theme.gap - y)
    if short:
        paragraphs = [Paragraph(kit.t("ticket.leave"), "body", palette.text)]
        widgets.append(scrolled_column(kit, "leave", leave, paragraphs, step.memory.scroll))
    else:
        widgets.append(Label(kit, "leave", leave, kit.t("ticket.leave"), "body", max_lines=3, valign="top"))
    widgets.append(
        Button(
            kit,
            "done",
            (left.x, left.bottom - button_h, theme.touch(260), button_h),
            kit.t("thanks.done"),
            Done(),
        )
    )

    widgets.append(Panel("qr_panel", right, palette.surface, theme.radius))
    pad = theme.px(20)
    widgets.append(
        Label(
            kit,
            "keep",
            (right.x + pad, right.y + theme.px(12), right.w - 2 * pad, theme.px(40)),
            kit.t("ticket.keep"),
            "heading",
            align="center",
        )
    )
    hint_h = theme.px(60)
    qr_y = right.y + theme.px(60)
    qr_px = min(right.w - 2 * pad, right.bottom - qr_y - hint_h - theme.px(12))
    widgets.append(QrCode("ticket_qr", (right.centerx - qr_px // 2, qr_y, qr_px, qr_px), view.ticket, theme.px(10)))
    widgets.append(
        Label(
            kit,
            "ticket_hint",
            (right.x + pad, qr_y + qr_px + theme.px(6), right.w - 2 * pad, hint_h),
            kit.t("ticket.hint"),
            "label",
            palette.text_muted,
            align="center",
            max_lines=3,
            valign="top",
        )
    )
    return widgets


_STEPS = {"vehicle": _vehicle, "contact": _contact, "fault": _fault, "consent": _consent, "ticket": _ticket}


def build(view: RepairScreen, kit: Kit, context: BuildContext) -> list[Widget]:
    assert view.step is not None  # checked by validate_view
    _take_firmware_values(view, context.memory)
    numbered = view.step in NUMBERED
    title = (
        kit.t("repair.step", step=NUMBERED.index(view.step) + 1, steps=len(NUMBERED))
        if numbered
        else kit.t("ticket.title")
        if _ticket_short(kit, kit.theme.content)
        else kit.t("repair.booked")
    )
    top, content = chrome(
        view.chrome,
        kit,
        back=numbered,
        home=not numbered,
        nav_intent=None if numbered else Done(),
        help_button=True,
        title=title,
    )
    step = _Step(view, kit, context, content)
    return [*(_on_phone(step) if view.phone_link else _STEPS[view.step](step)), *top]


def _on_phone(step: _Step) -> list[Widget]:
    """The form continues on the shopper's phone: its QR, how far the phone got, and the way back to typing."""
    assert step.view.phone_link is not None
    return on_phone(step.kit, step.content, step.view.phone_link, step.view.phone, "repair")
