"""The 360° sequences are big: only the most recently shown few stay in memory."""
import time

from kiosk_ui.assets import AssetLoader


def wait(loader, key, load):
    deadline = time.monotonic() + 5
    while (value := loader.get(key, load)) is None:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    return value


def test_only_the_last_two_spin_sequences_are_kept_and_others_stay():
    loader = AssetLoader()
    loads = []

    def load(name):
        return lambda: loads.append(name) or name

    try:
        wait(loader, ("font", "big"), load("font"))
        for sku in ("A", "B", "C"):
            wait(loader, ("drawn", sku), load(sku))
        assert wait(loader, ("drawn", "C"), load("C")) == "C" and loads.count("C") == 1, "kept: no reload"
        wait(loader, ("drawn", "A"), load("A"))
        assert loads.count("A") == 2, "A was evicted when C came, so it loads again"
        assert loads.count("font") == 1 and wait(loader, ("font", "big"), load("font")) == "font"
        assert loads.count("font") == 1, "small assets are never evicted"
    finally:
        loader.close()
