"""Ad touches and narrations in the funnel end to end, real processes only: the simulated cabinet (a real `kiosk run
--sim`, driven through its control API) shows the retailer's ad, the shopper touches it within the configured
``ad_touch_s`` (the ad's touch) and listens to the product's narration, with the network cut; once it is back,
the retailer's funnel on a real `kiosk-cloud serve` shows one session touched from the ad, one narration, and
exactly the plays the cabinet counted, however the uploads were retried."""

from __future__ import annotations

from typing import Any

from firmware.control_client import export_events
from tests.e2e.conftest import CABINET_ID, retailer_document
from tests.e2e.test_funnel import counts, funnel
from tests.polling import eventually


def sessions(found: dict[str, Any]) -> int:
    return next(step["count"] for step in found["steps"] if step["name"] == "sessions")


# Shown for 10 minutes: the tap below must land on it even when the voice took long to make on a loaded machine
# (with 60 s, the ad seen at its 59th second was gone when the tap came, and the touch was no ad's).
AD = {"id": "ad-volt", "kind": "image", "url": "ads/volt-s1.png", "duration_s": 600, "product": "SCOOT-S1"}
FAST = """heartbeat_s = 0.5
[screen]
idle_timeout_s = 3.0
sessions_commit_s = 1.0
ad_plays_commit_s = 1.0
ad_touch_s = 120.0
"""


def widget(state: dict[str, Any], widget_id: str) -> dict[str, Any]:
    return next((w for w in state["widgets"] if w["id"] == widget_id), {})


def test_an_ads_touch_and_a_narration_reach_the_funnel_exactly_once(retail: Any, cloud: Any) -> None:
    api, start = retail
    client = start(FAST)
    document = retailer_document()
    document["products"][0]["narration"] = {"en": {"text": "Volt S1, the scooter that folds in three seconds."}}
    api.call("PUT", f"/v1/retailer/cabinets/{CABINET_ID}/config", {**document, "ads": [AD]})
    client.wait_for(lambda s: "SCOOT-S1/en" in s["narration"]["ready"], timeout=30, what="the narration's voice made")
    client.wait_for(lambda s: widget(s, "stage").get("label") == "ad-volt", what="the ad on screen")

    client.sim("network/down")
    client.tap("start")  # a real touch over the ad, well within ad_touch_s of its first frame
    client.wait_for(lambda s: s["screen"] == "product" and s["product"] == "SCOOT-S1", what="the ad's product")
    client.tap("listen")
    client.wait_for(lambda s: widget(s, "subtitles"), what="the narration playing")
    client.wait_screen("attract")  # the idle timeout ends the session
    client.wait_for(lambda s: s["outbox"]["pending"] > 0 and not s["online"], what="offline with events waiting")
    assert not any(counts(funnel(api))), "nothing reached the cloud while the network was cut"

    client.sim("network/up")
    found = eventually(lambda: funnel(api), lambda f: sessions(f) == 1, 45.0, "the session in the funnel")
    (product,) = found["products"]
    assert (product["sku"], product["views"], product["narrations"]) == ("SCOOT-S1", 1, 1)
    client.wait_for(lambda s: s["outbox"]["pending"] == 0, timeout=30.0, what="the outbox emptied")

    def plays_and_ads() -> tuple[int, list[dict[str, Any]]]:
        stored = [e for e in export_events(cloud[0]) if e["type"] == "ad.plays"]
        counted = sum(p["count"] for e in stored for p in e["payload"]["plays"] if p["ad_id"] == "ad-volt")
        return counted, funnel(api)["ads"]

    counted, ads = eventually(  # the ad plays on in the attract loop: a moment when both have the same plays
        plays_and_ads,
        lambda found: found[1] == [{"ad_id": "ad-volt", "impressions": found[0], "touches": 1}],
        30.0,
        "the funnel's impressions equal to the plays the cabinet counted",
    )
    assert counted >= 1
    again = funnel(api)
    assert sessions(again) == 1 and again["products"][0]["narrations"] == 1 and again["ads"][0]["touches"] == 1
