"""The repair drop-off state machine with the real SQLite outbox on disk and the real event loop."""

import logging
import random
import re

import pytest

from firmware.clock import FakeClock
from firmware.journeys.repair import (
    TICKET_ALPHABET,
    TRANSITIONS,
    RepairJourney,
    RepairRefused,
    Step,
    normalise_name,
    normalise_phone,
    normalise_vehicle,
    vehicle_from_scan,
)
from sync_client.outbox import Outbox

NAME, PHONE, FRAME = "Zoë O'Brien-Li", "+49 170-123 4567", "wbaeb71080c123456"


@pytest.fixture
def outbox(tmp_path):
    box = Outbox(tmp_path / "cabinet.db", "cab-1")
    yield box
    box.close()


@pytest.fixture
def journey(outbox):
    changes = []
    j = RepairJourney(outbox=outbox, on_change=lambda: changes.append(1), ticket_s=0.3)
    j.changes = changes
    return j


def tickets(outbox):
    return [e for e in outbox.events() if e.type == "repair.ticket"]


def fill(
    journey,
    vehicle=FRAME,
    name=NAME,
    phone=PHONE,
    category="brakes",
    description="Front brake squeaks\nand the lever goes to the grip",
):
    """Walk to the consent step the way the UI does: the step's fields, then next."""
    journey.open()
    journey.set_field("vehicle", vehicle)
    assert journey.next(), journey.field_errors()
    journey.set_field("name", name)
    journey.set_field("phone", phone)
    assert journey.next(), journey.field_errors()
    journey.choose_category(category)
    journey.set_field("description", description)
    assert journey.next(), journey.field_errors()
    assert journey.state is Step.CONSENT


def test_every_step_is_reachable_and_can_leave():
    targets = {t for moves in TRANSITIONS.values() for t in moves.values()}
    assert targets | {Step.IDLE} == set(Step)
    assert all(TRANSITIONS[s] for s in Step)
    assert all(
        moves.get("cancel") is Step.IDLE for s, moves in TRANSITIONS.items() if s not in (Step.IDLE, Step.TICKET)
    )


# --- validation of each field -----------------------------------------------------------
@pytest.mark.parametrize(
    "typed, expected",
    [
        ("wbaeb71080c123456", "WBAEB71080C123456"),
        (" ab 12 cd ", "AB12CD"),
        ("A" * 20, "A" * 20),
        ("ABC12", None),
        ("A" * 21, None),
        ("AB-1234", None),
        ("ÄBC1234", None),
        ("", None),
    ],
)
def test_frame_number_is_six_to_twenty_letters_and_digits(typed, expected):
    assert normalise_vehicle(typed) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("VIN:wbaeb71080c123456", "WBAEB71080C123456"),
        ("vin: WBA123456", "WBA123456"),
        ("https://fleet.example.com/v/SC0042XY", "SC0042XY"),
        ("https://fleet.example.com/v/sc0042xy/", "SC0042XY"),
        ("https://x.example/vehicles?vin=ABC123456", "ABC123456"),
        ("WBAEB71080C123456", "WBAEB71080C123456"),
        ("https://shop.example.com/p/SCOOT-S1?cabinet=cab-1", None),
        ("https://x.example/v/AB", None),
        ("VIN:", None),
        ("hello world, this is a menu", None),
    ],
)
def test_a_scanned_code_gives_the_vehicle_id_it_carries(text, expected):
    assert vehicle_from_scan(text) == expected


