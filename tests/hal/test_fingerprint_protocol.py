"""ZhianTec fingerprint packet codec and commands: manual vectors, round trips, fuzzing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hal.errors import ProtocolError
from hal.fingerprint import commands
from hal.fingerprint.commands import FingerprintError, Match
from hal.fingerprint.packets import MAX_PAYLOAD, Packet, PacketDecoder, Pid, encode_packet

# From the ZFM user manual (and the byte traces both Python libraries log).
GEN_IMG = bytes.fromhex("EF01FFFFFFFF010003010005")
VFY_PWD_0 = bytes.fromhex("EF01FFFFFFFF0100071300000000001B")
ACK_OK = bytes.fromhex("EF01FFFFFFFF07000300000A")
ACK_NO_FINGER = bytes.fromhex("EF01FFFFFFFF07000302000C")


def decode_all(data: bytes, chunk: int | None = None) -> tuple[list[Packet], list[ProtocolError]]:
    decoder, packets, errors = PacketDecoder(), [], []
    pieces = [data] if chunk is None else [data[i : i + chunk] for i in range(0, len(data), chunk)]
    for piece in pieces:
        decoder.feed(piece)
        for _ in range(2 * len(data) + 2):  # every call either returns or consumes bytes
            try:
                packet = decoder.next_packet()
            except ProtocolError as exc:
                errors.append(exc)
                continue
            if packet is None:
                break
            packets.append(packet)
        else:
            pytest.fail("decoder made no progress")
    return packets, errors


def test_vector_gen_img_and_vfy_pwd_encode_byte_exact():
    assert encode_packet(Pid.COMMAND, commands.gen_img()) == GEN_IMG
    assert encode_packet(Pid.COMMAND, commands.vfy_pwd(0)) == VFY_PWD_0


def test_vector_acknowledgements_decode_to_their_confirmation_codes():
    packets, errors = decode_all(ACK_OK + ACK_NO_FINGER)
    assert errors == []
    assert [(p.pid, p.code, p.address) for p in packets] == [(Pid.ACK, 0x00, 0xFFFFFFFF), (Pid.ACK, 0x02, 0xFFFFFFFF)]


def test_other_address_round_trips():
    raw = encode_packet(Pid.COMMAND, commands.template_num(), 0x12345678)
    assert raw[2:6] == bytes.fromhex("12345678")
    assert decode_all(raw) == ([Packet(Pid.COMMAND, b"\x1d", 0x12345678)], [])


def test_bad_checksum_is_an_error_and_the_next_packet_still_decodes():
    bad = bytearray(ACK_OK)
    bad[-1] ^= 0xFF
    packets, errors = decode_all(bytes(bad) + ACK_NO_FINGER)
    assert [p.code for p in packets] == [0x02]
    assert any("checksum mismatch" in e.reason for e in errors)


def test_garbage_before_a_packet_is_named_with_its_offset():
    packets, errors = decode_all(b"\x55\x00\x12" + ACK_OK)
    assert [p.code for p in packets] == [0x00]
    assert errors[0].reason == "3 bytes of garbage before a packet header at byte 0"


def test_unknown_pid_and_impossible_length_are_refused():
    _, errors = decode_all(bytes.fromhex("EF01FFFFFFFF09000300000C"))
    assert any("unknown packet identifier 09" in e.reason for e in errors)
    _, errors = decode_all(bytes.fromhex("EF01FFFFFFFF07FFFF"))
    assert any("packet length 65535 outside 2..258" in e.reason for e in errors)


def test_confirmation_codes_become_errors_a_technician_can_read():
    with pytest.raises(FingerprintError, match="not the same finger") as caught:
        commands.check(commands.REG_MODEL, b"\x0a")
    assert caught.value.code == 0x0A and caught.value.instruction == commands.REG_MODEL
    with pytest.raises(FingerprintError, match="wrong password"):
        commands.check(commands.VFY_PWD, b"\x13")
    with pytest.raises(FingerprintError, match="unknown confirmation code"):
        commands.check(commands.GEN_IMG, b"\x77")
    with pytest.raises(ProtocolError, match="has 1 result bytes, not 2"):
        commands.parse_template_count(b"\x00\x05")


def test_search_answer_yields_slot_and_score_or_none():
    assert commands.parse_match(bytes.fromhex("00000700C8")) == Match(slot=7, score=200)
    assert commands.parse_match(b"\x09") is None


def test_index_table_round_trips():
    slots = {0, 7, 8, 255}
    assert commands.parse_index_table(b"\x00" + commands.index_table_bytes(slots, 0), 0) == slots
    assert commands.parse_index_table(b"\x00" + commands.index_table_bytes({256, 300}, 1), 1) == {256, 300}


packets = st.builds(
    lambda pid, payload, address: encode_packet(pid, payload, address),
    st.sampled_from(list(Pid)),
    st.binary(min_size=1, max_size=MAX_PAYLOAD),
    st.integers(0, 0xFFFFFFFF),
)


@given(st.lists(st.tuples(st.sampled_from(list(Pid)), st.binary(min_size=1, max_size=MAX_PAYLOAD)), max_size=4))
@settings(max_examples=150, deadline=None)
def test_round_trip_through_any_chunking(items):
    raw = b"".join(encode_packet(pid, payload) for pid, payload in items)
    for chunk in (None, 1, 7):
        assert decode_all(raw, chunk) == ([Packet(pid, payload) for pid, payload in items], [])


@given(data=st.one_of(st.binary(max_size=600), packets.map(lambda p: p[: len(p) // 2] + p)), chunk=st.integers(1, 64))
@settings(max_examples=400, deadline=None)
def test_fuzz_decoder_raises_only_protocol_errors_and_stays_bounded(data, chunk):
    decoder = PacketDecoder()
    for i in range(0, len(data), chunk):
        decoder.feed(data[i : i + chunk])
        while True:
            try:
                if decoder.next_packet() is None:
                    break
            except ProtocolError:
                continue
        assert decoder.buffered <= MAX_PAYLOAD + 11  # never more than one packet's worth


@given(st.binary(max_size=64))
@settings(max_examples=400, deadline=None)
def test_fuzz_acknowledgement_parsers_raise_only_protocol_errors(payload):
    for parse in (commands.parse_match, commands.parse_template_count, lambda p: commands.parse_index_table(p, 0)):
        try:
            parse(payload)
        except ProtocolError:
            pass
