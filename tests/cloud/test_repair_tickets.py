"""Repair tickets: built from the cabinets' repair.ticket events, moved forward by the retailer, and
visible only to the cabinet's own retailer. Answers are checked against docs/openapi.yaml as well."""

from __future__ import annotations

from typing import Any

from tests.cloud.cloud_helpers import CAB, OTHER, Cloud, Reply, make_event
from tests.cloud.test_openapi import validate

DROP_OFF = {
    "device": "WBAEB71080C123456",
    "detail": "rear brake grinds",
    "status": "dropped_off",
    "name": "Mia Chen",
    "phone": "+49 170 1234567",
    "category": "brakes",
}
TICKETS = "/v1/retailer/cabinets/{cabinet_id}/repair-tickets"
PATCH = "/v1/retailer/repair-tickets/{ticket_id}"


def ticket_event(
    seq: int,
    ticket_id: str,
    status: str = "dropped_off",
    *,
    cabinet_id: str = CAB,
    at: str = "2026-11-25T16:39:53.123Z",
) -> dict[str, Any]:
    event = make_event(seq, cabinet_id, "repair.ticket", {**DROP_OFF, "ticket_id": ticket_id, "status": status})
    return {**event, "wall_time": at}


async def tickets(cloud: Cloud, cabinet_id: str = CAB, query: str = "", retailer: str = "shop-a") -> Reply:
    reply = await cloud.retailer("GET", TICKETS.format(cabinet_id=cabinet_id) + query, retailer=retailer)
    validate(TICKETS, "GET", reply.status, reply.body)
    return reply


async def patch(cloud: Cloud, ticket_id: str, body: dict[str, Any], retailer: str = "shop-a") -> Reply:
    reply = await cloud.retailer("PATCH", PATCH.format(ticket_id=ticket_id), body, retailer=retailer)
    validate(PATCH, "PATCH", reply.status, reply.body)
    return reply


async def test_the_ticket_list_is_built_from_the_cabinets_events(cloud: Cloud) -> None:
    answer = await cloud.post(
        [
            ticket_event(1, "R-0001", at="2026-11-25T09:00:00.000Z"),
            ticket_event(2, "R-0002", at="2026-11-25T10:00:00.000Z"),
            ticket_event(3, "R-0003", status="open"),
        ]
    )
    assert len(answer.body["acked"]) == 2
    [rejected] = answer.body["rejected"]
    assert rejected["index"] == 2 and rejected["reason"].startswith("payload.status: expected one of dropped_off")

    listed = (await tickets(cloud)).body["tickets"]
    assert [(t["ticket_id"], t["status"], t["dropped_off_at"]) for t in listed] == [
        ("R-0001", "dropped_off", "2026-11-25T09:00:00.000Z"),
        ("R-0002", "dropped_off", "2026-11-25T10:00:00.000Z"),
    ]
    assert {k: listed[0][k] for k in DROP_OFF} == DROP_OFF
    assert listed[0]["cabinet_id"] == CAB and listed[0]["collected_at"] is None

    # The cabinet reports a collection at its own screen; a late copy of an older status moves nothing back.
    await cloud.post(
        [
            ticket_event(4, "R-0002", "collected", at="2026-11-26T08:00:00.000Z"),
            ticket_event(5, "R-0002", "dropped_off", at="2026-11-26T08:30:00.000Z"),
        ]
    )
    second = (await tickets(cloud)).body["tickets"][1]
    assert (second["status"], second["collected_at"], second["dropped_off_at"]) == (
        "collected",
        "2026-11-26T08:00:00.000Z",
        "2026-11-25T10:00:00.000Z",
    )
    waiting = (await tickets(cloud, query="?status=dropped_off")).body["tickets"]
    assert [t["ticket_id"] for t in waiting] == ["R-0001"]
    bad_filter = await tickets(cloud, query="?status=lost")
    assert bad_filter.status == 400 and bad_filter.body["error"].startswith("status:")