@pytest.mark.parametrize(
    "typed, expected",
    [
        ("  Li   Wei ", "Li Wei"),
        ("李伟", "李伟"),
        ("O'Brien-Smith", "O'Brien-Smith"),
        ("José Müller", "José Müller"),
        ("Müller", "Müller"),  # as typed, never MUELLER
        ("J. O'Brien-Smith", "J. O'Brien-Smith"),
        ("Müller & Söhne, Haus 2/Hof", None),  # digits are no part of a name
        ("Müller & Söhne, Hof/Garten", "Müller & Söhne, Hof/Garten"),
        ("Ærø Çelik-Ñúñez", "Ærø Çelik-Ñúñez"),
        ("阿依古丽·买买提", "阿依古丽·买买提"),
        ("A" * 60, "A" * 60),
        ("", None),
        ("   ", None),
        ("A" * 61, None),
        ("R2D2", None),
        ("Bob <script>", None),
        ("--'", None),
    ],
)
def test_a_name_is_letters_of_any_script_spaces_hyphens_apostrophes(typed, expected):
    assert normalise_name(typed) == expected


@pytest.mark.parametrize(
    "typed, expected",
    [
        ("+49 170-123 4567", "+491701234567"),
        ("0170 1234567", "01701234567"),
        ("1234567", "1234567"),
        ("+123456789012345", "+123456789012345"),
        ("123456", None),
        ("+1234567890123456", None),
        ("++491701234", None),
        ("0170/1234567", None),
        ("phone", None),
        ("١٢٣٤٥٦٧٨", None),
        ("", None),
    ],
)
def test_a_phone_number_is_an_optional_plus_and_seven_to_fifteen_digits(typed, expected):
    assert normalise_phone(typed) == expected


async def test_each_step_reports_what_is_wrong_and_stays(journey):
    journey.open()
    assert journey.step == "vehicle"
    journey.set_field("vehicle", "AB-12")
    assert journey.next() is False
    assert journey.state is Step.VEHICLE and journey.field_errors() == (("vehicle", "vehicle_invalid"),)
    journey.set_field("vehicle", "ab1234")
    assert journey.next() and journey.step == "contact"
    assert journey.field_errors() == ()
    assert journey.fields() == (("vehicle", "AB1234"),), "the normalised frame number goes back to the screen"

    journey.set_field("name", "")
    journey.set_field("phone", "12")
    assert journey.next() is False
    assert journey.field_errors() == (("name", "name_invalid"), ("phone", "phone_invalid"))
    journey.set_field("name", "Li Wei")
    assert journey.next() is False
    assert journey.field_errors() == (("phone", "phone_invalid"),)
    journey.set_field("phone", "+86 138 0013 8000")
    assert journey.next() and journey.step == "fault"

    assert journey.next() is False
    assert journey.field_errors() == (("category", "category_required"), ("description", "required"))
    journey.choose_category("tyre")
    assert journey.field_errors() == (("description", "required"),), "a tap clears its complaint at once"
    journey.set_field("description", "x" * 201)
    assert journey.next() is False and journey.field_errors() == (("description", "required"),)
    journey.set_field("description", "Flat rear tyre")
    assert journey.next() and journey.step == "consent"
    assert journey.fault_category == "tyre"
    assert dict(journey.fields()) == {
        "vehicle": "AB1234",
        "name": "Li Wei",
        "phone": "+8613800138000",
        "description": "Flat rear tyre",
    }


async def test_fields_and_categories_belong_to_their_step(journey):
    journey.open()
    with pytest.raises(RepairRefused, match="field 'phone' is not entered on repair step vehicle"):
        journey.set_field("phone", "123456789")
    with pytest.raises(RepairRefused, match="fault step"):
        journey.choose_category("brakes")
    with pytest.raises(RepairRefused, match="'agree' is not allowed in repair step vehicle"):
        journey.agree()
    journey.cancel()
    fill(journey)
    with pytest.raises(RepairRefused, match="'next' is not allowed in repair step consent"):
        journey.next()


async def test_an_unknown_category_is_refused_by_name(journey):
    fill(journey)
    journey.back()
    with pytest.raises(RepairRefused, match="unknown fault category 'wheels'"):
        journey.choose_category("wheels")
    assert journey.fault_category == "brakes"


