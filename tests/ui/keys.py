"""The keys a person taps to type a text on the layered text keyboard (kiosk_ui.entry.TEXT_LAYERS): layer
keys and shift as needed, then the character; shared by the UI tests and the end-to-end tests."""

from __future__ import annotations

from kiosk_ui.entry import LETTERS, SHIFT, TEXT_LAYERS, shifted


def text_key_taps(text: str) -> list[str]:
    """Widget ids to tap, in order, starting on the letters layer with shift off."""
    layer, shift = LETTERS, False
    taps: list[str] = []
    for char in text:
        if char == " ":
            taps.append("kbd:space")
            continue
        found = _find(char, layer)
        if found is None:
            raise ValueError(f"{char!r} is on no layer of the text keyboard")
        key_layer, needs_shift = found
        if key_layer != layer:
            taps.append(f"kbd:{key_layer}")
            layer, shift = key_layer, False
        if needs_shift != shift:
            taps.append(f"kbd:{SHIFT}")
        taps.append(f"kbd:{char}")
        shift = False  # a character typed with shift on turns it off
    return taps


def _find(char: str, current: str) -> tuple[str, bool] | None:
    """(layer, shift needed) of the key typing char, the current layer first."""
    for name in (current, *TEXT_LAYERS):
        for row in TEXT_LAYERS[name]:
            for key, _ in row:
                if len(key) == 1 and key == char:
                    return name, False
                if len(key) == 1 and shifted(key, True) == char != key:
                    return name, True
    return None
