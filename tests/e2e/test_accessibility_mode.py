"""Accessibility mode through the control API: a real tap on its button turns it on, it lasts across the
shopper's screens with every control within wheelchair reach, and the session's end turns it off."""

SHORT_IDLE = """
[screen]
idle_timeout_s = 2.0
"""
CONTROLS = ("back", "help", "lang", "accessibility", "buy", "pay:", "colour:", "product:", "pickup", "key:", "cancel")


def out_of_reach(state):
    """The ids of the shown controls that lie outside the reach zone."""
    top, bottom = state["reach_rows"]
    return [
        w["id"]
        for w in state["widgets"]
        if w["id"].startswith(CONTROLS) and not (w["rect"][1] >= top and w["rect"][1] + w["rect"][3] <= bottom)
    ]


def test_the_mode_lasts_the_session_and_ends_with_it(retail):
    _, start = retail
    client = start(SHORT_IDLE)
    state = client.wait_screen("attract")
    assert state["accessible"] is False
    client.tap("accessibility")  # a real touch at the button's centre, through the UI's event queue
    state = client.wait_for(lambda s: s["accessible"], what="accessibility mode on")
    assert state["screen"] == "attract" and out_of_reach(state) == []
    client.tap("start")
    state = client.wait_screen("catalog")
    assert state["accessible"] and out_of_reach(state) == []
    client.tap(next(w["id"] for w in state["widgets"] if w["id"].startswith("product:")))
    state = client.wait_screen("product")
    assert state["accessible"] and out_of_reach(state) == []
    client.tap("help")
    assert client.wait_screen("help")["accessible"]
    client.tap("back")
    client.wait_screen("product")
    client.tap("back")
    assert client.wait_screen("catalog")["accessible"]
    # Nobody touches the screen: the idle timeout ends the session, and the mode with it.
    client.wait_for(lambda s: s["screen"] == "attract" and not s["accessible"], what="idle: mode off")

    client.tap("accessibility")
    client.wait_for(lambda s: s["accessible"], what="on again")
    client.tap("pickup")
    state = client.wait_screen("pickup")
    assert state["accessible"] and out_of_reach(state) == []
    client.tap("back")
    state = client.wait_screen("attract")
    assert state["accessible"] is False  # back at the attract loop: that shopper's session is over
