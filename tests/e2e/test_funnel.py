"""The shopper funnel end to end, real processes only: a shopper's session on the simulated cabinet, driven
through its control API (taps, a swipe of the 360° view, the bench's card and door), with the network cut in
the middle of it, reaches the cloud once the network is back and shows in the retailer's funnel exactly once:
one session that viewed, turned, chose a colour, checked out, paid and bought."""

from __future__ import annotations

from typing import Any

from firmware.control_client import ControlClient
from tests.e2e.conftest import RetailerApi
from tests.e2e.test_sale import take_the_product
from tests.polling import eventually

FAST = """heartbeat_s = 0.5
[screen]
idle_timeout_s = 3.0
thanks_s = 1.0
sessions_commit_s = 1.0
"""


def funnel(api: RetailerApi) -> dict[str, Any]:
    return api.call("GET", "/v1/retailer/funnel")  # type: ignore[no-any-return]


def counts(found: dict[str, Any]) -> list[int]:
    return [step["count"] for step in found["steps"]]


def wait_for_funnel(api: RetailerApi, wanted: list[int], timeout: float = 45.0) -> dict[str, Any]:
    return eventually(lambda: funnel(api), lambda found: counts(found) == wanted, timeout, f"the funnel {wanted}")


def widget(client: ControlClient, prefix: str) -> list[dict[str, Any]]:
    return [w for w in client.state()["widgets"] if w["id"].startswith(prefix)]


def test_a_session_with_the_network_cut_reaches_the_funnel_exactly_once(retail: Any) -> None:
    api, start = retail
    client = start(FAST)
    assert counts(funnel(api)) == [0, 0, 0, 0, 0, 0, 0]

    client.tap("start")
    client.wait_screen("catalog")
    client.tap("product:SCOOT-S1")
    client.wait_screen("product")
    client.sim("network/down")  # the rest of the session, and its end, offline
    (spinner,) = widget(client, "spinner")
    x, y, w, h = spinner["rect"]
    client.swipe(x + w // 4, y + h // 2, x + 3 * w // 4, y + h // 2)  # the shopper turns the scooter
    colour = widget(client, "variant:")[-1]["id"]
    client.tap(colour)
    client.tap("buy")
    client.wait_screen("checkout")
    client.tap("pay:terminal")
    client.wait_for(lambda s: s["payment_status"] == "present_card", what="terminal asks for a card")
    take_the_product(client)
    client.wait_screen("attract")  # thanks, then the idle timeout ends the session
    client.wait_for(lambda s: s["outbox"]["pending"] > 0 and not s["online"], what="offline with events waiting")
    assert counts(funnel(api)) == [0, 0, 0, 0, 0, 0, 0], "nothing reached the cloud while the network was cut"

    client.sim("network/up")
    # footfall is off by default: no one counted passing or stopping, though the simulation has a camera
    found = wait_for_funnel(api, [0, 0, 1, 1, 1, 1, 1])
    (product,) = found["products"]
    assert product["sku"] == "SCOOT-S1" and product["views"] == 1 and product["turns"] >= 1
    assert (product["variants"], product["checkouts"], product["paid"], product["sold"]) == (1, 1, 1, 1)
    assert product["dwell_s"] > 0
    assert [s["conversion"] for s in found["steps"]] == [None, None, None, 1.0, 1.0, 1.0, 1.0]
    # everything sent and acknowledged: still one session, one sale (no event counted twice)
    client.wait_for(lambda s: s["outbox"]["pending"] == 0, timeout=30.0, what="the outbox emptied")
    assert counts(funnel(api)) == [0, 0, 1, 1, 1, 1, 1]
