"""Attract: the idle screen. Ads and product showcases take turns; touching anywhere starts a visit."""

from __future__ import annotations

import time
from typing import Any

import pygame

from kiosk_ui.ads import AttractShow
from kiosk_ui.context import BuildContext
from kiosk_ui.i18n import format_price
from kiosk_ui.illustration import illustration, vehicle_drawing
from kiosk_ui.intents import Intent, OpenAd, Start
from kiosk_ui.kit import Kit
from kiosk_ui.narration_video import narration_video
from kiosk_ui.screens.chrome import chrome
from kiosk_ui.screens.narration import subtitle_band
from kiosk_ui.view import AttractScreen, ProductView
from kiosk_ui.widgets import Label, Picture, TouchArea, Widget, stock_colour, stock_text


class AttractStage(Widget):
    """The attract content: the current ad (image or video frame) or product showcase."""

    kind = "stage"

    def __init__(
        self,
        rect: pygame.Rect,
        show: AttractShow,
        showcases: list[list[Widget]],
        ad_overlay: dict[str, list[Widget]],  # by ad id: what is drawn over that ad
        backdrop: tuple[int, int, int],
        radius: int,
    ) -> None:
        super().__init__("stage", rect)
        self.show, self.showcases, self.ad_overlay = show, showcases, ad_overlay
        self.backdrop, self.radius = backdrop, radius

    def _parts(self) -> list[Widget]:
        slot = self.show.slot
        if slot.ad is not None:
            return self.ad_overlay.get(slot.ad.id, [])
        return self.showcases[slot.product % len(self.showcases)]

    def children(self) -> list[Widget]:
        return self._parts()

    def current_label(self) -> str:
        slot = self.show.slot
        return slot.ad.id if slot.ad is not None else "showcase"

    def info_extra(self) -> dict[str, Any]:
        slot = self.show.slot
        return {"showing": "ad" if slot.ad is not None else "showcase", "ad": slot.ad.id if slot.ad else None}

    def next_redraw(self, now: float) -> float | None:
        return self.show.next_change(now)

    def redraw_rect(self) -> pygame.Rect:
        """While a video plays only its picture changes (the pill over it is redrawn with it)."""
        now = time.monotonic()
        self.show.advance(now)  # a turn that ends now needs the whole stage
        ad = self.show.slot.ad
        picture = self.show.media(now) if ad is not None and ad.kind == "video" else None
        return picture.get_rect(center=self.rect.center) if picture is not None else self.rect

    def loading(self) -> bool:
        slot = self.show.slot
        return slot.ad is not None and slot.shown_at is None

    def draw(self, surface: pygame.Surface, pressed_id: str | None = None) -> None:
        now = time.monotonic()
        self.show.advance(now)
        picture = self.show.media(now)
        if self.show.slot.ad is not None:
            pygame.draw.rect(surface, self.backdrop, self.rect, border_radius=self.radius)
            if picture is not None:
                surface.blit(picture, picture.get_rect(center=self.rect.center))
        for part in self._parts():
            part.draw(surface, pressed_id)
        if picture is not None:
            self.show.drawn(now)


class AttractTouch(TouchArea):
    """The whole screen: a touch over an ad opens what it advertises (the firmware knows which product),
    over a showcase it starts a visit."""

    def __init__(self, rect: tuple[int, int, int, int] | pygame.Rect, label: str, show: AttractShow) -> None:
        super().__init__("start", rect, label, Start())
        self.show = show

    @property
    def intent(self) -> Intent | None:
        ad = self.show.slot.ad
        return OpenAd(ad.id) if ad is not None else Start()


