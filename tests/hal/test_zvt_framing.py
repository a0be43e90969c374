"""ZVT transport layer: public vectors, CRC, stuffing, incremental decoding, fuzzing."""

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hal.errors import ProtocolError
from hal.zvt import apdu as zvt
from hal.zvt.framing import (
    Frame,
    FrameDecoder,
    Signal,
    crc16_kermit,
    decode_frame,
    encode_frame,
)

# Public vectors from wirelane/ecrterm's tests, as listed in PROTOCOLS.md.
VECTORS = {
    "registration": (zvt.registration("123456", 0xBA, 978), "10 02 06 00 06 12 34 56 BA 09 78 10 03 24 C3"),
    "authorization 110.00": (
        zvt.authorization(11000, 978),
        "10 02 06 01 0A 04 00 00 00 01 10 10 00 49 09 78 10 03 F2 FF",
    ),
    "acknowledgement": (zvt.acknowledge(), "10 02 80 00 00 10 03 F5 1F"),
    "status enquiry": (zvt.status_enquiry("123456"), "10 02 05 01 03 12 34 56 10 03 E0 43"),
}


@pytest.mark.parametrize("name", VECTORS)
def test_public_vectors_encode_exactly(name):
    apdu, wire = VECTORS[name]
    assert encode_frame(apdu.encode()) == bytes.fromhex(wire)


@pytest.mark.parametrize("name", VECTORS)
def test_public_vectors_decode_to_the_same_apdu(name):
    apdu, wire = VECTORS[name]
    assert zvt.parse_apdu(decode_frame(bytes.fromhex(wire))) == apdu


def test_crc_check_value():
    assert crc16_kermit(b"123456789") == 0x2189


def test_authorization_vector_doubles_the_dle_in_the_amount():
    wire = encode_frame(zvt.authorization(11000, 978).encode())
    assert b"\x01\x10\x10\x00" in wire
    assert wire.count(b"\x10") == 4  # DLE of STX, the doubled 10, DLE of ETX


apdus = st.binary(min_size=0, max_size=600)


@given(apdus)
def test_decode_inverts_encode(apdu):
    assert decode_frame(encode_frame(apdu)) == apdu


@given(st.lists(apdus, min_size=1, max_size=5), st.data())
def test_incremental_decoder_finds_frames_in_any_chunking(frames, data):
    stream = b"".join(encode_frame(apdu) for apdu in frames)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    decoder = FrameDecoder()
    events = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        events += decoder.feed(stream[start:end])
    assert [event.apdu for event in events] == frames


def test_decoder_resynchronises_on_noise_and_reports_ack_nak():
    noise = b"\x00\xffabc\x10\x55\x10"  # a trailing DLE must not swallow the next DLE STX
    stream = noise + encode_frame(b"\x80\x00\x00") + b"\x06" + noise + encode_frame(b"\x06\x0f\x00") + b"\x15"
    events = FrameDecoder().feed(stream)
    assert [e.apdu if isinstance(e, Frame) else e for e in events] == [
        b"\x80\x00\x00",
        Signal.ACK,
        b"\x06\x0f\x00",
        Signal.NAK,
    ]


def test_bad_crc_is_reported_at_the_crc_byte_and_the_next_frame_survives():
    bad = bytearray(encode_frame(b"\x80\x00\x00"))
    bad[-2] ^= 0xFF
    good = encode_frame(b"\x06\x0f\x00")
    events = FrameDecoder().feed(bytes(bad) + good)
    error, frame = events
    assert isinstance(error, ProtocolError) and "CRC mismatch" in str(error)
    assert error.offset == len(bad) - 2
    assert frame.apdu == b"\x06\x0f\x00"


def test_stray_dle_inside_a_frame_names_the_byte():
    events = FrameDecoder().feed(bytes.fromhex("10 02 06 01 10 44 00 10 03 00 00"))
    assert isinstance(events[0], ProtocolError)
    assert "DLE followed by 44" in str(events[0]) and events[0].offset == 5


def test_frame_restarted_by_dle_stx_is_reported_and_the_new_one_kept():
    events = FrameDecoder().feed(bytes.fromhex("10 02 06 01") + encode_frame(b"\x80\x00\x00"))
    assert isinstance(events[0], ProtocolError) and "cut short" in str(events[0])
    assert events[1].apdu == b"\x80\x00\x00"


def test_oversized_frame_is_dropped_and_buffer_stays_bounded():
    decoder = FrameDecoder(max_apdu=32)
    events = decoder.feed(b"\x10\x02" + b"\x41" * 100)
    assert len(events) == 1 and "longer than 32 bytes" in str(events[0])
    assert decoder.buffered <= 32
    assert decoder.feed(encode_frame(b"\x80\x00\x00"))[0].apdu == b"\x80\x00\x00"


@pytest.mark.parametrize(
    "wire, problem",
    [
        ("80 00 00", "does not start with DLE STX"),
        ("10 02 80 00 00 10 03 F5", "incomplete frame"),
        ("10 02 80 00 00 10 03 F5 1F 00", "bytes after the end"),
        ("10 02 80 00 00 10 03 F5 1E", "CRC mismatch"),
    ],
)
def test_decode_frame_rejects_malformed_input(wire, problem):
    with pytest.raises(ProtocolError, match=problem):
        decode_frame(bytes.fromhex(wire))


# Bias the fuzzer towards the bytes that matter to the state machine.
wire_bytes = st.lists(
    st.one_of(st.sampled_from([0x10, 0x02, 0x03, 0x06, 0x15]), st.integers(0, 255)), max_size=400
).map(bytes)


@settings(max_examples=400, deadline=timedelta(milliseconds=500))
@given(st.lists(wire_bytes, max_size=8))
def test_fuzz_decoder_never_raises_and_stays_bounded(chunks):
    decoder = FrameDecoder(max_apdu=64)
    for chunk in chunks:
        for event in decoder.feed(chunk):
            assert isinstance(event, (Frame, Signal, ProtocolError))
        assert decoder.buffered <= 64


@settings(max_examples=400, deadline=timedelta(milliseconds=500))
@given(wire_bytes)
def test_fuzz_decode_frame_raises_only_protocol_error(data):
    try:
        decode_frame(data)
    except ProtocolError:
        pass
