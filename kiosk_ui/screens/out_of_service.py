"""Out of service: the cabinet cannot record a sale, so it offers no payment.

Nothing a shopper starts here could be kept (a sale, a pickup's used code, a repair ticket all live in the
store), so the screen offers only help (the support phone) and home, which looks at the store again: the
same honest screen while it still fails, the start screen once it works. The staff's hidden hold moves
from the brand (home takes its place) to the title, so a technician with a PIN still gets in.

After a payment the cabinet could not record, the last buyer also reads what
happened to their money (view.message "not_charged" or "refund_pending"),
and, for a refund, how to reach the retailer and the cabinet's number.
"""

from __future__ import annotations

from kiosk_ui.context import BuildContext
from kiosk_ui.intents import OpenStaff
from kiosk_ui.kit import Kit
from kiosk_ui.screens.chrome import chrome
from kiosk_ui.screens.parts import banner, centred_heading, split
from kiosk_ui.view import OutOfServiceScreen
from kiosk_ui.widgets import HoldArea, Label, Panel, Widget


def build(view: OutOfServiceScreen, kit: Kit, context: BuildContext) -> list[Widget]:
    theme, palette = kit.theme, kit.theme.palette
    top, content = chrome(view.chrome, kit, home=True, help_button=True)
    widgets: list[Widget] = []
    y = content.y
    heading_area = content
    if theme.accessible and view.message == "refund_pending":  # what to do beside what happened, within reach
        heading_area, content = split(kit, content, 50)
    if view.message:
        notice = banner(
            kit,
            "message",
            heading_area,
            kit.t(f"message.{view.message}"),
            alarming=view.message == "refund_pending",
            height=88,
        )
        widgets.append(notice)
        y = notice.rect.bottom + theme.gap
    title_h, subtitle_h = theme.px(70), theme.px(64)
    heading = centred_heading(kit, heading_area, y, kit.t("oos.title"), kit.t("oos.subtitle"), subtitle_h, 2)
    widgets += heading
    if not theme.accessible:  # accessible: the header's brand keeps the hold
        widgets.append(HoldArea("staff", heading[0].rect, view.chrome.staff_hold_s, OpenStaff()))
    y = content.y if heading_area is not content else y + title_h + subtitle_h + theme.gap
    if view.message == "refund_pending":
        panel_w = min(content.w, theme.px(640))
        pad = theme.px(20)
        panel = Panel(
            "call_panel", (content.centerx - panel_w // 2, y, panel_w, theme.px(150)), palette.surface, theme.radius
        )
        inner = panel.rect.inflate(-2 * pad, -2 * theme.px(12))
        widgets += [
            panel,
            Label(
                kit,
                "call_label",
                (inner.x, inner.y, inner.w, kit.line_h(28)),
                kit.t("help.call"),
                "body",
                palette.text_muted,
            ),
            Label(
                kit,
                "support_phone",
                (inner.x, inner.y + max(theme.px(30), kit.line_h(28)), inner.w, theme.px(56)),
                view.support_phone or kit.t("help.no_phone"),
                "heading",
                palette.accent,
                max_lines=2,
            ),
            Label(
                kit,
                "cabinet",
                (inner.x, inner.y + theme.px(90), inner.w, theme.px(36)),
                f"{kit.t('help.cabinet')}: {view.chrome.cabinet_id or '—'}",
                "body",
            ),
        ]
    if view.message and view.reference:  # the last buyer's sale, as support will ask for it
        ref_y = panel.rect.bottom + theme.gap if view.message == "refund_pending" else y
        widgets.append(
            Label(
                kit,
                "reference",
                (content.x, ref_y, content.w, theme.px(40)),
                f"{kit.t('thanks.reference')}: {view.reference}",
                "heading",
                align="center",
            )
        )
    return [*widgets, *top]
