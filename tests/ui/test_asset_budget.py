"""The 360° sequences are big: only the one last shown stays in memory."""

import functools
import gc
import time
import weakref

import pytest

from kiosk_ui.assets import AssetLoader


def wait(loader, key, load):
    deadline = time.monotonic() + 5
    while (value := loader.get(key, load)) is None:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    return value


def test_only_the_last_spin_sequence_is_kept_and_small_assets_stay():
    loader = AssetLoader()
    loads = []

    def load(name):
        return lambda: loads.append(name) or name

    try:
        wait(loader, ("font", "big"), load("font"))
        keep = AssetLoader.KEEP["drawn"]
        skus = [f"P{i}" for i in range(keep + 1)]
        for sku in skus:
            wait(loader, ("drawn", sku), load(sku))
        assert wait(loader, ("drawn", skus[-1]), load(skus[-1])) == skus[-1] and loads.count(skus[-1]) == 1, (
            "the latest is kept: no reload"
        )
        wait(loader, ("drawn", skus[0]), load(skus[0]))
        assert loads.count(skus[0]) == 2, "the oldest was evicted, so it loads again"
        assert loads.count("font") == 1 and wait(loader, ("font", "big"), load("font")) == "font"
        assert loads.count("font") == 1, "small assets are never evicted"
    finally:
        loader.close()


def test_texts_that_change_with_every_sale_keep_the_text_cache_within_its_budget(static_ui):
    """Stock counts and prices change with every sale: after thousands of them the text surfaces held stay
    within a few MB (a cache bounded by entries held 1024 of them, tens of MB), and texts still render."""
    from kiosk_ui.text import TextRenderer
    from kiosk_ui.theme import Fonts, Theme

    renderer = TextRenderer(Theme((1024, 600)), Fonts())
    for n in range(3000):
        renderer.render(f"{n} in stock", "body", (20, 20, 20), 600, 80)
        renderer.render(f"Total €{n},00 for the Cruiser C7 e-bike", "heading", (20, 20, 20), 900, 80)
    held = sum(surface.get_pitch() * surface.get_height() for surface, *_ in renderer._cache.values())
    assert held <= 2 * 1024 * 600 * 4, f"{held / 2**20:.1f} MB of rendered text held: more than two screens"
    assert renderer.render("12 in stock", "body", (20, 20, 20), 600, 80).get_width() > 0


def test_the_360_frames_of_each_product_visited_are_let_go_once_its_page_is_left(static_ui):
    """A shopper looks at five products and walks away: while a product is shown its frames are held,
    one product's at a time; on the catalog none of the five is held any more (MBs each on a Pi)."""
    from dataclasses import replace

    from kiosk_ui.samples import sample_views

    views = sample_views("en")
    shown = views["product"]
    held: list[list[weakref.ref]] = []
    for i, colour in enumerate(("#d03030", "#30a0d0", "#e0c020", "#40c060", "#a040c0")):
        product = replace(shown.product, sku=f"P{i}", name=f"Model {i}", colour=colour, variants=())
        static_ui.set_state(replace(shown, product=product))
        static_ui.settle()
        spinner = next(w for w in static_ui._widgets if w.id == "spinner")
        frames = spinner.frames()
        assert frames is not None and len(frames) == 36
        held.append([weakref.ref(frame) for frame in frames])
        del spinner, frames
        gc.collect()
        alive = [n for n, refs in enumerate(held) if any(ref() is not None for ref in refs)]
        assert alive == [i], f"on product {i}, the frames of products {alive} are held"
    static_ui.set_state(views["catalog"])
    static_ui.settle()
    gc.collect()
    alive = [n for n, refs in enumerate(held) if any(ref() is not None for ref in refs)]
    assert alive == [], f"back on the catalog, the frames of products {alive} are still held"


SALE = ("attract", "catalog", "product", "checkout", "checkout_present_card", "checkout_processing")
SALE += ("door_opened", "thanks")  # (door_unlocked counts seconds down: its text changes)


