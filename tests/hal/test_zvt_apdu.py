"""ZVT application layer: APDU length field, BMPs, TLV, BCD, fuzzing."""

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hal.errors import ProtocolError
from hal.payment import STATUS_ENTER_PIN, STATUS_PRESENT_CARD, STATUS_PROCESSING
from hal.zvt import apdu as zvt
from hal.zvt.bcd import decode_bcd, encode_bcd
from hal.zvt.bmp import BmpFields, TlvItem, encode_bmps, parse_bmps, parse_tlv_items
from hal.zvt.driver import status_for


@pytest.mark.parametrize(
    "size, header", [(0, "06 0f 00"), (254, "06 0f fe"), (255, "06 0f ff ff 00"), (1000, "06 0f ff e8 03")]
)
def test_length_field_is_one_byte_below_ff_else_ff_and_little_endian(size, header):
    apdu = zvt.Apdu(0x06, 0x0F, bytes(size))
    raw = apdu.encode()
    assert raw[: len(bytes.fromhex(header))] == bytes.fromhex(header)
    assert zvt.parse_apdu(raw) == apdu


@pytest.mark.parametrize(
    "raw, problem",
    [
        ("06", "shorter than its 3-byte header"),
        ("06 0f ff 01", "extended length field truncated"),
        ("06 0f 02 00", "length field says 2 data bytes, APDU carries 1"),
    ],
)
def test_malformed_apdus_are_named(raw, problem):
    with pytest.raises(ProtocolError, match=problem):
        zvt.parse_apdu(bytes.fromhex(raw))


def test_bcd():
    assert encode_bcd(11000, 6) == bytes.fromhex("000000011000")
    assert decode_bcd(bytes.fromhex("001234")) == "001234"
    with pytest.raises(ProtocolError, match="invalid BCD byte 1a") as info:
        decode_bcd(bytes.fromhex("001a"), offset=7)
    assert info.value.offset == 8
    with pytest.raises(ValueError):
        encode_bcd(1234567, 3)


def test_status_information_skips_fields_it_does_not_interpret():
    # 27 result, 04 amount, 0B trace, 0C time, 0D date, 22 masked PAN (LLVAR), 87 receipt,
    # 8B card name (LLVAR), 3C additional text (LLLVAR), 29 terminal id, 49 currency.
    data = (
        bytes.fromhex("27 00 04 000000001999 0b 000042 0c 123456 0d 1124 22 f0 f3 67 12 3f 87 0007 8b f0 f8")
        + b"girocard"
        + bytes.fromhex("3c f0 f0 f2")
        + b"ok"
        + bytes.fromhex("29 29001234 49 0978")
    )
    fields = parse_bmps(data)
    assert (
        fields.result_code,
        fields.amount_cents,
        fields.trace_no,
        fields.receipt_no,
        fields.terminal_id,
        fields.currency,
    ) == (0, 1999, "000042", "0007", "29001234", 978)
    assert fields.others[0x8B] == b"girocard" and fields.others[0x3C] == b"ok"


def test_unknown_bmp_is_named_with_its_offset():
    with pytest.raises(ProtocolError, match="unknown BMP 99") as info:
        parse_bmps(bytes.fromhex("27 00 99 01"), base=3)
    assert info.value.offset == 5


def test_truncated_bmp_says_how_much_is_missing():
    with pytest.raises(ProtocolError, match="BMP 04 needs 6 bytes, only 2 left"):
        parse_bmps(bytes.fromhex("04 0000"))


def test_abort_with_tlv_from_ecrterm_vector():
    # wirelane/ecrterm test_parsing_abort: 06 1E, result 6C, TLV with tags 1F16 and 1F17.
    raw = bytes.fromhex(
        "061e2e6c062b1f1605ff000014411f1720416262727563682064757263682065787465726e6573204b6f6d6d616e646f21"
    )
    apdu = zvt.parse_apdu(raw)
    assert apdu.command == zvt.ABORT and zvt.abort_result_code(apdu) == 0x6C
    tlv = zvt.command_bmps(apdu, skip=1).tlv
    assert tlv[0] == TlvItem(0x1F16, bytes.fromhex("ff00001441"))
    assert tlv[1].tag == 0x1F17 and tlv[1].value == b"Abbruch durch externes Kommando!"


