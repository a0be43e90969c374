"""QR decoding of camera frames: one adapter per library, and the default pipeline.

Every decoder takes a frame as the cameras give it ((H, W, 3) RGB or (H, W)
grey uint8) and returns the texts of the QR codes it read. Decoding blocks:
call it from a worker thread, never on the event loop.

Libraries are imported when a decoder is built; a missing one raises
``DecoderUnavailable`` there, and ``available_decoders`` / ``default_decoder``
skip it with a log line, so a cabinet without libzbar0 still reads codes.

The default pipeline (measured in benchmarks/bench_qr.py): zxing-cpp reads the
whole frame; when it finds a code-shaped region but cannot decode it (a
checksum error: blur, tiny modules, strong perspective), the region alone is
cropped and tried again enlarged, then enlarged and sharpened, then with
pyzbar, until one reads or the frame's time budget is spent. Frames with no
code, the common case at a kiosk, cost one zxing-cpp pass only.
"""

from __future__ import annotations

import abc
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

log = logging.getLogger(__name__)


class DecoderUnavailable(Exception):
    """The library behind a decoder is not installed or cannot load."""


def to_gray(frame: np.ndarray) -> np.ndarray:
    """A contiguous (H, W) uint8 grey image from an RGB or grey frame."""
    if frame.dtype != np.uint8 or frame.ndim not in (2, 3) or (frame.ndim == 3 and frame.shape[2] != 3):
        raise ValueError(f"frame must be uint8 (H, W) or (H, W, 3) RGB, got {frame.dtype} {frame.shape}")
    if frame.ndim == 2:
        return np.ascontiguousarray(frame)
    import cv2

    return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)


def _bytes_to_text(data: bytes) -> str:
    # Phones and our own cloud write UTF-8; the QR standard's default is Latin-1.
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


class QrDecoder(abc.ABC):
    name: str

    @abc.abstractmethod
    def decode(self, frame: np.ndarray) -> list[str]:
        """Texts of the QR codes read in ``frame`` (blocking)."""


@dataclass(frozen=True)
class Region:
    """A code-shaped region a decoder found but could not read: x0, y0, x1, y1."""

    x0: int
    y0: int
    x1: int
    y1: int


class ZxingDecoder(QrDecoder):
    name = "zxing-cpp"

    def __init__(self) -> None:
        try:
            import zxingcpp
        except ImportError as exc:
            raise DecoderUnavailable(f"zxing-cpp is not installed (pip install zxing-cpp): {exc}") from exc
        self._zx = zxingcpp
        self._qr = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)

    def scan(self, gray: np.ndarray) -> tuple[list[str], list[Region]]:
        """Texts read, and the regions of codes found but not readable."""
        texts, regions = [], []
        for code in self._zx.read_barcodes(gray, formats=self._qr, return_errors=True):
            if code.valid:
                texts.append(code.text)
            else:
                p = code.position
                xs = (p.top_left.x, p.top_right.x, p.bottom_right.x, p.bottom_left.x)
                ys = (p.top_left.y, p.top_right.y, p.bottom_right.y, p.bottom_left.y)
                regions.append(Region(min(xs), min(ys), max(xs), max(ys)))
        return texts, regions

    def decode(self, frame: np.ndarray) -> list[str]:
        return [c.text for c in self._zx.read_barcodes(to_gray(frame), formats=self._qr)]


class ZbarDecoder(QrDecoder):
    name = "pyzbar"

    def __init__(self) -> None:
        try:
            from pyzbar import pyzbar
        except ImportError as exc:
            # pyzbar itself raises ImportError when the zbar shared library is missing.
            raise DecoderUnavailable(
                f"pyzbar cannot load (pip install pyzbar; apt-get install libzbar0): {exc}"
            ) from exc
        self._zbar = pyzbar
        self._symbols = [pyzbar.ZBarSymbol.QRCODE]

    def decode(self, frame: np.ndarray) -> list[str]:
        return [_bytes_to_text(s.data) for s in self._zbar.decode(to_gray(frame), symbols=self._symbols)]


class OpenCvDecoder(QrDecoder):
    """OpenCV's QRCodeDetector, or with ``aruco`` its ArUco-based finder variant."""

    def __init__(self, aruco: bool = False) -> None:
        try:
            import cv2
        except ImportError as exc:
            raise DecoderUnavailable(f"OpenCV is not installed (pip install opencv-python-headless): {exc}") from exc
        self.name = "opencv-aruco" if aruco else "opencv"
        self._detector: Any = cv2.QRCodeDetectorAruco() if aruco else cv2.QRCodeDetector()
        self._cv_error = cv2.error

    def decode(self, frame: np.ndarray) -> list[str]:
        try:
            text, _points, _straight = self._detector.detectAndDecode(to_gray(frame))
        except self._cv_error as exc:
            # OpenCV 5.0's detector trips its own assertions on some candidate
            # quadrilaterals (convexHull on an empty contour): no read, not a fault.
            log.debug("%s failed on a frame: %s", self.name, exc)
            return []
        # An empty string means "found a code, could not decode it".
        return [text] if text else []


