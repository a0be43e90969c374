"""Arbitrary bytes never break the Pi's decoder: only ProtocolError, a bounded
buffer, and every call returns; frames after noise are still found."""

from hypothesis import given, settings
from hypothesis import strategies as st

from firmware.lockboard import protocol as board
from hal.errors import ProtocolError
from hal.lockboard.codec import MAX_FRAME, Frame, FrameDecoder, encode_frame


def drain(decoder: FrameDecoder) -> list[Frame]:
    """Everything decodable now; the loop must end since every call consumes or returns None."""
    found = []
    for _ in range(10_000):
        try:
            frame = decoder.next_frame()
        except ProtocolError:
            continue
        if frame is None:
            return found
        found.append(frame)
    raise AssertionError("decoder did not settle")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(min_size=0, max_size=80), max_size=20))
def test_noise_raises_only_protocol_error_and_stays_bounded(chunks):
    decoder = FrameDecoder(max_buffer=2 * MAX_FRAME)
    for chunk in chunks:
        decoder.feed(chunk)
        assert decoder.buffered <= 2 * MAX_FRAME
        drain(decoder)
        # What is left is at most one incomplete frame.
        assert decoder.buffered < MAX_FRAME


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=60).filter(lambda b: 0xA5 not in b), st.integers(0, 255), st.binary(max_size=32))
def test_frame_after_noise_without_start_bytes_is_recovered(noise, seq, payload):
    decoder = FrameDecoder()
    decoder.feed(noise + encode_frame(seq, 0x04, payload))
    assert drain(decoder) == [Frame(seq, 0x04, payload)]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_board_reader_never_raises_and_stays_bounded(noise):
    reader = board.FrameReader()
    reader.feed(noise)
    for _ in range(10_000):
        if reader.next() is None:
            break
    else:
        raise AssertionError("board reader did not settle")
    assert reader.buffered < board.OVERHEAD + board.MAX_PAYLOAD
