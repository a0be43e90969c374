"""Footfall end to end, real processes only: the simulated cabinet with footfall turned on, generated people
walking past its simulated camera (POST /sim/people/walk: three people one after another, one standing 5 s, each
seen apart), and the retailer's funnel in the cloud shows them as its first two steps, counted once. (That only
integers travel is asserted on the cabinet's outbox: tests/firmware/test_footfall_cabinet.py.)"""

from __future__ import annotations

from typing import Any

from tests.e2e.test_funnel import counts, funnel
from tests.polling import eventually

FOOTFALL = """heartbeat_s = 0.5
[footfall]
enabled = true
fps = 4.0
stop_s = 3.0
commit_s = 10.0
"""


def test_people_walking_past_the_simulated_camera_reach_the_funnel_as_passers_and_stoppers(retail: Any) -> None:
    api, start = retail
    client = start(FOOTFALL)
    assert counts(funnel(api))[:2] == [0, 0]
    scene = client.sim("people/walk", {"people": 3, "stoppers": 1, "stop_s": 5, "seed": 2})
    assert scene["people"] == 3 and scene["seconds"] > 20
    # counted as they pass, sent commit_s after the last counts (in one or more events), counted once
    found = eventually(
        lambda: funnel(api), lambda f: counts(f)[:2] == [3, 1], scene["seconds"] + 60.0, "3 passers-by, 1 stopper"
    )
    steps = {s["name"]: s for s in found["steps"]}
    assert (steps["passers"]["count"], steps["stoppers"]["count"]) == (3, 1)
    assert steps["stoppers"]["conversion"] == round(1 / 3, 4)
    assert found["days"][0]["passers"] == 3
    client.wait_for(lambda s: s["outbox"]["pending"] == 0, timeout=30.0, what="the outbox emptied")
    assert counts(funnel(api))[:2] == [3, 1]
