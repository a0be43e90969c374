"""A JPEG's frame header (SOF), read from the bytes without decoding, so the cloud knows how large a
picture is before it asks a decoder to allocate memory for it.

``read_jpeg_header`` walks the marker segments from SOI to the first scan (SOS) and returns the one
frame header; anything else (no SOI, a truncated or malformed segment, two frame headers, a scan
before the frame, a zero dimension) is a ``JpegHeaderError`` that says what and where.
``check_frame`` refuses a frame larger than the limits.
"""

from __future__ import annotations

from dataclasses import dataclass

# Snapshots are thumbnails (the cabinet sends 320 px wide); these bounds keep a decode under ~6 MB.
MAX_WIDTH = 1920
MAX_HEIGHT = 1920
MAX_PIXELS = 2_000_000
COMPONENTS = (1, 3)  # greyscale or colour; not CMYK

SOI, EOI, SOS = 0xD8, 0xD9, 0xDA
# Start-of-frame markers C0-CF, except DHT (C4), JPG (C8) and DAC (CC), which share the range.
SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Markers without a length field: TEM and the restart markers RST0-RST7.
STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})


class JpegHeaderError(ValueError):
    """Bytes that are not a JPEG with a readable frame header, or a frame beyond the limits."""


@dataclass(frozen=True)
class JpegHeader:
    width: int
    height: int
    components: int
    precision: int  # bits per sample
    marker: int  # which SOF: C0 baseline, C2 progressive, ...


def read_jpeg_header(data: bytes) -> JpegHeader:
    """The frame header of ``data``; JpegHeaderError naming the problem and its byte offset."""
    if data[:2] != b"\xff\xd8":
        raise JpegHeaderError("not a JPEG (does not start with FF D8)")
    pos, frame = 2, None
    while True:
        marker, pos = _next_marker(data, pos)
        if marker in STANDALONE:
            continue
        if marker in (SOI, EOI):
            raise JpegHeaderError(
                f"JPEG header: byte {pos - 2}: {'a second SOI' if marker == SOI else 'EOI'} before the first scan"
            )
        segment, end = _segment(data, pos, marker)
        if marker in SOF_MARKERS:
            if frame is not None:
                raise JpegHeaderError(f"JPEG header: byte {pos - 2}: a second frame header (SOF)")
            frame = _frame(segment, marker, pos - 2)
        elif marker == SOS:
            if frame is None:
                raise JpegHeaderError(f"JPEG header: byte {pos - 2}: a scan (SOS) before the frame header (SOF)")
            return frame
        pos = end


def check_frame(header: JpegHeader) -> None:
    """JpegHeaderError unless the picture is within MAX_WIDTH, MAX_HEIGHT and MAX_PIXELS."""
    if header.width > MAX_WIDTH or header.height > MAX_HEIGHT or header.width * header.height > MAX_PIXELS:
        raise JpegHeaderError(
            f"JPEG of {header.width}x{header.height} pixels; a snapshot may be at most "
            f"{MAX_WIDTH}x{MAX_HEIGHT} and {MAX_PIXELS} pixels"
        )


def _next_marker(data: bytes, pos: int) -> tuple[int, int]:
    """The marker at ``pos`` (after any FF fill bytes) and the offset just past it."""
    if pos >= len(data):
        raise JpegHeaderError(f"JPEG header: ends at byte {pos} before the first scan (SOS)")
    if data[pos] != 0xFF:
        raise JpegHeaderError(f"JPEG header: byte {pos}: expected a marker (FF), got {data[pos]:02X}")
    while pos < len(data) and data[pos] == 0xFF:
        pos += 1
    if pos >= len(data):
        raise JpegHeaderError(f"JPEG header: ends at byte {pos} inside a marker")
    if data[pos] == 0x00:
        raise JpegHeaderError(f"JPEG header: byte {pos}: FF 00 is not a marker")
    return data[pos], pos + 1


def _segment(data: bytes, pos: int, marker: int) -> tuple[bytes, int]:
    """The payload of the segment whose length field is at ``pos``, and the offset after it."""
    if pos + 2 > len(data):
        raise JpegHeaderError(f"JPEG header: byte {pos}: the length of segment {marker:02X} is cut off")
    length = int.from_bytes(data[pos : pos + 2], "big")
    if length < 2:
        raise JpegHeaderError(f"JPEG header: byte {pos}: segment {marker:02X} has length {length} (at least 2)")
    if pos + length > len(data):
        raise JpegHeaderError(
            f"JPEG header: byte {pos}: segment {marker:02X} of {length} bytes is cut off at byte {len(data)}"
        )
    return data[pos + 2 : pos + length], pos + length


def _frame(segment: bytes, marker: int, at: int) -> JpegHeader:
    if len(segment) < 6:
        raise JpegHeaderError(f"JPEG header: byte {at}: frame header (SOF) of {len(segment)} bytes, expected 6 or more")
    precision, height, width, components = (
        segment[0],
        int.from_bytes(segment[1:3], "big"),
        int.from_bytes(segment[3:5], "big"),
        segment[5],
    )
    if len(segment) != 6 + 3 * components:
        raise JpegHeaderError(
            f"JPEG header: byte {at}: frame header (SOF) of {len(segment)} bytes does not fit "
            f"its {components} components"
        )
    if width == 0 or height == 0:
        raise JpegHeaderError(f"JPEG header: byte {at}: frame of {width}x{height} pixels")
    if components not in COMPONENTS:
        raise JpegHeaderError(f"JPEG header: byte {at}: {components} components; expected 1 (grey) or 3 (colour)")
    return JpegHeader(width, height, components, precision, marker)
