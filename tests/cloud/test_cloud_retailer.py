"""The retailer's view of a cabinet, built from the events the cabinet sent."""

from __future__ import annotations

import pytest

from tests.cloud.cloud_helpers import CAB, Cloud, make_event

SALE = {"sku": "BIKE-C7", "amount_cents": 129900, "currency": "EUR", "method": "terminal"}


async def test_sales_stock_tickets_and_alarms_come_from_the_cabinets_events(cloud: Cloud) -> None:
    events = [
        make_event(
            1, type_="payment.approved", payload={**SALE, "sale_id": "s-1", "receipt_no": "1", "trace_no": None}
        ),
        make_event(
            2, type_="sale.completed", payload={**SALE, "sale_id": "s-1", "door_opened_at": "x", "door_closed_at": "y"}
        ),
        make_event(
            3, type_="payment.approved", payload={**SALE, "sale_id": "s-2", "receipt_no": "2", "trace_no": None}
        ),
        make_event(4, type_="sale.unclaimed", payload={**SALE, "sale_id": "s-2", "action": "refund_pending"}),
        make_event(5, type_="stock.changed", payload={"sku": "BIKE-C7", "count": 1, "reason": "sale"}),
        make_event(
            6, type_="restock.recorded", payload={"sku": "BIKE-C7", "added": 3, "count": 4, "staff_uid": "04a1b2c3"}
        ),
        make_event(
            7,
            type_="repair.ticket",
            payload={"ticket_id": "t-1", "device": "lock", "detail": "stiff", "status": "dropped_off"},
        ),
        make_event(
            8,
            type_="repair.ticket",
            payload={"ticket_id": "t-1", "device": "lock", "detail": "oiled", "status": "collected"},
        ),
        make_event(9, type_="alarm", payload={"kind": "door_forced", "detail": "opened while locked"}),
    ]
    assert (await cloud.post(events)).status == 200
    sales = (await cloud.retailer("GET", f"/v1/retailer/cabinets/{CAB}/sales")).body["sales"]
    assert [(s["sale_id"], s["status"], s["amount_cents"]) for s in sales] == [
        ("s-1", "completed", 129900),
        ("s-2", "unclaimed", 129900),
    ]
    stock = (await cloud.retailer("GET", f"/v1/retailer/cabinets/{CAB}/stock")).body["stock"]
    assert [(s["sku"], s["count"]) for s in stock] == [("BIKE-C7", 4)]
    tickets = (await cloud.retailer("GET", f"/v1/retailer/cabinets/{CAB}/repair-tickets")).body["tickets"]
    assert [(t["ticket_id"], t["status"]) for t in tickets] == [("t-1", "collected")]
    alarms = (await cloud.retailer("GET", f"/v1/retailer/cabinets/{CAB}/alarms")).body["alarms"]
    assert [a["kind"] for a in alarms] == ["door_forced"]
    cabinets = (await cloud.retailer("GET", "/v1/retailer/cabinets")).body["cabinets"]
    assert cabinets[0]["last_sync_at"] is not None


async def test_an_order_needs_a_product_of_that_cabinet(cloud: Cloud) -> None:
    reply = await cloud.retailer("POST", "/v1/retailer/orders", {"cabinet_id": CAB, "sku": "BIKE-C7"})
    assert reply.status == 422 and reply.body["error"].startswith("sku:")
    config = {"currency": "EUR", "products": [{"sku": "BIKE-C7", "name": "Cruiser C7", "price_cents": 129900}]}
    assert (await cloud.retailer("PUT", f"/v1/retailer/cabinets/{CAB}/config", config)).status == 200
    made = await cloud.retailer(
        "POST", "/v1/retailer/orders", {"cabinet_id": CAB, "sku": "BIKE-C7", "expires_in_s": 3600}
    )
    assert made.status == 201 and made.body["pickup_code"].isdigit()
    served = await cloud.signed("GET", "/v1/pickup-orders")
    assert [o["order_id"] for o in served.body["orders"]] == [made.body["order_id"]]
    assert made.body["pickup_code"] not in str(served.body)


