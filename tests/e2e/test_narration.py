"""A product's narration through the control API: the retailer puts a narration text per language on a
product, the cabinet speaks it with espeak-ng when the configuration arrives, the shopper taps listen and
reads the subtitles (heard too where there is a sound device), and leaving the product stops it."""

from __future__ import annotations

import json
import urllib.request

from tests.e2e.conftest import CABINET_ID, retailer_document
from tests.media_files import BLUE, write_media

EN = ("Volt S1, the scooter that folds in three seconds.", "It weighs thirteen kilos.")
ZH = ("三秒折叠的滑板车。", "重十三公斤。")


def labels(state: dict) -> dict[str, str]:
    return {w["id"]: w["label"] for w in state["widgets"]}


def test_listen_plays_the_narration_with_subtitles_and_leaving_stops_it(retail):
    api, start = retail
    client = start()
    document = retailer_document()
    document["products"][0]["narration"] = {"en": {"text": " ".join(EN)}, "zh": {"text": "".join(ZH)}}
    api.call("PUT", f"/v1/retailer/cabinets/{CABINET_ID}/config", document)
    client.wait_for(
        lambda s: {"SCOOT-S1/en", "SCOOT-S1/zh"} <= set(s["narration"]["ready"]), timeout=30, what="voices made"
    )
    assert "BIKE-C7/en" not in client.state()["narration"]["ready"], "no text, no narration"
    client.tap("start")
    client.tap("product:SCOOT-S1")
    state = client.wait_screen("product")
    assert labels(state)["listen"] == "Listen" and state["narration"]["playing"] is None
    client.tap("listen")
    state = client.wait_for(lambda s: "subtitles" in labels(s), what="subtitles on screen")
    assert state["narration"]["playing"] == ["SCOOT-S1", "en"]
    assert labels(state)["subtitles"] in EN and labels(state)["listen"] == "Stop"
    if not state["narration"]["sound"]:  # no sound device here: said on screen, the subtitles run anyway
        assert labels(state)["narration_silent"] == "Subtitles only"
    client.tap("back")
    state = client.wait_for(lambda s: s["screen"] != "product", what="left the product")
    assert state["narration"]["playing"] is None and "subtitles" not in labels(state)

    client.tap("lang")  # in Chinese, the Chinese narration
    client.tap("product:SCOOT-S1")
    client.wait_screen("product")
    client.tap("listen")
    state = client.wait_for(lambda s: "subtitles" in labels(s), what="Chinese subtitles")
    assert state["narration"]["playing"] == ["SCOOT-S1", "zh"] and labels(state)["subtitles"] in ZH


def test_a_retailers_video_narration_is_shown_with_its_sound_and_leaving_stops_it(retail, tmp_path):
    """The retailer uploads a video (made here with PyAV: a blue picture, a tone) and names it as the
    scooter's English narration; the cabinet downloads it, probes it and shows it when the shopper listens."""
    api, start = retail
    client = start()
    film = write_media(tmp_path / "film.webm", video="libvpx", audio="libopus", seconds=8, colour=BLUE)
    request = urllib.request.Request(
        api.base_url + "/v1/retailer/media?kind=video&name=film.webm",
        data=film.read_bytes(),
        method="POST",
        headers={"Authorization": f"Bearer {api.token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        digest = json.loads(response.read())["sha256"]
    document = retailer_document()
    document["products"][0]["narration"] = {"en": {"text": " ".join(EN), "video_url": f"sha256:{digest}"}}
    api.call("PUT", f"/v1/retailer/cabinets/{CABINET_ID}/config", document)
    client.wait_for(lambda s: "SCOOT-S1/en" in s["narration"]["videos"], timeout=30, what="the video downloaded")
    client.tap("start")
    client.tap("product:SCOOT-S1")
    client.wait_screen("product")
    client.tap("listen")
    state = client.wait_for(lambda s: "narration_video" in labels(s), what="the video on the product page")
    assert state["narration"]["playing"] == ["SCOOT-S1", "en"] and state["narration"]["video"]
    assert "spinner" not in labels(state) and labels(state)["subtitles"] in EN
    client.tap("back")
    state = client.wait_for(lambda s: s["screen"] != "product", what="left the product")
    assert state["narration"]["playing"] is None and "narration_video" not in labels(state)
