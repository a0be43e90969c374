"""The JPEG frame header is read before anything is decoded: real JPEGs give their size, a picture
declaring too many pixels is refused by the cloud without decoding, and any bytes at all give either a
header or a JpegHeaderError saying what is wrong. The cloud imports nothing of the cabinet's snapshot code."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import simplejpeg
from hypothesis import example, given
from hypothesis import strategies as st

from cloud_stub.jpeg_header import MAX_PIXELS, JpegHeader, JpegHeaderError, check_frame, read_jpeg_header
from sync_client.schema import sign_request
from tests.cloud.cloud_helpers import CAB, Cloud

NAME = "20261125T174005-opened-none.jpg"


def jpeg(width: int, height: int, colour: str = "RGB") -> bytes:
    channels = 1 if colour == "GRAY" else 3
    image = np.zeros((height, width, channels), np.uint8)
    return simplejpeg.encode_jpeg(image, colorspace=colour, colorsubsampling="444" if channels == 1 else "420")


def with_size(data: bytes, width: int, height: int) -> bytes:
    """``data`` with its frame header saying width x height (the scan is left as it was)."""
    sof = read_jpeg_header(data)
    at = next(i for i in range(2, len(data) - 1) if data[i] == 0xFF and data[i + 1] == sof.marker)
    return data[: at + 5] + height.to_bytes(2, "big") + width.to_bytes(2, "big") + data[at + 9 :]


@pytest.mark.parametrize("width, height, colour", [(320, 240, "RGB"), (17, 901, "GRAY"), (1, 1, "RGB")])
def test_the_size_of_a_real_jpeg_is_read_without_decoding(width: int, height: int, colour: str) -> None:
    header = read_jpeg_header(jpeg(width, height, colour))
    assert (header.width, header.height, header.components) == (width, height, 1 if colour == "GRAY" else 3)
    check_frame(header)


@pytest.mark.parametrize("width, height", [(65535, 65535), (1921, 10), (10, 1921), (1500, 1500)])
def test_a_frame_over_the_limits_is_refused_naming_its_size(width: int, height: int) -> None:
    with pytest.raises(JpegHeaderError, match=f"JPEG of {width}x{height} pixels; a snapshot may be at most"):
        check_frame(JpegHeader(width, height, 3, 8, 0xC0))
    assert 1500 * 1500 > MAX_PIXELS


async def test_the_cloud_refuses_a_small_file_declaring_a_huge_picture_before_decoding(cloud: Cloud) -> None:
    bomb = with_size(jpeg(64, 64), 65000, 65000)  # a few hundred bytes claiming 4 gigapixels
    assert len(bomb) < 2000
    path = f"/v1/snapshots/{NAME}"
    headers = sign_request(cloud.keys[CAB], CAB, "PUT", path, bomb, now=cloud.clock.t)
    async with cloud.session.put(cloud.url + path, data=bomb, headers=headers) as resp:
        assert resp.status == 413
        assert (await resp.json())["error"] == (
            "body: JPEG of 65000x65000 pixels; a snapshot may be at most 1920x1920 and 2000000 pixels"
        )
    assert cloud.store.snapshots_of(CAB) == []


@pytest.mark.parametrize(
    "data, error",
    [
        (b"", "not a JPEG (does not start with FF D8)"),
        (b"\xff\xd8", "JPEG header: ends at byte 2 before the first scan (SOS)"),
        (b"\xff\xd8\xff\xda\x00\x02", "JPEG header: byte 2: a scan (SOS) before the frame header (SOF)"),
        (b"\xff\xd8\xff\xc0\x00\x01", "JPEG header: byte 4: segment C0 has length 1 (at least 2)"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "JPEG header: byte 4: segment E0 of 16 bytes is cut off at byte 10"),
        (b"\xff\xd8\xff\xc0\x00\x0b\x08\x00\x00\x00\x10\x01\x01\x11\x00", "JPEG header: byte 2: frame of 16x0 pixels"),
        (b"\xff\xd8\xff\xd9", "JPEG header: byte 2: EOI before the first scan"),
    ],
)
def test_what_is_wrong_with_a_header_is_named(data: bytes, error: str) -> None:
    with pytest.raises(JpegHeaderError) as caught:
        read_jpeg_header(data)
    assert str(caught.value) == error


REAL = jpeg(32, 24)


@st.composite
def damaged(draw: st.DrawFn) -> bytes:
    """A real JPEG's first bytes with a few of them overwritten: deep into the marker walk, then wrong."""
    data = bytearray(REAL[: draw(st.integers(0, 700))])
    for _ in range(draw(st.integers(0, 4))):
        if data:
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data)


@given(data=st.binary(max_size=300) | st.binary(max_size=60).map(lambda b: b"\xff\xd8" + b) | damaged())
@example(data=REAL)
def test_any_bytes_give_a_header_or_a_named_refusal(data: bytes) -> None:
    try:
        header = read_jpeg_header(data)
    except JpegHeaderError as exc:
        assert str(exc) and len(str(exc)) < 200
        return
    assert 1 <= header.width <= 65535 and 1 <= header.height <= 65535 and header.components in (1, 3)
    try:
        check_frame(header)
    except JpegHeaderError as exc:
        assert f"{header.width}x{header.height}" in str(exc)


def test_the_cloud_imports_only_the_wire_contract_of_the_cabinet_side() -> None:
    code = (
        "import sys, cloud_stub.cli, cloud_stub.app;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sync_client', 'firmware', 'hal', 'kiosk_ui')))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "['sync_client', 'sync_client.cabinet_config', 'sync_client.schema']"
