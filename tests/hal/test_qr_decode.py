"""QR decoders on generated camera frames: every library, and the default pipeline."""

from __future__ import annotations

import logging
import sys

import cv2
import numpy as np
import pytest

from hal.qr_decode import (
    LIBRARY_NAMES,
    DecoderUnavailable,
    PipelineDecoder,
    QrDecoder,
    available_decoders,
    default_decoder,
    load_decoder,
    to_gray,
)
from hal.sim.scene import add_sensor_noise, code_quad, colour_bars, paint_code, qr_modules

TEXT = "https://shop.example/p/EB-2041?cab=C-0042"


def frame_with_code(
    text: str,
    *,
    module_px: float = 5.0,
    angle: float = 4.0,
    blur: float = 0.0,
    center: tuple[float, float] = (330, 250),
) -> np.ndarray:
    modules = qr_modules(text)
    frame = paint_code(colour_bars((640, 480)), modules, code_quad(center, modules.shape[0] * module_px, angle))
    if blur:
        frame = cv2.GaussianBlur(frame, (0, 0), blur)
    return add_sensor_noise(frame, 2.0, np.random.default_rng(1))


def cluttered_empty_frame() -> np.ndarray:
    """No code, but a checkerboard and squares-in-squares that resemble finder patterns."""
    frame = colour_bars((640, 480))
    board = (np.indices((96, 96)) // 12).sum(axis=0) % 2 * 255
    frame[40:136, 40:136] = board[..., None].astype(np.uint8)
    for x in (400, 520):
        cv2.rectangle(frame, (x, 300), (x + 70, 370), (0, 0, 0), -1)
        cv2.rectangle(frame, (x + 10, 310), (x + 60, 360), (255, 255, 255), -1)
        cv2.rectangle(frame, (x + 20, 320), (x + 50, 350), (0, 0, 0), -1)
    return add_sensor_noise(frame, 2.0, np.random.default_rng(2))


def decoder_or_skip(name: str) -> QrDecoder:
    try:
        return load_decoder(name)
    except DecoderUnavailable as exc:
        pytest.skip(f"{name} not installed here: {exc}")


@pytest.mark.parametrize("name", LIBRARY_NAMES + ("default",))
def test_each_decoder_reads_clear_codes_in_rgb_and_grey_frames(name: str) -> None:
    decoder = decoder_or_skip(name)
    for text, angle, center in ((TEXT, 4.0, (330, 250)), ("PICKUP:7F3K-92QD", -8.0, (200, 300))):
        frame = frame_with_code(text, angle=angle, center=center)
        assert decoder.decode(frame) == [text]
        assert decoder.decode(to_gray(frame)) == [text]


@pytest.mark.parametrize("name", LIBRARY_NAMES + ("default",))
def test_no_decoder_reports_a_code_in_frames_without_one(name: str) -> None:
    decoder = decoder_or_skip(name)
    assert decoder.decode(colour_bars((640, 480))) == []
    assert decoder.decode(cluttered_empty_frame()) == []
    assert decoder.decode(np.zeros((480, 640), np.uint8)) == []


# Rotated, small modules, blurred: zxing-cpp alone finds the code but cannot read it.
HARD = [
    dict(module_px=3.0, blur=1.5, angle=33.0, center=(300, 260)),
    dict(module_px=2.5, blur=1.2, angle=17.0, center=(300, 260)),
]


def still() -> float:
    """A clock that stands still: the rescues run whatever the machine's load (benchmarks/bench_qr.py times them)."""
    return 0.0


@pytest.mark.parametrize("pose", HARD)
def test_default_reads_rotated_blurred_codes(pose: dict) -> None:
    frame = frame_with_code("PICKUP:7F3K-92QD", **pose)
    assert default_decoder(clock=still).decode(frame) == ["PICKUP:7F3K-92QD"]


@pytest.mark.parametrize("pose", HARD)
def test_rescue_passes_stop_when_the_frame_budget_is_spent(pose: dict) -> None:
    frame = frame_with_code("PICKUP:7F3K-92QD", **pose)
    ticks = iter(range(0, 10**6, 30))  # each look at the clock 30 ms later: the first rescue is past 20 ms
    assert default_decoder(budget_ms=20.0, clock=lambda: next(ticks) / 1000).decode(frame) == []
    assert default_decoder(budget_ms=20.0, clock=still).decode(frame) == ["PICKUP:7F3K-92QD"]


def test_missing_zbar_library_is_skipped_with_a_log_line(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # None in sys.modules makes the import fail, as it does when libzbar0 is absent.
    monkeypatch.setitem(sys.modules, "pyzbar", None)
    monkeypatch.setitem(sys.modules, "pyzbar.pyzbar", None)
    with pytest.raises(DecoderUnavailable, match="libzbar0"):
        load_decoder("pyzbar")
    with caplog.at_level(logging.WARNING, logger="hal.qr_decode"):
        decoders = available_decoders()
        pipeline = default_decoder()
    assert "pyzbar" not in [d.name for d in decoders]
    assert any("pyzbar skipped" in r.getMessage() for r in caplog.records)
    assert pipeline.decode(frame_with_code(TEXT)) == [TEXT]


def test_pipeline_without_zxing_reads_with_the_other_libraries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "zxingcpp", None)
    pipeline = default_decoder()
    assert pipeline.decode(frame_with_code(TEXT)) == [TEXT]
    assert pipeline.decode(cluttered_empty_frame()) == []


def test_no_library_at_all_is_a_clear_error() -> None:
    with pytest.raises(DecoderUnavailable, match="no QR library"):
        PipelineDecoder()


def test_bad_input_is_named() -> None:
    with pytest.raises(ValueError, match="unknown QR decoder 'zebra'"):
        load_decoder("zebra")
    with pytest.raises(ValueError, match=r"float32 \(480, 640, 3\)"):
        to_gray(np.zeros((480, 640, 3), np.float32))
    with pytest.raises(ValueError, match=r"\(480, 640, 4\)"):
        to_gray(np.zeros((480, 640, 4), np.uint8))