async def test_a_ticket_only_moves_forward_one_step_at_a_time(cloud: Cloud) -> None:
    await cloud.post([ticket_event(1, "R-0001"), ticket_event(2, "R-0002")])

    skip = await patch(cloud, "R-0002", {"status": "returned"})
    assert skip.status == 409
    assert skip.body["error"] == "status: ticket 'R-0002' is dropped_off; it can only move to collected"

    cloud.clock.t += 3600
    collected = await patch(cloud, "R-0001", {"status": "collected"})
    assert collected.status == 200
    assert collected.body["status"] == "collected" and collected.body["collected_at"] == "2027-01-15T09:00:00.000Z"
    again = await patch(cloud, "R-0001", {"status": "collected"})
    assert again.status == 409 and "it can only move to in_repair" in again.body["error"]
    assert (await patch(cloud, "R-0001", {"status": "returned"})).status == 409  # not repaired yet

    assert (await patch(cloud, "R-0001", {"status": "in_repair"})).body["in_repair_at"] is not None
    returned = await patch(cloud, "R-0001", {"status": "returned"})
    assert returned.status == 200 and returned.body["returned_at"] is not None
    handed = await patch(cloud, "R-0001", {"status": "handed_back"})
    assert handed.status == 200 and handed.body["handed_back_at"] is not None
    back = await patch(cloud, "R-0001", {"status": "collected"})
    assert (
        back.status == 409 and back.body["error"] == "status: ticket 'R-0001' is handed_back; that is its last status"
    )
    assert (await patch(cloud, "R-0001", {"status": "dropped_off"})).status == 400
    assert (await patch(cloud, "R-0001", {"status": "returned", "note": "x"})).status == 400

    # A late event from the cabinet does not undo the retailer's update either.
    await cloud.post([ticket_event(3, "R-0001", "collected")])
    assert [(t["ticket_id"], t["status"]) for t in (await tickets(cloud)).body["tickets"]] == [
        ("R-0001", "handed_back"),
        ("R-0002", "dropped_off"),
    ]
    # Each change is recorded with who made it, and each owes the customer a message (none is sent yet).
    changes = {t["ticket_id"]: t["changes"] for t in cloud.store.tickets_of("shop-a")}
    assert [(c["status"], c["by"]) for c in changes["R-0001"]] == [
        ("dropped_off", "cabinet"),
        ("collected", "api (shop-a)"),
        ("in_repair", "api (shop-a)"),
        ("returned", "api (shop-a)"),
        ("handed_back", "api (shop-a)"),
    ]
    to_notify = [(n["ticket_id"], n["status"]) for n in cloud.store.notifications_of("shop-a")]
    assert to_notify == [("R-0001", "dropped_off"), ("R-0002", "dropped_off")] + [
        ("R-0001", s) for s in ("collected", "in_repair", "returned", "handed_back")
    ]
    assert cloud.store.notifications_of("shop-b") == []


async def test_a_retailer_sees_and_moves_only_the_tickets_of_its_own_cabinets(cloud: Cloud) -> None:
    await cloud.post([ticket_event(1, "R-0001")])
    await cloud.post(
        [ticket_event(1, "R-0001", cabinet_id=OTHER), ticket_event(2, "R-0009", cabinet_id=OTHER)], cabinet_id=OTHER
    )

    assert (await tickets(cloud, OTHER)).status == 404
    foreign = await patch(cloud, "R-0009", {"status": "collected"})
    assert foreign.status == 404
    assert foreign.body["error"] == "ticket_id: no ticket 'R-0009' on retailer 'shop-a''s cabinets"
    named = await patch(cloud, "R-0009", {"status": "collected", "cabinet_id": OTHER})
    assert named.status == 404

    # The same ticket id on both retailers' cabinets: each moves only its own.
    assert (await patch(cloud, "R-0001", {"status": "collected"})).body["cabinet_id"] == CAB
    theirs = (await tickets(cloud, OTHER, retailer="shop-b")).body["tickets"]
    assert [(t["ticket_id"], t["status"]) for t in theirs] == [("R-0001", "dropped_off"), ("R-0009", "dropped_off")]
    assert (await patch(cloud, "R-0009", {"status": "collected"}, retailer="shop-b")).status == 200

    async with cloud.session.patch(cloud.url + PATCH.format(ticket_id="R-0001"), json={"status": "returned"}) as resp:
        assert resp.status == 401
    assert cloud.store.repair_tickets(CAB)[0]["status"] == "collected"


async def test_the_same_ticket_id_on_two_of_a_retailers_cabinets_needs_the_cabinet_named(cloud: Cloud) -> None:
    cloud.keys["cab-3"] = cloud.store.add_cabinet("cab-3", "shop-a")
    await cloud.post([ticket_event(1, "R-0001")])
    await cloud.post([ticket_event(1, "R-0001", cabinet_id="cab-3")], cabinet_id="cab-3")
    ambiguous = await patch(cloud, "R-0001", {"status": "collected"})
    assert ambiguous.status == 409 and "(cab-1, cab-3)" in ambiguous.body["error"]
    named = await patch(cloud, "R-0001", {"status": "collected", "cabinet_id": "cab-3"})
    assert named.status == 200 and named.body["cabinet_id"] == "cab-3"
    assert [t["status"] for t in cloud.store.repair_tickets(CAB)] == ["dropped_off"]