def test_constructed_tlv_is_parsed_with_children_and_nesting_is_bounded():
    items = parse_tlv_items(bytes.fromhex("24 05 07 03 41 42 43"))
    assert items[0].children == (TlvItem(0x07, b"ABC"),)
    deep = bytes.fromhex("24 00")
    for _ in range(20):
        deep = bytes([0x24, len(deep)]) + deep
    with pytest.raises(ProtocolError, match="nested deeper"):
        parse_tlv_items(deep)


@pytest.mark.parametrize(
    "code, status",
    [(0x0A, STATUS_PRESENT_CARD), (0x01, STATUS_ENTER_PIN), (0x17, STATUS_PROCESSING), (0x04, STATUS_PROCESSING)],
)
def test_intermediate_status_codes_map_to_screen_statuses(code, status):
    assert status_for(code) == status


def digits(n):
    return st.text("0123456789", min_size=n, max_size=n)


primitive_tags = st.one_of(
    st.integers(0x00, 0x1E).filter(lambda t: not t & 0x20),
    st.integers(0x1F00, 0x1F7F),
    st.integers(0xC0, 0xDE).filter(lambda t: not t & 0x20),
)
bmp_fields = st.builds(
    BmpFields,
    amount_cents=st.none() | st.integers(0, 10**12 - 1),
    trace_no=st.none() | digits(6),
    result_code=st.none() | st.integers(0, 255),
    receipt_no=st.none() | digits(4),
    terminal_id=st.none() | digits(8),
    currency=st.none() | st.integers(0, 999),
    tlv=st.none() | st.lists(st.builds(TlvItem, primitive_tags, st.binary(max_size=300)), max_size=3).map(tuple),
    others=st.just({})
    | st.fixed_dictionaries(
        {0x8B: st.binary(max_size=99), 0x3C: st.binary(max_size=999), 0x19: st.binary(min_size=1, max_size=1)}
    ),
)


@given(bmp_fields)
def test_bmp_round_trip(fields):
    assert parse_bmps(encode_bmps(fields)) == fields


@given(st.integers(0, 255), st.integers(0, 255), st.binary(max_size=70000))
@settings(max_examples=50)
def test_apdu_round_trip(cls, instr, data):
    apdu = zvt.Apdu(cls, instr, data[:0xFFFF])
    assert zvt.parse_apdu(apdu.encode()) == apdu


fuzz = settings(max_examples=500, deadline=timedelta(milliseconds=500))
# Bias towards tags and length bytes the parsers know.
bmp_bytes = st.lists(
    st.one_of(
        st.sampled_from(
            [0x04, 0x06, 0x0B, 0x22, 0x27, 0x3C, 0x87, 0x8B, 0x1F, 0x24, 0x81, 0x82, 0xF0, 0xF1, 0xF9, 0xFF]
        ),
        st.integers(0, 255),
    ),
    max_size=300,
).map(bytes)


@fuzz
@given(bmp_bytes)
def test_fuzz_bmp_parser_raises_only_protocol_error(data):
    try:
        parse_bmps(data)
    except ProtocolError:
        pass


@fuzz
@given(bmp_bytes)
def test_fuzz_tlv_parser_raises_only_protocol_error(data):
    try:
        parse_tlv_items(data)
    except ProtocolError:
        pass


@fuzz
@given(bmp_bytes)
def test_fuzz_apdu_readers_raise_only_protocol_error(data):
    try:
        apdu = zvt.parse_apdu(data)
        zvt.completion_terminal_status(apdu)
        zvt.command_bmps(apdu, skip=min(1, len(apdu.data)))
        zvt.split_password(apdu)
    except ProtocolError:
        pass