async def test_a_scanned_vehicle_code_fills_the_frame_number(journey):
    assert journey.scanned("VIN:ABC123456") is False, "ignored unless the vehicle step is shown"
    journey.open()
    assert journey.scanned("https://shop.example.com/p/SCOOT-S1") is False
    assert journey.field_errors() == (("vehicle", "vehicle_invalid"),)
    assert journey.fields() == ()
    assert journey.scanned("https://fleet.example.com/v/sc0042xy") is True
    assert journey.fields() == (("vehicle", "SC0042XY"),) and journey.field_errors() == ()
    assert journey.state is Step.VEHICLE, "the person confirms with next"
    journey.set_field("vehicle", "SC0042XY")  # what the UI sends back on next
    assert journey.next() and journey.step == "contact"


# --- a whole drop-off ------------------------------------------------------------------------
async def test_a_drop_off_records_one_ticket_with_contact_details_and_logs_no_personal_data(journey, outbox, caplog):
    caplog.set_level(logging.DEBUG)
    fill(journey)
    ticket = journey.agree()

    assert re.fullmatch(r"R-[A-HJ-NP-Z2-7]{6}", ticket)
    assert journey.step == "ticket" and journey.ticket == ticket
    assert journey.fields() == (), "personal data leaves memory once recorded"
    assert NAME not in repr(journey)
    [event] = tickets(outbox)
    assert event.payload == {
        "ticket_id": ticket,
        "device": "WBAEB71080C123456",
        "status": "dropped_off",
        "detail": "brakes: Front brake squeaks and the lever goes to the grip",
        "category": "brakes",
        "description": "Front brake squeaks and the lever goes to the grip",
        "name": NAME,
        "phone": "+491701234567",
    }
    row = outbox.db.conn.execute("SELECT ticket_id, device, category, status FROM repair_tickets").fetchall()
    assert row == [(ticket, "WBAEB71080C123456", "brakes", "dropped_off")]

    logged = "\n".join(f"{r.getMessage()} {vars(r)}" for r in caplog.records)
    assert ticket in logged, "the ticket id is logged"
    for secret in (NAME, "O'Brien", "+491701234567", "170-123", "1234567"):
        assert secret not in logged, f"{secret!r} reached the log"

    journey.done()
    assert journey.state is Step.IDLE and journey.ticket is None
    assert len(tickets(outbox)) == 1


async def test_the_ticket_screen_returns_to_idle_by_itself_after_exactly_ticket_s(outbox):
    clock = FakeClock()
    journey = RepairJourney(outbox=outbox, ticket_s=60.0, clock=clock)
    fill(journey)
    ticket = journey.agree()
    clock.advance(59.999)
    assert journey.state is Step.TICKET and journey.ticket == ticket, "the ticket stays its whole minute"
    clock.advance(0.001)
    assert journey.state is Step.IDLE
    assert journey.ticket is None and journey.fields() == ()
    assert len(tickets(outbox)) == 1
    assert clock.pending() == []


async def test_back_keeps_what_was_entered_to_correct_it(journey):
    fill(journey)
    assert NAME not in repr(journey), "a traceback or debug print does not show personal data"
    journey.back()
    assert journey.step == "fault" and journey.fault_category == "brakes"
    journey.back()
    journey.back()
    assert journey.step == "vehicle"
    assert dict(journey.fields())["name"] == NAME


@pytest.mark.parametrize("leave", ["back_out", "cancel", "idle"])
async def test_leaving_discards_everything_entered_and_records_nothing(journey, outbox, leave):
    fill(journey)
    if leave == "back_out":
        for _ in range(4):
            journey.back()
    elif leave == "cancel":
        journey.cancel()
    else:
        journey.idle_timeout()
    assert journey.state is Step.IDLE and journey.step is None
    assert journey.fields() == () and journey.fault_category is None and journey.field_errors() == ()
    assert tickets(outbox) == []
    journey.open()
    assert journey.fields() == (), "a new drop-off starts empty"
    assert journey.next() is False, "nothing typed: the first step refuses"
    assert journey.field_errors() == (("vehicle", "vehicle_invalid"),)