def _showcase(kit: Kit, area: pygame.Rect, product: ProductView | None, text_parts: list[Widget]) -> list[Widget]:
    """One product in the spotlight beside the shared title and call to action."""
    theme, palette = kit.theme, kit.theme.palette
    art_box = pygame.Rect(area.x + area.w * 48 // 100, area.y, area.w * 52 // 100, area.h - theme.px(70))
    if product is None:
        return [*text_parts, Picture("hero", art_box, vehicle_drawing("scooter", palette.accent, art_box.size))]
    caption_y = art_box.bottom + theme.px(6)
    half = art_box.w // 2
    return [
        *text_parts,
        Picture("hero", art_box, illustration(product, art_box.size)),
        Label(
            kit, "hero_name", (art_box.x, caption_y, art_box.w, theme.px(32)), product.name, "heading", align="center"
        ),
        Label(
            kit,
            "hero_price",
            (art_box.x, caption_y + theme.px(32), half - theme.px(8), kit.line_h(30)),
            format_price(product.price_cents, product.currency),
            "heading",
            palette.accent,
            align="right",
        ),
        Label(
            kit,
            "hero_stock",
            (art_box.x + half + theme.px(8), caption_y + theme.px(32), half - theme.px(8), kit.line_h(30)),
            stock_text(kit, product),
            "body",
            stock_colour(kit, product),
        ),
    ]


def build(view: AttractScreen, kit: Kit, context: BuildContext) -> list[Widget]:
    theme, palette = kit.theme, kit.theme.palette
    top, content = chrome(view.chrome, kit, help_button=True, pickup=True, repair=True)
    subtitles = subtitle_band(kit, content, view.subtitle)
    if subtitles:  # the showcase makes room for the narration's subtitles under it
        content = pygame.Rect(content.x, content.y, content.w, subtitles[0].rect.y - theme.gap - content.y)

    # The shared half of every showcase: title, subtitle, the call to action.
    text_col = pygame.Rect(content.x, content.y, content.w * 44 // 100, content.h)
    title_h, subtitle_h, pill_h = theme.px(150), theme.px(96), theme.touch(64)
    block_h = title_h + theme.gap + subtitle_h + theme.px(36) + pill_h
    if theme.accessible and block_h > text_col.h:  # a short content area (in reach, over subtitles): the title gives
        title_h = max(kit.line_h(0), title_h - (block_h - text_col.h))  # way, its type smaller down to the minimum
        block_h = title_h + theme.gap + subtitle_h + theme.px(36) + pill_h
    y = text_col.y + (text_col.h - block_h) // 2
    title = Label(
        kit,
        "title",
        (text_col.x, y, text_col.w, title_h),
        kit.t("attract.title"),
        "display",
        max_lines=2,
        valign="bottom",
    )
    y += title_h + theme.gap
    subtitle = Label(
        kit,
        "subtitle",
        (text_col.x, y, text_col.w, subtitle_h),
        kit.t("attract.subtitle"),
        "body",
        palette.text_muted,
        max_lines=3,
        valign="top",
    )
    y += subtitle_h + theme.px(36)
    hint = Label(
        kit,
        "start_hint",
        (text_col.x, y, text_col.w, pill_h),
        kit.t("attract.start"),
        "button",
        palette.on_accent,
        background=palette.accent,
        padding=(theme.px(32), theme.px(10)),
        hug=True,
    )

    shown = [p for p in view.products if p.in_stock or p.online_only] or list(view.products)
    showcases = [_showcase(kit, content, product, [title, subtitle, hint]) for product in shown] or [
        _showcase(kit, content, None, [title, subtitle, hint])
    ]

    # Over an ad: only the call to action, as a pill at the bottom.
    pill_w = min(content.w - 2 * theme.gap, theme.px(420))
    ad_hint = Label(
        kit,
        "start_hint",
        (content.centerx - pill_w // 2, content.bottom - pill_h - theme.gap, pill_w, pill_h),
        kit.t("attract.start"),
        "button",
        palette.on_accent,
        background=palette.accent,
        padding=(theme.px(32), theme.px(10)),
        align="center",
        hug=True,
    )

    # The ad's own words (the retailer's, in the shopper's language) in a band across its top.
    ad_overlay: dict[str, list[Widget]] = {
        ad.id: [
            *(
                [
                    Label(
                        kit,
                        "ad_text",
                        (content.x, content.y, content.w, theme.px(96)),
                        ad.text,
                        "heading",
                        background=palette.surface,
                        padding=(theme.px(24), theme.px(10)),
                        align="center",
                        max_lines=2,
                    )
                ]
                if ad.text
                else []
            ),
            ad_hint,
        ]
        for ad in view.ads
    }
    memory = context.memory
    if memory.attract is None:
        memory.attract = AttractShow(context.loader, context.emit)
    memory.attract.configure(view.ads, len(shown), content.size)
    stage = AttractStage(content, memory.attract, showcases, ad_overlay, palette.surface, theme.radius)
    anywhere = theme.content if theme.accessible else (0, 0, theme.width, theme.height)  # accessible: within reach
    video = narration_video(content, view.video, memory, palette.surface)  # a narration's video: the ads wait
    start: Widget = (
        TouchArea("start", anywhere, kit.t("attract.start"), Start())
        if video
        else AttractTouch(anywhere, kit.t("attract.start"), memory.attract)
    )
    return [start, *(video or [stage]), *subtitles, *top]
