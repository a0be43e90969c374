"""The repair form continued on the shopper's phone: a simulated cabinet (a real `kiosk run --sim` process, tapped
through its control API) shows the phone's QR, a real `kiosk-cloud serve` serves the form at that link, the
form is filled in over HTTP as a phone would (in Chinese), and the cabinet's screen follows it to the ticket."""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from cloud_stub.store import SqliteCloudStore
from tests.e2e.conftest import CABINET_ID, RETAILER, retailer_document
from tests.polling import eventually

LINK_BASE = "https://consumer.example"  # what the QR says; the test's phone talks to the local cloud instead


def fetch(url: str, form: dict[str, str] | None = None) -> tuple[int, str]:
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def until_page(url: str, status: int, timeout: float = 15.0) -> str:
    """The cabinet's offer reaches the cloud with its next upload: ask until the page answers ``status``."""
    return eventually(lambda: fetch(url), lambda answer: answer[0] == status, timeout, f"{url} answering {status}")[1]


def widget(state: dict[str, Any], widget_id: str) -> dict[str, Any]:
    """The widget on screen, or {} when there is none."""
    return next((w for w in state["widgets"] if w["id"] == widget_id), {})


def test_the_repair_form_sent_from_a_phone_finishes_the_ticket_on_the_cabinet(retail: Any, cloud: Any) -> None:
    workdir, url = cloud
    api, start = retail
    client = start()
    version = client.state()["config_version"]
    api.call("PUT", f"/v1/retailer/cabinets/{CABINET_ID}/config", {**retailer_document(), "link_base": LINK_BASE})
    client.wait_for(lambda s: s["config_version"] != version, what="the consumer pages reached the cabinet")
    client.tap("repair")
    client.wait_for(lambda s: widget(s, "phone_offer"), what="the phone offered")
    client.tap("phone_offer")
    state = client.wait_for(lambda s: widget(s, "phone_qr"), what="the phone's QR")
    link = widget(state, "phone_qr")["qr"]
    assert link.startswith(LINK_BASE + "/f/")
    form_url = url + link.removeprefix(LINK_BASE)

    page = until_page(form_url + "?lang=zh", 200)
    assert "维修送件" in page and 'name="description"' in page
    client.wait_for(
        lambda s: "Continuing on the phone" in widget(s, "phone_status").get("label", ""),
        what="the cabinet shows the phone has the form",
    )
    typed = {"vehicle": "wbapk7c55ba123456", "name": "李", "phone": "+86 138 0013 8000", "category": "tyre"}
    status, page = fetch(form_url, {**typed, "description": ""})
    assert status == 400 and "Please describe the fault" in page, "the cabinet's rules, said on the phone"
    status, page = fetch(form_url, {**typed, "description": "后轮爆胎，无法充气"})
    assert status == 200 and "Sent to the cabinet" in page

    state = client.wait_for(lambda s: widget(s, "ticket"), what="the ticket on the cabinet")
    ticket = widget(state, "ticket")["label"]
    assert widget(state, "ticket_qr")["qr"] == ticket
    status, page = fetch(form_url)
    assert status == 410 and "This form is closed" in page, "a used link says so"

    client.tap("done")
    client.wait_for(lambda s: s["outbox"]["pending"] == 0, what="the ticket uploaded")
    (recorded,) = api.call("GET", f"/v1/retailer/cabinets/{CABINET_ID}/repair-tickets")["tickets"]
    assert recorded["ticket_id"] == ticket and recorded["name"] == "李"
    assert recorded["device"] == "WBAPK7C55BA123456" and recorded["phone"] == "+8613800138000"
    assert recorded["detail"] == "tyre: 后轮爆胎，无法充气"
    store = SqliteCloudStore(workdir / "cloud.db")
    try:
        sent = eventually(  # the cabinet acknowledges right after applying: wait for the ack itself
            lambda: {c["kind"]: c for c in store.commands_of(RETAILER, cabinet_id=CABINET_ID)},
            lambda sent: all(c["acked_at"] for c in sent.values()),
            10.0,
            "the commands acknowledged",
        )
    finally:
        store.close()
    assert sent["repair_form"]["result"] == f"ok: ticket {ticket}" and sent["form_opened"]["result"] == "ok: opened"
    assert sent["repair_form"]["args"] == {}, "the name and number leave the command queue once delivered"