async def test_an_order_may_carry_the_customers_phone_checked_and_normalised(cloud: Cloud) -> None:
    config = {"currency": "EUR", "products": [{"sku": "BIKE-C7", "name": "Cruiser C7", "price_cents": 129900}]}
    assert (await cloud.retailer("PUT", f"/v1/retailer/cabinets/{CAB}/config", config)).status == 200
    bad = await cloud.retailer("POST", "/v1/retailer/orders", {"cabinet_id": CAB, "sku": "BIKE-C7", "phone": "call me"})
    assert bad.status == 400 and bad.body["error"].startswith("phone:")
    made = await cloud.retailer(
        "POST", "/v1/retailer/orders", {"cabinet_id": CAB, "sku": "BIKE-C7", "phone": "+49 170 555-1234"}
    )
    assert made.status == 201 and made.body["phone"] == "+491705551234"
    (due,) = cloud.store.due_notifications(now=9e9)
    assert (due["kind"], due["phone"], due["pickup_code"]) == ("pickup", "+491705551234", made.body["pickup_code"])


async def test_a_nul_character_in_a_request_field_gets_400_naming_it(cloud: Cloud) -> None:
    """U+0000 fits no PostgreSQL text column: refused on either store before anything is stored."""
    bad = await cloud.retailer("POST", "/v1/retailer/orders", {"cabinet_id": CAB, "sku": "BIKE\x00C7"})
    assert (bad.status, bad.body) == (400, {"error": "sku: contains a NUL character (U+0000)"})
    assert cloud.store.orders_of("shop-a") == []


async def test_the_sales_answer_comes_from_the_sales_kept_at_ingest_whatever_order_the_events_came_in(
    cloud: Cloud,
) -> None:
    """Each sale once with what its events said (the approval's way to pay only when it came); a reversal alone is
    no sale; a completion uploaded before its approval gives the same answer as the other way round."""
    scooter = {**SALE, "sku": "SCOOT-S1", "variant_sku": "SCOOT-S1-mint", "amount_cents": 49900}
    approved = {"receipt_no": "1", "trace_no": None, "method_detail": "contactless", "card": "VISA"}
    door = {"door_opened_at": "x", "door_closed_at": "y"}
    events = [
        make_event(1, type_="sale.completed", payload={**scooter, "sale_id": "s-1", **door}),
        make_event(2, type_="payment.approved", payload={**scooter, "sale_id": "s-1", **approved}),
        make_event(3, type_="sale.completed", payload={**SALE, "sale_id": "s-2", **door}),
        make_event(4, type_="payment.reversed", payload={"sale_id": "s-3", "receipt_no": "3", **SALE}),
        make_event(
            5, type_="payment.approved", payload={**SALE, "sale_id": "s-4", "receipt_no": "4", "trace_no": None}
        ),
    ]
    assert (await cloud.post(events)).body["rejected"] == []
    body = (await cloud.retailer("GET", f"/v1/retailer/cabinets/{CAB}/sales")).body
    at = events[0]["wall_time"]
    assert body["sales"] == [
        {
            "sale_id": "s-1",
            "sku": "SCOOT-S1",
            "variant_sku": "SCOOT-S1-mint",
            "amount_cents": 49900,
            "currency": "EUR",
            "method": "terminal",
            "approved_at": at,
            "status": "completed",
            "method_detail": "contactless",
            "card": "VISA",
        },
        {
            "sale_id": "s-2",
            "sku": "BIKE-C7",
            "variant_sku": "BIKE-C7",
            "amount_cents": 129900,
            "currency": "EUR",
            "method": "terminal",
            "approved_at": None,
            "status": "completed",
        },
        {
            "sale_id": "s-4",
            "sku": "BIKE-C7",
            "variant_sku": "BIKE-C7",
            "amount_cents": 129900,
            "currency": "EUR",
            "method": "terminal",
            "approved_at": at,
            "status": "approved",
            "method_detail": None,
            "card": None,
        },
    ]
    assert body["by_method"] == [
        {"method": "contactless", "currency": "EUR", "count": 1, "amount_cents": 49900},
        {"method": "terminal", "currency": "EUR", "count": 1, "amount_cents": 129900},
    ]


