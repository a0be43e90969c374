"""PN532 frame codec and chip commands: public vectors, round trips, fuzzing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hal.errors import ProtocolError
from hal.pn532 import commands
from hal.pn532.commands import FirmwareVersion, TargetA
from hal.pn532.frames import (
    ACK_FRAME,
    ERROR_FRAME,
    MAX_INFO_LENGTH,
    NACK_FRAME,
    CorruptFrame,
    Frame,
    FrameDecoder,
    FrameKind,
    encode_frame,
)

GET_FIRMWARE = bytes.fromhex("0000FF02FED4022A00")
FIRMWARE_RESPONSE = bytes.fromhex("0000FF06FAD50332010607E800")
LIST_TARGET = bytes.fromhex("0000FF04FCD44A0100E100")
LIST_RESPONSE = bytes.fromhex("0000FF0CF4D54B010100040804B0864D252600")


def decode_all(data: bytes, chunk: int | None = None) -> tuple[list[Frame], list[ProtocolError]]:
    decoder, frames, errors = FrameDecoder(), [], []
    pieces = [data] if chunk is None else [data[i : i + chunk] for i in range(0, len(data), chunk)]
    for piece in pieces:
        decoder.feed(piece)
        for _ in range(2 * len(data) + 2):  # every call either returns or consumes bytes
            try:
                frame = decoder.next_frame()
            except ProtocolError as exc:
                errors.append(exc)
                continue
            if frame is None:
                break
            frames.append(frame)
        else:
            pytest.fail("decoder made no progress")
    return frames, errors


# -- vectors (PROTOCOLS.md) ---------------------------------------------------


def test_vector_get_firmware_version_command_encodes_byte_exact():
    assert encode_frame(0xD4, commands.get_firmware_version()) == GET_FIRMWARE


def test_vector_in_list_passive_target_command_encodes_byte_exact():
    assert encode_frame(0xD4, commands.in_list_passive_target()) == LIST_TARGET


def test_vector_firmware_response_decodes_to_pn532_v1_6():
    frames, errors = decode_all(FIRMWARE_RESPONSE)
    assert errors == [] and frames == [Frame(FrameKind.INFO, 0xD5, bytes.fromhex("0332010607"))]
    firmware = commands.parse_firmware_version(frames[0].data)
    assert firmware == FirmwareVersion(0x32, 1, 6, 7) and firmware.is_pn532 and str(firmware) == "PN532 v1.6"
    assert encode_frame(0xD5, firmware.to_response()) == FIRMWARE_RESPONSE


def test_vector_list_response_yields_uid_b0864d25():
    (frame,), _ = decode_all(LIST_RESPONSE)
    (target,) = commands.parse_in_list_passive_target(frame.data)
    assert target.uid == bytes.fromhex("B0864D25")
    assert (target.sens_res, target.sel_res, target.number) == (b"\x00\x04", 0x08, 1)
    assert encode_frame(0xD5, b"\x4b\x01" + target.to_bytes()) == LIST_RESPONSE


@pytest.mark.parametrize(
    "raw, kind", [(ACK_FRAME, FrameKind.ACK), (NACK_FRAME, FrameKind.NACK), (ERROR_FRAME, FrameKind.ERROR)]
)
def test_control_frames_decode(raw, kind):
    assert decode_all(raw) == ([Frame(kind)], [])


# -- codec behaviour ----------------------------------------------------------


@given(
    tfi=st.sampled_from([0xD4, 0xD5]),
    data=st.binary(min_size=1, max_size=MAX_INFO_LENGTH - 1),
    chunk=st.integers(1, 40),
)
@settings(max_examples=150, deadline=None)
def test_round_trip_any_chunking_including_extended_frames(tfi, data, chunk):
    raw = encode_frame(tfi, data)
    if len(data) + 1 > 255:
        assert raw[3:5] == b"\xff\xff"  # extended frame
    assert decode_all(raw * 2, chunk) == ([Frame(FrameKind.INFO, tfi, data)] * 2, [])


def test_garbage_before_frame_is_reported_then_frame_decoded():
    frames, errors = decode_all(b"\x13\x37\x55" + LIST_RESPONSE)
    assert [f.code for f in frames] == [0x4B]
    (error,) = errors  # the garbage and the frame's preamble 00
    assert "4 bytes of garbage" in str(error) and error.offset == 0 and error.data == b"\x13\x37\x55\x00"


def test_zero_padding_between_frames_is_not_an_error():
    assert decode_all(bytes(10) + ACK_FRAME + bytes(5) + FIRMWARE_RESPONSE)[1] == []


@pytest.mark.parametrize(
    "raw, problem",
    [
        (bytes.fromhex("0000FF02FDD4022A00"), "length checksum mismatch"),
        (bytes.fromhex("0000FF02FED4022B00"), "data checksum mismatch"),
        (bytes.fromhex("0000FF02FEAA025400"), "unknown frame identifier AA"),
        (bytes.fromhex("0000FFFFFF0200FED4"), "frame length 512 exceeds"),
    ],
)
def test_corrupt_frames_name_problem_and_offset(raw, problem):
    decoder = FrameDecoder()
    decoder.feed(b"\x00" + raw)
    with pytest.raises(CorruptFrame, match=problem) as info:
        decoder.next_frame()
    assert info.value.offset == 2  # the start code, after two zero bytes


def test_decoder_resynchronises_inside_a_corrupt_frame():
    # A bad length checksum: the real frame that starts inside is still found.
    frames, errors = decode_all(bytes.fromhex("00FF0301") + ACK_FRAME)
    assert frames == [Frame(FrameKind.ACK)] and isinstance(errors[0], CorruptFrame)


def test_encode_rejects_bad_input():
    with pytest.raises(ValueError, match="TFI"):
        encode_frame(0x00, b"\x02")
    with pytest.raises(ValueError, match="exceeds"):
        encode_frame(0xD4, bytes(MAX_INFO_LENGTH))


# -- commands -----------------------------------------------------------------


def test_command_payloads():
    assert commands.sam_configuration() == bytes.fromhex("14011401")
    assert commands.rf_max_retries(1) == bytes.fromhex("3205FF0101")
    with pytest.raises(ValueError, match="passive_activation"):
        commands.rf_max_retries(256)


@pytest.mark.parametrize(
    "uid, sens_res, sel_res, ats",
    [
        (bytes.fromhex("04A1B2C3D4E5F6"), b"\x00\x44", 0x00, b""),
        (bytes.fromhex("0102030405060708090A"), b"\x00\x84", 0x00, b""),
        (bytes.fromhex("08112233"), b"\x00\x04", 0x20, bytes.fromhex("0578807002")),
    ],
)
def test_targets_with_7_and_10_byte_uids_and_ats_round_trip(uid, sens_res, sel_res, ats):
    target = TargetA(uid, sens_res, sel_res, ats)
    assert commands.parse_in_list_passive_target(b"\x4b\x01" + target.to_bytes()) == [target]


def test_two_targets_and_no_target():
    a, b = TargetA(bytes(4)), TargetA(bytes(range(7)), b"\x00\x44", 0, number=2)
    assert commands.parse_in_list_passive_target(b"\x4b\x02" + a.to_bytes() + b.to_bytes()) == [a, b]
    assert commands.parse_in_list_passive_target(b"\x4b\x00") == []


@pytest.mark.parametrize(
    "data, problem",
    [
        (bytes.fromhex("4B0101000408053132333435"), "UID length 5"),
        (bytes.fromhex("4B01010004080401"), "UID truncated"),
        (bytes.fromhex("4B0101000408040102030499"), "1 unexpected bytes"),
        (bytes.fromhex("4B0101000420040102030405"), "ATS missing or truncated"),
        (bytes.fromhex("4B03"), "at most 2"),
        (bytes.fromhex("03320106"), "expected response 4B"),
    ],
)
def test_bad_target_lists_raise_protocol_error(data, problem):
    with pytest.raises(ProtocolError, match=problem):
        commands.parse_in_list_passive_target(data)


def test_bad_status_and_firmware_responses():
    with pytest.raises(ProtocolError, match="expected response 15, got 33"):
        commands.expect_status_only(b"\x33", commands.SAM_CONFIGURATION)
    with pytest.raises(ProtocolError, match="has 3 bytes, expected 5"):
        commands.parse_firmware_version(b"\x03\x32\x01")


# -- fuzzing ------------------------------------------------------------------

frame_like = st.lists(
    st.one_of(
        st.binary(max_size=12),
        st.sampled_from(
            [ACK_FRAME, NACK_FRAME, ERROR_FRAME, GET_FIRMWARE, LIST_RESPONSE, b"\x00\xff", b"\x00\xff\xff\xff"]
        ),
    ),
    max_size=12,
).map(b"".join)


@given(data=st.one_of(st.binary(max_size=600), frame_like), chunk=st.integers(1, 64))
@settings(max_examples=400, deadline=None)
def test_fuzz_frame_decoder_only_protocol_errors_and_bounded_buffer(data, chunk):
    decoder = FrameDecoder()
    for start in range(0, len(data), chunk):
        decoder.feed(data[start : start + chunk])
        for _ in range(2 * len(data) + 2):
            try:
                if decoder.next_frame() is None:
                    break
            except ProtocolError:
                pass
        else:
            pytest.fail("decoder made no progress")
        assert decoder.buffered <= 7 + MAX_INFO_LENGTH + 1


@given(st.binary(max_size=64))
@settings(max_examples=400, deadline=None)
def test_fuzz_response_parsers_only_protocol_errors(data):
    for parse in (
        commands.parse_in_list_passive_target,
        commands.parse_firmware_version,
        lambda d: commands.expect_status_only(d, commands.SAM_CONFIGURATION),
    ):
        try:
            parse(b"\x4b" + data)
            parse(data)
        except ProtocolError:
            pass
