"""The frame layout, held to fixed vectors, for both implementations: the
board's (firmware/lockboard/protocol.py, MicroPython) and the Pi's (hal/lockboard/codec.py)."""

import binascii

import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware.lockboard import protocol as board
from hal.errors import ProtocolError
from hal.lockboard.codec import (
    BadCrc,
    BoardStatus,
    BootReport,
    Command,
    Frame,
    FrameDecoder,
    InputReport,
    RelayCause,
    RelayReport,
    ResetCause,
    crc16_ccitt_false,
    encode_frame,
    parse_report,
    parse_unlock_ack,
    unlock_payload,
)

VECTORS = [
    # (seq, command, payload, frame on the wire)
    (7, Command.HEARTBEAT, b"", "a5 00 07 04 15 8f"),
    (42, Command.UNLOCK, bytes.fromhex("000fa0"), "a5 03 2a 01 00 0f a0 5d 8a"),  # lock 0 for 4000 ms
    (255, Command.NAK, bytes([1]), "a5 01 ff 81 01 05 9f"),  # NAK bad CRC
]


def test_crc_is_ccitt_false_check_value():
    assert crc16_ccitt_false(b"123456789") == 0x29B1
    assert board.crc16(b"123456789") == 0x29B1


@given(st.binary(max_size=64))
def test_crc_matches_an_independent_implementation(data):
    # binascii.crc_hqx is CRC-CCITT (poly 0x1021, unreflected); with init 0xFFFF it is CCITT-FALSE.
    assert crc16_ccitt_false(data) == binascii.crc_hqx(data, 0xFFFF) == board.crc16(data)


@pytest.mark.parametrize("seq,command,payload,wire", VECTORS)
def test_both_encoders_produce_the_vector(seq, command, payload, wire):
    assert encode_frame(seq, command, payload) == bytes.fromhex(wire)
    assert board.encode_frame(seq, command, payload) == bytes.fromhex(wire)


@pytest.mark.parametrize("seq,command,payload,wire", VECTORS)
def test_both_decoders_read_the_vector(seq, command, payload, wire):
    decoder = FrameDecoder()
    decoder.feed(bytes.fromhex(wire))
    assert decoder.next_frame() == Frame(seq, command, payload)
    reader = board.FrameReader()
    reader.feed(bytes.fromhex(wire))
    assert reader.next() == (seq, command, payload)


frames = st.tuples(st.integers(0, 255), st.integers(0, 255), st.binary(max_size=32))


@given(st.lists(frames, max_size=8), st.integers(1, 9))
def test_round_trip_across_implementations_in_any_chunking(items, chunk):
    wire = b"".join(board.encode_frame(*item) for item in items)
    decoder = FrameDecoder()
    decoded = []
    for i in range(0, len(wire), chunk):
        decoder.feed(wire[i : i + chunk])
        while (frame := decoder.next_frame()) is not None:
            decoded.append((frame.seq, frame.command, frame.payload))
    assert decoded == items
    reader = board.FrameReader()
    reader.feed(b"".join(encode_frame(*item) for item in items))
    assert [reader.next() for _ in items] == items and reader.next() is None


def test_encoder_rejects_what_cannot_be_framed():
    with pytest.raises(ValueError, match="payload of 33 bytes"):
        encode_frame(0, Command.STATUS, bytes(33))
    with pytest.raises(ValueError, match="sequence number"):
        encode_frame(256, Command.STATUS)
    with pytest.raises(ValueError, match="1..65535 ms"):
        unlock_payload(0, 0)


def test_damaged_frame_is_reported_with_its_seq_then_the_next_frame_decodes():
    bad = bytearray(encode_frame(9, Command.LOCK, b"\x00"))
    bad[4] ^= 0x01
    decoder = FrameDecoder()
    decoder.feed(bytes(bad) + encode_frame(10, Command.HEARTBEAT))
    with pytest.raises(BadCrc) as caught:
        decoder.next_frame()
    assert caught.value.seq == 9 and caught.value.offset == 0
    frames_after = []
    while True:
        try:
            frame = decoder.next_frame()
        except ProtocolError:
            continue
        if frame is None:
            break
        frames_after.append(frame)
    assert frames_after == [Frame(10, Command.HEARTBEAT)]


def test_board_reader_flags_a_bad_crc_for_a_nak():
    bad = bytearray(board.encode_frame(3, board.CMD_HEARTBEAT))
    bad[-1] ^= 0xFF
    reader = board.FrameReader()
    reader.feed(bytes(bad))
    assert reader.next() == (3, None, bytes([board.NAK_BAD_CRC]))


def test_garbage_and_impossible_lengths_name_their_offset():
    decoder = FrameDecoder()
    decoder.feed(b"\x01\x02" + bytes([0xA5, 200]))
    with pytest.raises(ProtocolError, match="2 bytes before a start byte at byte 0"):
        decoder.next_frame()
    with pytest.raises(ProtocolError, match="length 200 exceeds 32 at byte 3"):
        decoder.next_frame()


def test_reports_parse_to_records():
    assert parse_report(Frame(0, Command.REPORT_INPUT, bytes([0, 1]) + (1234).to_bytes(4, "big"))) == InputReport(
        "door0", True, 1234
    )
    assert parse_report(Frame(1, Command.REPORT_RELAY, bytes([2, 0, 2]) + (99).to_bytes(4, "big"))) == RelayReport(
        2, False, RelayCause.HEARTBEAT, 99
    )
    assert parse_report(Frame(2, Command.REPORT_BOOT, bytes([1, 1, 2, 3, 0x1F, 0x40]) + bytes(4))) == BootReport(
        ResetCause.WATCHDOG, (1, 2, 3), 8000, 0
    )
    with pytest.raises(ProtocolError, match="no lock board input 9"):
        parse_report(Frame(0, Command.REPORT_INPUT, bytes([9, 1, 0, 0, 0, 0])))
    with pytest.raises(ProtocolError, match="input report has 2 bytes, expected 6"):
        parse_report(Frame(0, Command.REPORT_INPUT, bytes([0, 1])))
    assert parse_unlock_ack(bytes([1, 0x1F, 0x40])) == (1, 8000)


def test_status_payload_layout():
    payload = (
        bytes([2, 0b10, 1, 0b010001])
        + (5000).to_bytes(4, "big")
        + bytes([1, 0, 0])
        + (8000).to_bytes(2, "big")
        + (3000).to_bytes(2, "big")
    )
    status = BoardStatus.from_payload(payload)
    assert status.relays == (False, True)
    assert status.inputs == {"door0": True, "tamper": True, "power": False}
    assert (status.uptime_ms, status.version, status.max_on_ms, status.heartbeat_timeout_ms) == (
        5000,
        (1, 0, 0),
        8000,
        3000,
    )
    with pytest.raises(ProtocolError, match="status claims 0 relays"):
        BoardStatus.from_payload(bytes(15))
