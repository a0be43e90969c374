"""Never stuck, through the control API on a running cabinet: help and a way back or home on every screen a
shopper reaches, the payment's time limit and its ending that stays, "still there?" before a checkout is
abandoned, and a way to pay that leaves the screen within a second of an unplug or a cut cable."""

import time

from tests.e2e.conftest import CABINET_ID

FAST_IDLE = """
[screen]
idle_timeout_s = 1.0
still_there_s = 2.0
"""


def ids(state):
    return {w["id"] for w in state["widgets"]}


def widget(state, widget_id):
    return next(w for w in state["widgets"] if w["id"] == widget_id)


def nav(state):
    """The header's ways out on screen: help, and back or home."""
    return ids(state) & {"help", "back", "home"}


def help_returns(client, screen):
    """Help opens from the screen, knows where it came from, and back returns there."""
    client.tap("help")
    state = client.wait_screen("help")
    assert "back" in ids(state) and "help" not in ids(state)
    client.tap("back")
    return client.wait_screen(screen)


def test_every_screen_a_shopper_reaches_has_help_and_a_way_back_or_home(retail):
    api, start = retail
    client = start()
    order = api.call("POST", "/v1/retailer/orders", {"cabinet_id": CABINET_ID, "sku": "SCOOT-S1"})
    client.wait_for(lambda s: "terminal" in s["payment_methods"], what="the terminal ready")
    seen = {}

    def at(screen, expected):
        state = client.wait_screen(screen)
        assert nav(state) == expected, f"{screen}: {nav(state)}"
        seen.setdefault(screen, state)
        return state

    at("attract", {"help"})  # the start screen is home itself
    help_returns(client, "attract")
    client.tap("start")
    at("catalog", {"help", "back"})
    client.tap("back")  # the catalog leads back to pickup and repair, not only the idle timeout
    at("attract", {"help"})
    client.tap("start")
    help_returns(client, "catalog")
    client.tap("product:SCOOT-S1")
    at("product", {"help", "back"})
    help_returns(client, "product")
    client.tap("buy")
    at("checkout", {"help", "back"})
    client.tap("help")
    assert client.wait_screen("help")  # the checkout's help
    client.tap("back")
    client.wait_screen("checkout")
    client.tap("back")
    at("product", {"help", "back"})
    client.tap("buy")
    client.wait_screen("checkout")
    client.tap("pay:terminal")
    state = client.wait_for(lambda s: s["payment_status"] == "present_card", what="card asked")
    assert nav(state) == {"help", "back"}, "the payment wait: back cancels it, help is there"
    help_returns(client, "checkout")
    assert client.state()["payment_status"] == "present_card", "help left the payment waiting"
    client.tap("back")  # back while the terminal waits for a card: the payment is cancelled
    state = client.wait_for(lambda s: s["screen"] == "product" and s["message"] == "cancelled", what="cancelled")
    assert client.pins()["relay"] == [] or not any(e["energized"] for e in client.pins()["relay"])
    client.tap("buy")
    client.wait_screen("checkout")
    client.tap("pay:terminal")
    client.wait_for(lambda s: s["payment_status"] == "present_card", what="card asked")
    client.sim("pos/approve")
    state = at("door", {"help"})  # approval to the door: no way back, the paid sale goes on
    client.tap("help")
    client.wait_screen("help")
    client.sim("door/open")  # the screen under help moved on: help steps aside
    client.wait_for(lambda s: s["journey"] == "door_opened" and s["screen"] == "door", what="door screen again")
    client.sim("door/close")
    at("thanks", {"help", "home"})
    help_returns(client, "thanks")
    client.tap("home")
    at("attract", {"help"})
    client.tap("pickup")
    at("pickup", {"help", "back"})
    help_returns(client, "pickup")
    for digit in order["pickup_code"]:
        client.tap(f"key:{digit}")
    client.tap("pickup:submit")
    at("door", {"help"})
    client.sim("door/open")
    client.wait_for(lambda s: s["journeys"]["pickup"] == "door_opened", what="opened")
    client.sim("door/close")
    at("thanks", {"help", "home"})
    client.tap("home")
    at("attract", {"help"})
    client.tap("repair")
    at("repair", {"help", "back"})
    help_returns(client, "repair")
    client.tap("back")
    at("attract", {"help"})
    assert set(seen) >= {"attract", "catalog", "product", "checkout", "door", "thanks", "pickup", "repair"}


def test_the_payment_wait_counts_down_its_time_limit_and_its_ending_stays_to_be_read(sim_cabinet):
    client = sim_cabinet(FAST_IDLE + "\n[payment]\ntimeout_s = 3.0\n")
    client.wait_for(lambda s: s["payment_methods"] == ["terminal"], what="terminal ready")
    client.tap("start")
    client.tap("product:SCOOT-S1")
    client.tap("buy")
    client.wait_screen("checkout")
    client.tap("pay:terminal")
    state = client.wait_for(lambda s: "payment_countdown" in ids(s), what="the time limit on screen")
    assert widget(state, "payment_countdown")["label"] in ("3 s left to pay", "2 s left to pay")
    client.wait_for(lambda s: widget(s, "payment_countdown")["label"] == "1 s left to pay", what="counting down")
    state = client.wait_for(lambda s: s["screen"] == "product", what="the payment timed out")
    ended = time.monotonic()
    assert state["message"] == "timed_out"
    # Nobody touches the screen: the ending stays, then "still there?" asks before leaving; never attract first.
    state = client.wait_for(lambda s: s["screen"] != "product" or "continue" in ids(s), timeout=20, what="a prompt")
    assert time.monotonic() - ended >= 7.5, "the ending stayed on screen at least 8 s"
    assert state["screen"] == "product" and state["message"] == "timed_out"
    client.tap("continue")
    state = client.wait_for(lambda s: "continue" not in ids(s), what="the prompt answered")
    assert state["screen"] == "product" and state["message"] == "timed_out"


