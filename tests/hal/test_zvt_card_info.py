"""How the shopper paid, from the terminal's status information: a real terminal's trace, and each kind
of payment from the emulator through the driver over a PTY."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hal.errors import ProtocolError
from hal.sim.zvt_emulator import ZvtEmulator
from hal.zvt import ZvtTerminal
from hal.zvt import apdu as zvt
from hal.zvt.bmp import BmpFields, TlvItem
from hal.zvt.card_info import CardInfo, card_info

# A Mastercard paid contactless, as a real terminal sent it (Portalum.Zvt's StatusInformationParserTest):
# 8A 06, 8B "MASTERCARD", TLV 2F{1F12 = 02, 1F10 = 00}, 60{43 AID, 44 "Debit Mastercard"}, 1F2B trace.
NFC_MASTERCARD = bytes.fromhex(
    "04-0F-65-27-00-0C-23-13-55-0D-10-29-0E-99-99-22-F0-F8-EE-EE-EE-EE-EE-EE-47-71-A0-01-29-00-00-00-06-87-00-08-0B-"
    "00-00-00-8A-06-8B-F1-F1-4D-41-53-54-45-52-43-41-52-44-00-06-2E-2F-08-1F-12-01-02-1F-10-01-00-60-1B-43-07-A0-00-"
    "00-00-04-10-10-44-10-44-65-62-69-74-20-4D-61-73-74-65-72-63-61-72-64-1F-2B-04-10-01-50-08".replace("-", "")
)


def test_real_contactless_mastercard_trace():
    fields = zvt.command_bmps(zvt.parse_apdu(NFC_MASTERCARD))
    assert card_info(fields) == CardInfo(entry="contactless", card="MASTERCARD")


def test_chip_wallet_and_silent_terminals():
    def fields(technology: int | None, name: bytes = b"", app: bytes = b"", card_type: int | None = 10) -> BmpFields:
        tlv: list[TlvItem] = []
        if technology is not None:
            tlv.append(TlvItem(0x2F, b"", (TlvItem(0x1F12, bytes([technology])),)))
        if app:
            tlv.append(TlvItem(0x60, b"", (TlvItem(0x44, app),)))
        others = {0x8B: name} if name else {}
        if card_type is not None:
            others[0x8A] = bytes([card_type])
        return BmpFields(tlv=tuple(tlv), others=others)

    assert card_info(fields(1)) == CardInfo("chip", "Visa")  # no name: the ZVT card number's
    assert card_info(fields(2, b"VISA", b"Apple Pay")) == CardInfo("wallet", "VISA")
    assert card_info(fields(1, b"VISA", b"Apple Pay")) == CardInfo("chip", "VISA")  # a wallet is contactless
    assert card_info(fields(0, card_type=200)) == CardInfo("stripe", "card type 200")
    assert card_info(BmpFields()) == CardInfo(None, None)  # an old terminal says nothing: nothing is made up


@given(st.binary(max_size=200))
@settings(max_examples=300, deadline=None)
def test_fuzz_status_information_yields_card_info_or_protocol_error(data):
    try:
        fields = zvt.command_bmps(zvt.Apdu(*zvt.STATUS_INFORMATION, data))
    except ProtocolError:
        return
    info = card_info(fields)
    assert info.entry in (None, "stripe", "chip", "contactless", "wallet")


@pytest.fixture
async def emulator():
    emu = ZvtEmulator(password="123456", ack_timeout=0.4, reply_timeout=3.0, seed=7)
    await emu.start()
    yield emu
    await emu.stop()


@pytest.mark.parametrize(
    "card, entry, brand",
    [("chip", "chip", "girocard"), ("contactless", "contactless", "MASTERCARD"), ("wallet", "wallet", "VISA")],
)
async def test_each_way_to_pay_reaches_the_payment_result(emulator, card, entry, brand):
    terminal = ZvtTerminal(emulator.port, password="123456", ack_timeout=0.4, reply_timeout=3.0, auth_timeout=10.0)
    await terminal.open()
    try:
        task = asyncio.create_task(terminal.authorize(2500, "EUR"))
        await emulator.wait_for_card_prompt()
        emulator.approve(card=card)
        result = await asyncio.wait_for(task, 15)
        assert result.approved and (result.method_detail, result.card) == (entry, brand)
        # After a restart the terminal's last transaction says the same.
        recovered = await terminal.query("sale-1", 2500, "EUR", mark=None)
        assert recovered is not None and (recovered.method_detail, recovered.card) == (entry, brand)
    finally:
        await terminal.close()


def test_unknown_way_to_pay_is_refused_by_the_emulator(emulator):
    with pytest.raises(ValueError, match="card must be one of chip, contactless, wallet, not 'cash'"):
        emulator.approve(card="cash")