def _enlarge(gray: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.resize(gray, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)


def _enlarge_sharpen(gray: np.ndarray) -> np.ndarray:
    import cv2

    big = _enlarge(gray)
    # Unsharp mask: restores module edges that lens blur or the warp softened.
    return cv2.addWeighted(big, 2.0, cv2.GaussianBlur(big, (0, 0), 2.0), -1.0, 0)


class PipelineDecoder(QrDecoder):
    """zxing-cpp first; unreadable code regions get cropped rescue passes.

    Without zxing-cpp there are no regions to rescue: the pipeline reads the
    whole frame with each other library in turn, within the same budget.
    """

    name = "default"

    def __init__(
        self,
        budget_ms: float = 20.0,
        *,
        zxing: ZxingDecoder | None = None,
        others: Sequence[QrDecoder] = (),
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        if zxing is None and not others:
            raise DecoderUnavailable("no QR library is installed: install zxing-cpp (recommended)")
        self.budget_ms = budget_ms
        self._clock = clock  # seconds; tests pass one that stands still, so a loaded machine spends no budget
        self._zxing = zxing
        self._others = list(others)
        zbar = next((d for d in self._others if isinstance(d, ZbarDecoder)), None)
        self._rescues: list[Callable[[np.ndarray], list[str]]] = []
        if zxing is not None:
            self._rescues += [
                lambda crop: zxing.decode(_enlarge(crop)),
                lambda crop: zxing.decode(_enlarge_sharpen(crop)),
            ]
        if zbar is not None:
            self._rescues.append(lambda crop: zbar.decode(_enlarge_sharpen(crop)))

    def decode(self, frame: np.ndarray) -> list[str]:
        start = self._clock()
        gray = to_gray(frame)
        if self._zxing is None:
            return self._whole_frame(gray, start)
        texts, regions = self._zxing.scan(gray)
        if texts or not regions:
            return texts
        crop = self._crop(gray, regions)
        for rescue in self._rescues:
            if (self._clock() - start) * 1000 > self.budget_ms:
                break
            texts = rescue(crop)
            if texts:
                return texts
        return []

    def _whole_frame(self, gray: np.ndarray, start: float) -> list[str]:
        for decoder in self._others:
            texts = decoder.decode(gray)
            if texts or (self._clock() - start) * 1000 > self.budget_ms:
                return texts
        return []

    @staticmethod
    def _crop(gray: np.ndarray, regions: list[Region]) -> np.ndarray:
        # The candidates of one code overlap (zxing reports each finder triple it
        # tried), so one box around them all, with half its size as margin for
        # the quiet zone and a misplaced corner.
        x0, y0 = min(r.x0 for r in regions), min(r.y0 for r in regions)
        x1, y1 = max(r.x1 for r in regions), max(r.y1 for r in regions)
        margin = max(x1 - x0, y1 - y0) // 2 + 8
        h, w = gray.shape
        return np.ascontiguousarray(
            gray[max(0, y0 - margin) : min(h, y1 + margin), max(0, x0 - margin) : min(w, x1 + margin)]
        )


_LIBRARIES: dict[str, Callable[[], QrDecoder]] = {
    "zxing-cpp": ZxingDecoder,
    "pyzbar": ZbarDecoder,
    "opencv": OpenCvDecoder,
    "opencv-aruco": lambda: OpenCvDecoder(aruco=True),
}
LIBRARY_NAMES: tuple[str, ...] = tuple(_LIBRARIES)


def load_decoder(name: str) -> QrDecoder:
    """The decoder called ``name`` (one of LIBRARY_NAMES, or "default")."""
    if name == "default":
        return default_decoder()
    try:
        factory = _LIBRARIES[name]
    except KeyError:
        raise ValueError(f"unknown QR decoder {name!r}; known: {', '.join(LIBRARY_NAMES + ('default',))}") from None
    return factory()


def available_decoders(names: Sequence[str] = LIBRARY_NAMES) -> list[QrDecoder]:
    """The named library decoders that load here; each missing one is logged and skipped."""
    decoders = []
    for name in names:
        try:
            decoders.append(load_decoder(name))
        except DecoderUnavailable as exc:
            log.warning("QR decoder %s skipped: %s", name, exc)
    return decoders


def default_decoder(budget_ms: float = 20.0, *, clock: Callable[[], float] = time.perf_counter) -> PipelineDecoder:
    """The pipeline built from whichever of zxing-cpp and pyzbar are installed
    (OpenCV's detector stands in only when neither is)."""
    loaded = available_decoders(("zxing-cpp", "pyzbar"))
    zxing = next((d for d in loaded if isinstance(d, ZxingDecoder)), None)
    others = [d for d in loaded if d is not zxing] or available_decoders(("opencv",))
    return PipelineDecoder(budget_ms, zxing=zxing, others=others, clock=clock)
