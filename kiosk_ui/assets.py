"""Files off the frame loop: a worker thread loads and scales, the loop only asks "ready yet?".

Every read of an asset file goes through ``note_load``, which counts it per
thread: the UI benchmark proves with it that no frame touches the disk.
QR codes are drawn here too (pure computation, cached per text and size).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import lru_cache, partial
from pathlib import Path
from typing import Any, TypeVar

import pygame

log = logging.getLogger(__name__)
T = TypeVar("T")
QR_CACHE = 2  # QR code surfaces kept (qr_surface)

_loads: Counter[int] = Counter()  # thread ident -> asset files opened
_loads_lock = threading.Lock()


def note_load(path: str | Path) -> None:
    """Record that the calling thread opens an asset file (images, videos, fonts)."""
    with _loads_lock:
        _loads[threading.get_ident()] += 1
    log.debug("asset load %s", path)


def loads_on_thread(ident: int | None = None) -> int:
    """Asset files opened so far by a thread (default: the calling one)."""
    with _loads_lock:
        return _loads[threading.get_ident() if ident is None else ident]


def _log_failure(key: Hashable, done: Future[Any]) -> None:
    if done.exception() is not None:
        log.error("asset %r failed to load: %s", key, done.exception())


class AssetLoader:
    """Runs loads on one worker thread; each key is loaded once and kept, except the big ones:
    a 360° sequence is tens of MB, so only the one on screen stays (the next is drawn off the loop
    while the still picture shows; a Pi with a large catalog must not keep them all), and none once
    the screen showing it is left (``let_go_of_big``)."""

    # key[0] -> how many of that kind stay loaded
    KEEP = {"drawn": 1, "photos": 1}

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kiosk-assets")
        # Each key has one loader, so a job's result is the type that key's loader returns.
        self._jobs: OrderedDict[Hashable, Future[Any]] = OrderedDict()

    def get(self, key: Hashable, load: Callable[[], T]) -> T | None:
        """The loaded value, or None while loading or when the load failed (logged once)."""
        job = self._jobs.get(key)
        if job is None:
            job = self._jobs[key] = self._pool.submit(load)
            job.add_done_callback(partial(_log_failure, key))
            self._evict(key)
        self._jobs.move_to_end(key)
        if not job.done() or job.exception() is not None:
            return None
        result: T = job.result()
        return result

    def _evict(self, key: Hashable) -> None:
        if not isinstance(key, tuple) or not key or key[0] not in self.KEEP:
            return
        kind, keep = key[0], self.KEEP[key[0]]
        same = [k for k in self._jobs if isinstance(k, tuple) and k and k[0] == kind]
        for old in same[:-keep]:  # oldest first; a load still running finishes unkept
            del self._jobs[old]

    def let_go_of_big(self) -> None:
        """Drop every big asset (the kinds in KEEP): the screen that showed them is gone. Coming back
        makes them again off the loop (tens of ms), the still picture showing meanwhile."""
        for key in [k for k in self._jobs if isinstance(k, tuple) and k and k[0] in self.KEEP]:
            del self._jobs[key]

    def failed(self, key: Hashable) -> bool:
        job = self._jobs.get(key)
        return job is not None and job.done() and job.exception() is not None

    def busy(self) -> bool:
        return any(not job.done() for job in self._jobs.values())

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def load_image(path: str | Path) -> pygame.Surface:
    """An image file as a surface; raises ValueError naming the file when it cannot be read."""
    note_load(path)
    try:
        return pygame.image.load(str(path))
    except (pygame.error, FileNotFoundError) as exc:
        raise ValueError(f"cannot load image {path}: {exc}") from None


def fit(image: pygame.Surface, box: tuple[int, int]) -> pygame.Surface:
    """image scaled to fit inside box, keeping its proportions (never cropped)."""
    w, h = image.get_size()
    k = min(box[0] / w, box[1] / h)
    size = (max(1, round(w * k)), max(1, round(h * k)))
    if size == (w, h):
        return image
    if image.get_bitsize() < 24:  # smoothscale needs 24 or 32 bits per pixel (PNGs may be paletted)
        deep = pygame.Surface((w, h), pygame.SRCALPHA, 32)
        deep.blit(image, (0, 0))
        image = deep
    return pygame.transform.smoothscale(image, size)


# A screen shows one code: the one of the screen left and the one shown stay (a sale goes from the product's
# store code to its receipt's and back), while each sale's receipt code is new, so a bigger cache only held
# the last sales' codes (16 of 165 KB each at 1024x600, measured 2.6 MB). Another code is drawn again in ms.
@lru_cache(maxsize=QR_CACHE)
def qr_surface(
    text: str, max_px: int, dark: tuple[int, int, int] = (10, 12, 16), light: tuple[int, int, int] = (255, 255, 255)
) -> pygame.Surface:
    """A QR code for text with its quiet zone, whole pixels per module, at most max_px square."""
    if not text:
        raise ValueError("a QR code needs a non-empty text")
    import segno  # only screens with a QR code need it

    rows = list(segno.make(text, error="m", micro=False).matrix_iter(scale=1, border=4))
    n = len(rows)
    scale = max(1, max_px // n)
    surface = pygame.Surface((n, n))
    surface.fill(light)
    for y, row in enumerate(rows):
        for x, dark_module in enumerate(row):
            if dark_module:
                surface.set_at((x, y), dark)
    surface = pygame.transform.scale(surface, (n * scale, n * scale))
    return surface.convert() if pygame.display.get_surface() else surface
