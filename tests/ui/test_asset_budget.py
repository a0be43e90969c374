"""The 360° sequences are big: only the one last shown stays in memory."""

import time

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
