"""The default route's interface and address, as the service menu shows them: /proc/net/route's text parsed
(fuzzed: any text gives an interface of the table or None), the address asked of the kernel."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from firmware.network_state import default_interface, default_route, interface_address

HEADER = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"


def row(iface: str, destination: str = "00000000", flags: str = "0003", metric: int = 0) -> str:
    return f"{iface}\t{destination}\t010200C0\t{flags}\t0\t0\t{metric}\t00000000\t0\t0\t0\n"


def test_the_up_default_route_with_the_lowest_metric_wins() -> None:
    table = HEADER + row("eth0", "000200C0", "0001") + row("wlan0", metric=600) + row("eth0", metric=100)
    assert default_interface(table) == "eth0"
    assert default_interface(HEADER + row("wwan0", flags="0002")) is None, "a route that is down is not used"
    assert default_interface(HEADER + row("eth0", "000200C0", "0001")) is None, "no default route"
    assert default_interface("") is None


def test_the_address_comes_from_the_kernel(tmp_path) -> None:
    assert interface_address("lo") == "127.0.0.1"
    assert interface_address("no-such-if0") == ""
    table = tmp_path / "route"
    table.write_text(HEADER + row("lo"))
    assert default_route(table) == ("lo", "127.0.0.1")
    assert default_route(tmp_path / "missing") == ("", "")


@given(st.lists(st.lists(st.text(alphabet=st.characters(blacklist_characters="\n\r"), max_size=12), max_size=12)))
def test_any_route_table_text_gives_one_of_its_interfaces_or_none(rows: list[list[str]]) -> None:
    text = HEADER + "\n".join("\t".join(fields) for fields in rows)
    found = default_interface(text)
    assert found is None or found in {line.split()[0] for line in text.splitlines()[1:] if line.split()}