async def test_the_sales_of_a_range_of_days_are_those_begun_on_those_days(cloud: Cloud) -> None:
    def approval(seq: int, sale_id: str, at: str) -> dict:
        event = make_event(seq, type_="payment.approved", payload={**SALE, "sale_id": sale_id, "receipt_no": sale_id})
        return {**event, "payload": {**event["payload"], "trace_no": None}, "wall_time": at}

    days = ["2026-11-01T23:59:59.999Z", "2026-11-02T00:00:00.000Z", "2026-11-03T12:00:00.000Z"]
    assert (await cloud.post([approval(n, f"s-{n}", at) for n, at in enumerate(days, 1)])).body["rejected"] == []
    path = f"/v1/retailer/cabinets/{CAB}/sales"
    ranged = await cloud.retailer("GET", path + "?from=2026-11-02&to=2026-11-03")
    assert [s["sale_id"] for s in ranged.body["sales"]] == ["s-2", "s-3"]
    one_day = await cloud.retailer("GET", path + "?from=2026-11-01&to=2026-11-01")
    assert [s["sale_id"] for s in one_day.body["sales"]] == ["s-1"]
    every = await cloud.retailer("GET", path)
    assert [s["sale_id"] for s in every.body["sales"]] == ["s-1", "s-2", "s-3"]
    bad = await cloud.retailer("GET", path + "?from=2026-11-31")
    assert (bad.status, bad.body["error"]) == (400, "from: expected a day as YYYY-MM-DD")


async def test_the_sales_come_a_page_at_a_time_newest_first_each_sale_once(cloud: Cloud) -> None:
    def approval(seq: int, sale_id: str, at: str) -> dict:
        event = make_event(seq, type_="payment.approved", payload={**SALE, "sale_id": sale_id, "receipt_no": sale_id})
        return {**event, "payload": {**event["payload"], "trace_no": None}, "wall_time": at}

    # five sales, two of them begun in the same millisecond (the sale id orders them)
    times = ["2026-11-01T10:00:00.000Z", "2026-11-02T10:00:00.000Z", "2026-11-02T10:00:00.000Z"]
    times += ["2026-11-03T10:00:00.000Z", "2026-11-04T10:00:00.000Z"]
    assert (await cloud.post([approval(n, f"s-{n}", at) for n, at in enumerate(times, 1)])).body["rejected"] == []
    path = f"/v1/retailer/cabinets/{CAB}/sales"
    pages, before = [], ""
    while True:
        answer = await cloud.retailer("GET", f"{path}?limit=2{before}")
        assert answer.status == 200
        pages.append([s["sale_id"] for s in answer.body["sales"]])
        if answer.body["next"] is None:
            break
        before = f"&before={answer.body['next']}"
    assert pages == [["s-4", "s-5"], ["s-2", "s-3"], ["s-1"]]
    everything = await cloud.retailer("GET", path)
    assert ([s["sale_id"] for s in everything.body["sales"]], everything.body["next"]) == (
        ["s-1", "s-2", "s-3", "s-4", "s-5"],
        None,
    )
    # with a range of days: the pages of those days only
    ranged = await cloud.retailer("GET", f"{path}?from=2026-11-02&to=2026-11-03&limit=2")
    assert [s["sale_id"] for s in ranged.body["sales"]] == ["s-3", "s-4"]
    older = await cloud.retailer("GET", f"{path}?from=2026-11-02&to=2026-11-03&limit=2&before={ranged.body['next']}")
    assert ([s["sale_id"] for s in older.body["sales"]], older.body["next"]) == (["s-2"], None)


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("limit=0", "limit: expected 1 to 10000, got 0"),
        ("limit=10001", "limit: expected 1 to 10000, got 10001"),
        ("limit=ten", "limit: not an integer: 'ten'"),
        ("before=s-1", "before: not a cursor this API gave (the next of a sales answer): 's-1'"),
        ("before=WzFd", "before: not a cursor this API gave (the next of a sales answer): 'WzFd'"),
    ],
)
async def test_a_sales_page_asked_for_wrongly_is_refused_naming_the_field(cloud: Cloud, query: str, error: str) -> None:
    answer = await cloud.retailer("GET", f"/v1/retailer/cabinets/{CAB}/sales?{query}")
    assert (answer.status, answer.body["error"]) == (400, error)