def test_still_there_asks_before_a_checkout_is_abandoned(sim_cabinet):
    client = sim_cabinet(FAST_IDLE)
    client.tap("start")
    client.tap("product:SCOOT-S1")
    client.tap("buy")
    client.wait_screen("checkout")
    state = client.wait_for(lambda s: "continue" in ids(s) or s["screen"] != "checkout", what="still there?")
    assert state["screen"] == "checkout", "asked first, not abandoned"
    assert widget(state, "still_there:title")["label"] == "Still there?"
    assert "s" in widget(state, "still_there:countdown")["label"]
    client.tap("continue")
    state = client.wait_for(lambda s: "continue" not in ids(s), what="answered")
    assert state["screen"] == "checkout" and state["journey"] == "pay"
    client.wait_for(lambda s: "continue" in ids(s), what="asked again after another idle timeout")
    client.wait_screen("attract", timeout=10)  # no answer: the checkout is left, nothing was charged
    assert client.state()["journey"] == "idle"


def test_a_way_to_pay_leaves_the_screen_within_a_second_of_an_unplug_or_a_cut_cable(retail):
    api, start = retail
    client = start()
    client.wait_for(lambda s: s["payment_methods"] == ["terminal", "qr"], what="both ways to pay offered")
    client.tap("start")
    client.tap("product:SCOOT-S1")
    client.tap("buy")
    state = client.wait_screen("checkout")
    assert {"pay:terminal", "pay:qr"} <= ids(state)
    client.sim("pos/unplug")
    state = client.wait_for(lambda s: "pay:terminal" not in ids(s), timeout=1.0, what="the card terminal withdrawn")
    assert "pay:qr" in ids(state) and "payment" in state["faults"]
    client.sim("network/down")
    state = client.wait_for(lambda s: "pay:qr" not in ids(s), timeout=1.0, what="scan-to-pay withdrawn")
    assert state["payment_methods"] == [] and not state["online"]
    assert widget(state, "message")["label"].startswith("No way to pay"), "said, never a blank"
    client.tap("back")
    state = client.wait_screen("product")
    buy = widget(state, "buy")
    assert not buy["enabled"], "buy is off with no way to pay"
    assert "unavailable" in widget(state, "buy_reason")["label"]
    client.sim("network/up")
    client.sim("pos/replug")
    state = client.wait_for(lambda s: s["payment_methods"] == ["terminal", "qr"], timeout=10, what="both back")
    assert widget(state, "buy")["enabled"] and "buy_reason" not in ids(state)


def test_out_of_service_has_help_and_a_home_that_looks_at_the_store_again(sim_cabinet):
    """The store cannot record a sale: nothing a shopper starts could be kept, so the screen offers help and
    home only. Home shows the same screen and its reason while the store fails, the start screen once it works."""
    client = sim_cabinet("\n[storage]\ncheck_s = 0.2\nprobe_s = 0.2\n")
    client.wait_screen("attract")
    client.sim("storage/full")
    state = client.wait_screen("out_of_service", timeout=10)
    assert nav(state) == {"help", "home"}
    assert not ids(state) & {"start", "pickup", "repair", "buy"}, "nothing offered that needs the store"
    state = help_returns(client, "out_of_service")
    client.tap("home")
    state = client.wait_screen("out_of_service")
    assert "storage" in state["faults"] and widget(state, "subtitle")["label"].startswith("This cabinet cannot")
    client.sim("storage/ok")
    client.tap("home")
    client.wait_screen("attract", timeout=5)
    client.tap("start")
    client.wait_screen("catalog")


def test_scan_to_pay_leaves_within_a_second_when_the_kernel_says_the_link_is_down(retail, tmp_path):
    """A cabinet's cable, as the kernel reports it (a fake /proc/net/route and /sys/class/net named in the
    configuration): unplugged, scan-to-pay is withdrawn within a second, not at the next failed request;
    plugged back, it is offered again once the cloud answers."""
    api, start = retail
    kernel = tmp_path / "kernel"
    (kernel / "net" / "eth0").mkdir(parents=True)
    route = kernel / "route"
    route.write_text(
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
        "eth0\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"
    )

    def cable(plugged: bool) -> None:
        (kernel / "net" / "eth0" / "operstate").write_text("up\n" if plugged else "down\n")
        (kernel / "net" / "eth0" / "carrier").write_text("1\n" if plugged else "0\n")

    cable(True)
    client = start(f'\n[network]\nroute_table = "{route}"\nsys_class_net = "{kernel / "net"}"\n')
    client.wait_for(lambda s: s["payment_methods"] == ["terminal", "qr"], what="both ways to pay offered")
    client.tap("start")
    client.tap("product:SCOOT-S1")
    client.sim("pos/unplug")
    client.wait_for(lambda s: s["payment_methods"] == ["qr"], timeout=1.0, what="the card terminal withdrawn")
    cable(False)
    state = client.wait_for(lambda s: s["payment_methods"] == [], timeout=1.0, what="scan-to-pay withdrawn")
    assert state["faults"]["network"] == "eth0: down" and not state["online"]
    assert not widget(state, "buy")["enabled"] and "unavailable" in widget(state, "buy_reason")["label"]
    cable(True)
    client.sim("pos/replug")
    state = client.wait_for(lambda s: s["payment_methods"] == ["terminal", "qr"], timeout=10, what="both back")
    assert "network" not in state["faults"] and state["online"] and widget(state, "buy")["enabled"]