@pytest.mark.parametrize("size", [(1024, 600), (1920, 1080)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_a_sale_in_two_languages_fits_the_text_cache_so_the_next_sale_renders_no_text(size, monkeypatch):
    """The text cache is small, but not so small that a sale's screens render their texts again: after a
    sale whose shopper switched to Chinese half-way, the next such sale finds every text in the cache."""
    from kiosk_ui.app import KioskUi
    from kiosk_ui.samples import sample_views
    from kiosk_ui.text import TextRenderer

    views = {language: sample_views(language) for language in ("en", "zh")}
    ui = KioskUi(size, on_intent=lambda intent: None)
    ui.start()
    try:

        def sale() -> None:
            for n, name in enumerate(SALE):
                ui.set_state(views["en" if n < 3 else "zh"][name])
                ui.settle()

        sale()
        rendered: list[str] = []
        render = TextRenderer._render
        monkeypatch.setattr(
            TextRenderer, "_render", lambda self, text, *a: rendered.append(text) or render(self, text, *a)
        )
        sale()
        assert rendered == [], f"rendered again: {rendered[:5]}"
    finally:
        ui.close()


def test_a_receipt_code_per_sale_keeps_only_a_few_qr_surfaces(static_ui):
    """Each sale's receipt has its own QR code: after 50 sales the codes held are the store's and the last
    receipt's, not the last 16 sales' (2.6 MB at 1024x600), and the store's code is not drawn again."""
    from kiosk_ui.assets import QR_CACHE, qr_surface

    qr_surface.cache_clear()
    store = qr_surface("https://shop.example/store", 203)
    for sale in range(50):  # each sale: the product page's store code, then the receipt's
        assert qr_surface("https://shop.example/store", 203) is store, "the store's code drawn again"
        qr_surface(f"https://shop.example/r/{sale:08d}", 203)
    assert qr_surface.cache_info().currsize <= 2 == QR_CACHE


def test_the_texts_cached_are_run_length_encoded_once_drawn_and_the_screen_looks_the_same(monkeypatch):
    """Most of a text's pixels are transparent: each cached text is kept run-length encoded once drawn (SDL
    frees its plain pixels, about half the text cache's memory), and every screen of a sale looks as it
    does with plain pixels (to a level of rounding)."""
    import pygame

    from kiosk_ui.app import KioskUi
    from kiosk_ui.samples import sample_views
    from kiosk_ui.text import TextRenderer

    views = sample_views("en")

    def sale_screens() -> tuple[list[bytes], list[pygame.Surface]]:
        ui = KioskUi((1024, 600), on_intent=lambda intent: None)
        ui.start()
        try:
            shots = []
            for name in SALE:
                ui.set_state(views[name])
                ui.settle()
                shots.append(pygame.image.tobytes(ui._screen, "RGB"))
            return shots, [surface for surface, *_ in ui.text_renderer._cache.values()]
        finally:
            ui.close()

    encoded, texts = sale_screens()
    assert texts and all(text.get_flags() & (pygame.RLEACCELOK | pygame.RLEACCEL) for text in texts)
    held = {text: text.get_pitch() * text.get_height() for text in texts}  # bytes of their plain pixels
    drawn_encoded = sum(size for text, size in held.items() if text.get_flags() & pygame.RLEACCEL)
    # (the rest are texts of widgets built but not drawn: they are encoded when first drawn)
    assert drawn_encoded >= 0.75 * sum(held.values()), "most of the texts of a sale kept with plain pixels"
    render = TextRenderer._render

    def plain(self, *args):
        surface, size, cut = render(self, *args)
        surface.set_alpha(255)  # without RLEACCEL: plain pixels, as before
        return surface, size, cut

    monkeypatch.setattr(TextRenderer, "_render", plain)
    for name, (shot, reference) in zip(SALE, zip(encoded, sale_screens()[0], strict=True), strict=True):
        if name == "product":  # its 360° view turns by itself: compared on the other screens
            continue
        worst = max(abs(a - b) for a, b in zip(shot, reference, strict=True))
        assert worst <= 1, f"{name}: a pixel differs by {worst} levels from the screen with plain texts"


@pytest.mark.parametrize("screen", ["catalog", "checkout"])
def test_the_product_drawings_cached_are_run_length_encoded_once_drawn_and_look_the_same(screen, monkeypatch):
    """A product's drawing is cached at the size of each screen that shows it (4.6 MB for two products):
    once drawn, each is kept run-length encoded (SDL frees its plain pixels: 2.9 MB), and the screen looks as
    it does with plain pixels (to 2 levels of rounding)."""
    import pygame

    from kiosk_ui import illustration
    from kiosk_ui.app import KioskUi
    from kiosk_ui.samples import sample_views

    view = sample_views("en")[screen]
    made: list[pygame.Surface] = []
    draw = illustration.draw_vehicle
    monkeypatch.setattr(illustration, "draw_vehicle", lambda *args: made.append(draw(*args)) or made[-1])

    def shown() -> bytes:
        illustration._draw.cache_clear()
        ui = KioskUi((1024, 600), on_intent=lambda intent: None)
        ui.start()
        try:
            ui.set_state(view)
            ui.settle()
            return pygame.image.tobytes(ui._screen, "RGB")
        finally:
            ui.close()

    encoded = shown()
    assert made and all(drawing.get_flags() & (pygame.RLEACCELOK | pygame.RLEACCEL) for drawing in made)
    if screen == "checkout":  # (the catalog shows a product out of stock dimmed: a copy of its drawing)
        assert all(drawing.get_flags() & pygame.RLEACCEL for drawing in made), "a drawing shown kept plain"
    cached = illustration._draw

    def plain(*args):
        drawing = cached.__wrapped__(*args)
        drawing.set_alpha(255)  # without RLEACCEL: plain pixels, as before
        return drawing

    monkeypatch.setattr(illustration, "_draw", functools.lru_cache(maxsize=64)(plain))
    worst = max(abs(a - b) for a, b in zip(encoded, shown(), strict=True))
    assert worst <= 2, f"a pixel differs by {worst} levels from the screen with plain drawings"


def test_a_sale_in_two_languages_keeps_at_most_eight_font_faces_open_and_its_texts_look_the_same(monkeypatch):
    """Fitting texts tries font sizes down to the readable minimum: a sale opened 13 faces (14 with a switch
    to Chinese), about 260 KB each, all kept. The latest 8 used stay open; every text of the sale is drawn
    exactly as with every face kept."""
    import pygame

    from kiosk_ui.app import KioskUi
    from kiosk_ui.samples import sample_views
    from kiosk_ui.theme import Fonts

    views = {language: sample_views(language) for language in ("en", "zh")}

    def sale() -> tuple[dict[tuple, bytes], int]:
        ui = KioskUi((1024, 600), on_intent=lambda intent: None)
        ui.start()
        try:
            for n, name in enumerate(SALE):
                ui.set_state(views["en" if n < 3 else "zh"][name])
                ui.settle()
            renderer = ui.text_renderer
            texts = {key: pygame.image.tobytes(surface, "RGBA") for key, (surface, *_) in renderer._cache.items()}
            return texts, len(renderer.fonts._fonts)
        finally:
            ui.close()

    bounded, held = sale()
    assert held <= Fonts.KEEP == 8
    monkeypatch.setattr(Fonts, "KEEP", 1000)
    every, held_all = sale()
    assert held_all > 8, f"the sale opened only {held_all} faces: the bound is not exercised"
    assert bounded.keys() == every.keys()
    differ = [key[0] for key in bounded if bounded[key] != every[key]]
    assert differ == [], f"drawn differently with 8 faces kept: {differ[:5]}"
