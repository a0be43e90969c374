"""GM65 scanner output lines and command frames: vectors, round trips, fuzzing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hal.errors import ProtocolError
from hal.scanner import gm65
from hal.scanner.gm65 import Command, CommandDecoder, crc16_xmodem, encode_reply
from hal.scanner.lines import Reply, ScannerStreamDecoder, decode_line

TRIGGER = bytes.fromhex("7E000801000201ABCD")
TRIGGER_REPLY = bytes.fromhex("02000001003331")
SAVE = bytes.fromhex("7E000901000000DEC8")


def drain(decoder: ScannerStreamDecoder, data: bytes, chunk: int | None = None):
    items, errors = [], []
    pieces = [data] if chunk is None else [data[i : i + chunk] for i in range(0, len(data), chunk)]
    for piece in pieces:
        decoder.feed(piece)
        for _ in range(2 * len(data) + 2):
            try:
                item = decoder.next_item()
            except ProtocolError as exc:
                errors.append(exc)
                continue
            if item is None:
                break
            items.append(item)
        else:
            pytest.fail("decoder made no progress")
    return items, errors


# -- vectors (PROTOCOLS.md) ---------------------------------------------------


def test_crc16_xmodem_check_value():
    assert crc16_xmodem(b"123456789") == 0x31C3


def test_vector_command_trigger_frame():
    assert gm65.TRIGGER.encode() == TRIGGER


def test_vector_trigger_reply():
    assert encode_reply(gm65.REPLY_OK) == TRIGGER_REPLY
    assert drain(ScannerStreamDecoder(), TRIGGER_REPLY) == ([Reply(b"\x00")], [])


def test_save_frame_carries_crc():
    assert gm65.save_command().encode() == SAVE


def test_command_decoder_reads_back_trigger_and_checked_frames():
    decoder = CommandDecoder()
    decoder.feed(b"\x99" + TRIGGER + SAVE)
    with pytest.raises(ProtocolError, match="1 bytes of garbage") as info:
        decoder.next_command()
    assert info.value.offset == 0
    assert decoder.next_command() == gm65.TRIGGER
    assert decoder.next_command() == Command(gm65.TYPE_SAVE, 0, b"\x00", checked=True)
    assert decoder.next_command() is None


def test_command_decoder_rejects_bad_crc_naming_offset():
    decoder = CommandDecoder()
    decoder.feed(SAVE[:-1] + b"\x00")
    with pytest.raises(ProtocolError, match="CRC mismatch: frame says de00, computed dec8") as info:
        decoder.next_command()
    assert info.value.offset == len(SAVE) - 2


@given(
    kind=st.sampled_from(gm65.COMMAND_TYPES),
    address=st.integers(0, 0xFFFF),
    data=st.binary(min_size=1, max_size=255),
    checked=st.booleans(),
)
@settings(max_examples=100, deadline=None)
def test_command_round_trip(kind, address, data, checked):
    command = Command(kind, address, data, checked)
    decoder = CommandDecoder()
    decoder.feed(command.encode())
    assert decoder.next_command() == command


@given(data=st.binary(min_size=1, max_size=255))
def test_reply_round_trip(data):
    assert drain(ScannerStreamDecoder(), encode_reply(data) + b"CODE\r") == ([Reply(data), "CODE"], [])


# -- lines --------------------------------------------------------------------


@pytest.mark.parametrize("terminator", [b"\r", b"\n", b"\r\n"], ids=["CR", "LF", "CRLF"])
def test_terminators_yield_each_code_once(terminator):
    data = b"".join(code + terminator for code in (b"ORDER-1", b"https://e.example/q?id=7", "Füße".encode()))
    assert drain(ScannerStreamDecoder(), data) == (["ORDER-1", "https://e.example/q?id=7", "Füße"], [])


def test_crlf_split_between_reads_yields_no_empty_code():
    assert drain(ScannerStreamDecoder(), b"ABC\r\nDEF\r\n", chunk=4) == (["ABC", "DEF"], [])


def test_partial_lines_are_buffered_across_reads():
    assert drain(ScannerStreamDecoder(), b"0123456789\r", chunk=1) == (["0123456789"], [])


def test_gs1_separator_and_tab_are_kept():
    assert decode_line(b"01095\x1d10ABC\tX") == "01095\x1d10ABC\tX"


@pytest.mark.parametrize(
    "raw, problem, offset",
    [
        (b"", "empty line", 0),
        (b"AB\xffCD", "not UTF-8", 2),
        (b"AB\x07CD", "control character U\\+0007", 2),
        ("é\x85".encode(), "control character U\\+0085", 2),
        (b"A" * 2049, "2049 bytes exceeds 2048", 2048),
    ],
)
def test_bad_lines_raise_protocol_error_with_offset(raw, problem, offset):
    with pytest.raises(ProtocolError, match=problem) as info:
        decode_line(raw)
    assert info.value.offset == offset


def test_stream_skips_bad_lines_and_keeps_good_ones():
    items, errors = drain(ScannerStreamDecoder(), b"GOOD1\r\xfe\xfe\r\x1b[2J\rGOOD2\r")
    assert items == ["GOOD1", "GOOD2"]
    assert [e.offset for e in errors] == [6, 9]


def test_over_long_line_is_dropped_up_to_its_terminator():
    decoder = ScannerStreamDecoder(max_line=64)
    items, errors = drain(decoder, b"X" * 500 + b"\rNEXT\r", chunk=50)
    assert items == ["NEXT"] and len(errors) == 1 and "longer than 64" in str(errors[0])
    assert decoder.buffered == 0


def test_reply_with_bad_crc_is_reported_and_skipped():
    items, errors = drain(ScannerStreamDecoder(), TRIGGER_REPLY[:-1] + b"\x00" + b"OK\r")
    assert items == ["OK"] and "reply CRC mismatch" in str(errors[0])


# -- fuzzing ------------------------------------------------------------------

stream_like = st.lists(
    st.one_of(
        st.binary(max_size=10),
        st.sampled_from([b"\r", b"\n", b"\r\n", b"\x02", b"\x02\x00\x00", TRIGGER_REPLY, b"CODE-42", "ü".encode()]),
    ),
    max_size=20,
).map(b"".join)


@given(data=st.one_of(st.binary(max_size=400), stream_like), chunk=st.integers(1, 50))
@settings(max_examples=400, deadline=None)
def test_fuzz_stream_decoder_only_protocol_errors_and_bounded_buffer(data, chunk):
    decoder = ScannerStreamDecoder(max_line=32)
    items, _ = drain(decoder, data, chunk)
    assert all(isinstance(item, (str, Reply)) for item in items)
    assert all(item for item in items if isinstance(item, str))  # never an empty code
    assert decoder.buffered <= 32 + 6 + 255


@given(st.binary(max_size=300))
@settings(max_examples=300, deadline=None)
def test_fuzz_decode_line_only_protocol_error(data):
    try:
        text = decode_line(data, max_line=256)
    except ProtocolError:
        return
    assert text.encode() == data


@given(
    data=st.one_of(
        st.binary(max_size=400),
        st.lists(st.one_of(st.binary(max_size=8), st.sampled_from([TRIGGER, SAVE, b"\x7e\x00", b"\x7e"]))).map(
            b"".join
        ),
    )
)
@settings(max_examples=300, deadline=None)
def test_fuzz_command_decoder_only_protocol_errors(data):
    decoder = CommandDecoder()
    decoder.feed(data)
    for _ in range(len(data) + 2):
        try:
            if decoder.next_command() is None:
                break
        except ProtocolError:
            pass
    else:
        pytest.fail("decoder made no progress")