async def test_the_screen_is_told_of_errors_as_well_as_steps(journey):
    journey.open()
    before = len(journey.changes)
    journey.set_field("vehicle", "?")
    journey.next()
    assert len(journey.changes) == before + 1 and journey.field_errors()


async def test_ticket_numbers_are_unique_across_restarts_of_the_journey(outbox):
    """Two journeys drawing the same random sequence (as after a reboot with a replayed seed): the
    second must skip the number the first issued."""
    first = RepairJourney(outbox=outbox, rng=random.Random(7), ticket_s=30)
    fill(first)
    a = first.agree()
    second = RepairJourney(outbox=outbox, rng=random.Random(7), ticket_s=30)
    fill(second)
    b = second.agree()
    assert a != b
    assert all(c in TICKET_ALPHABET for c in a[2:] + b[2:])
    assert sorted(e.payload["ticket_id"] for e in tickets(outbox)) == sorted([a, b])
    first.done()
    second.done()


async def test_many_tickets_never_repeat_and_avoid_look_alikes(outbox):
    journey = RepairJourney(outbox=outbox, rng=random.Random(1), ticket_s=30)
    issued = set()
    for _ in range(40):
        fill(journey)
        issued.add(journey.agree())
        journey.done()
    assert len(issued) == 40
    assert not set("".join(issued)[2:]) & set("01OI")


# --- continue on the phone ---------------------------------------------------------------
PHONE_FORM = {"vehicle": FRAME, "name": "李伟", "phone": PHONE, "category": "tyre", "description": "爆胎"}


async def test_the_phone_hand_off_takes_only_the_token_on_show_and_finishes_as_if_typed(outbox):
    from sync_client.schema import SchemaError

    clock = FakeClock()
    journey = RepairJourney(outbox=outbox, clock=clock, phone_s=300.0)
    journey.open()
    first = journey.continue_on_phone()
    token = journey.continue_on_phone()  # offered again: a fresh token, the first one withdrawn
    assert first != token and len(token) == 22
    offers = [(e.type, e.payload["token"]) for e in outbox.events() if e.type.startswith("form.")]
    assert offers == [("form.offered", first), ("form.closed", first), ("form.offered", token)]

    journey.idle_timeout()
    assert journey.step == "vehicle", "nobody touches the screen while the phone types: the form waits"
    assert journey.phone_opened(first).startswith("ignored") and journey.phone.status == "waiting"
    assert journey.phone_opened(token) == "opened" and journey.phone.status == "opened"
    with outbox.transaction() as tx, pytest.raises(SchemaError, match="no longer offers"):
        journey.phone_form(tx, first, PHONE_FORM)
    with outbox.transaction() as tx, pytest.raises(SchemaError, match="phone: phone_invalid"):
        journey.phone_form(tx, token, {**PHONE_FORM, "phone": "12"})

    with outbox.transaction() as tx:
        result = journey.phone_form(tx, token, PHONE_FORM)
    assert journey.step == "ticket" and result == f"ticket {journey.ticket}"
    [event] = tickets(outbox)
    assert event.payload["ticket_id"] == journey.ticket and event.payload["name"] == "李伟"
    assert event.payload["device"] == "WBAEB71080C123456" and event.payload["phone"] == "+491701234567"
    assert journey.phone is None and journey.fields() == ()
    with outbox.transaction() as tx, pytest.raises(SchemaError):  # used: a second submission finds nothing
        journey.phone_form(tx, token, PHONE_FORM)


async def test_the_phone_link_lapses_and_can_be_withdrawn_at_the_cabinet(outbox):
    clock = FakeClock()
    journey = RepairJourney(outbox=outbox, clock=clock, phone_s=300.0)
    journey.open()
    token = journey.continue_on_phone()
    clock.advance(300.0)
    assert journey.phone is None and journey.step == "vehicle", "lapsed: back to typing here"
    again = journey.continue_on_phone()
    journey.cancel_phone()
    closed = [e.payload["token"] for e in outbox.events() if e.type == "form.closed"]
    assert closed == [token, again]
    assert journey.phone_opened(again).startswith("ignored")
