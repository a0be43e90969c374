"""What a shopper's phone gets for a request the phone pages cannot read, on both stores (the cloud app on
127.0.0.1): a URL with a NUL in a path part or query parameter, or a form that no store can hold or that cannot be
read (a malformed multipart body, a file for a typed field), is a short HTML page in the phone pages' style and
language, status 400 (413 for a body too large), naming what was wrong, never the APIs' JSON, a 500 or a
traceback; nothing of it is stored or sent to the cabinet. The device and retailer APIs keep their JSON 400."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from contextlib import closing

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cloud_stub.app import create_app
from cloud_stub.core import MAX_BODY_BYTES
from tests.console.test_console_multipart import (
    BOUNDARY,
    bodies,
    field,
    form_type,
    multipart,
    tracebacks,
)
from tests.consumer.conftest import CABINET, RETAILER, Seeded, seed_cloud
from tests.own_loop import served_on_own_loop

TITLE = {"en": "This request cannot be read", "zh": "无法读取此请求"}
NUL_TEXT = {"en": "holds a character that cannot be read", "zh": "含有无法读取的字符"}
FORM_TOKEN = "r" * 22  # a repair form the cabinet offers on a phone


@pytest.fixture
def seeded(cloud_target: str) -> Iterator[Seeded]:
    seeded = seed_cloud(cloud_target)
    seeded.event("form.offered", {"token": FORM_TOKEN, "form": "repair", "valid_s": 3600})
    yield seeded
    seeded.store.close()


@pytest.fixture
async def server(seeded: Seeded) -> AsyncIterator[TestServer]:
    served = TestServer(create_app(seeded.store), host="127.0.0.1")
    await served.start_server()
    yield served
    await served.close()


def refused(page: str) -> tuple[str, str]:
    """The refusal page's heading and what it says was wrong."""
    found = re.search(r"<h1>(.*?)</h1>\s*<p class=\"notice\" role=\"alert\">(.*?)</p>", page, re.S)
    assert found, page
    return found.group(1), found.group(2)


def sent_to_cabinet(seeded: Seeded) -> list[str]:
    return [c["kind"] for c in seeded.store.commands_of(RETAILER, cabinet_id=CABINET)]


GARBAGE_URLS = [  # (path, the field the page names)
    ("/q/abc%00defgh", "code"),
    (f"/r/{'a' * 10}%00", "token"),
    ("/f/%00" + "x" * 21, "token"),
    (f"/f/{FORM_TOKEN}?from=qr%00", "from"),
    ("/repair?ticket=R-1%00", "ticket"),
    ("/near?lat=52.5%00&lon=13.4", "lat"),
    ("/near?%00=1", "query"),
]


async def test_a_url_with_a_nul_is_a_400_page_in_the_shoppers_language_naming_it(
    server: TestServer, seeded: Seeded, caplog: pytest.LogCaptureFixture
) -> None:
    async with aiohttp.ClientSession() as session:
        for lang, accept in [("en", "en-GB"), ("zh", "zh-CN,zh;q=0.9")]:
            for path, name in GARBAGE_URLS:
                url = str(server.make_url("")) + path  # as typed: the %00 goes out as it is
                async with session.get(url, headers={"Accept-Language": accept}, allow_redirects=False) as answer:
                    assert (answer.status, answer.content_type) == (400, "text/html"), path
                    page = await answer.text()
                title, said = refused(page)
                assert title == TITLE[lang] and said.startswith(f"“{name}”") and NUL_TEXT[lang] in said, path
                assert '<link rel="stylesheet" href="/consumer-static/consumer.css">' in page, "the pages' style"
                assert "lang=" in page, "the switch to the other language is there"
        # Undecodable escapes (not UTF-8, an encoded surrogate) are read as text that matches nothing: a page too.
        for path in ["/q/%ff%fe%c3", "/r/%ed%a0%80", "/near?lat=%ff&lon=1"]:
            async with session.get(str(server.make_url("")) + path) as answer:
                assert answer.status in (400, 404) and answer.content_type == "text/html", path
    assert sent_to_cabinet(seeded) == [], "no garbage link opened the phone form"
    assert seeded.store.scan_counts(CABINET) == []
    assert tracebacks(caplog) == []


async def test_the_apis_and_the_locators_json_keep_their_json_400(server: TestServer, seeded: Seeded) -> None:
    token = seeded.store.add_retailer("another-shop")
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as session:
        for path, name in [
            ("/near.json?lat=52.5%00&lon=13.4", "lat"),
            ("/v1/retailer/cabinets/cab%00/sales", "cabinet_id"),
            ("/v1/config?since=%00", "since"),
        ]:
            async with session.get(str(server.make_url("")) + path) as answer:
                assert answer.status == 400 and answer.content_type == "application/json", path
                assert await answer.json() == {"error": f"{name}: contains a NUL character (U+0000)"}


async def test_a_phone_form_that_cannot_be_read_is_a_400_page_and_reaches_no_cabinet(
    server: TestServer, seeded: Seeded, caplog: pytest.LogCaptureFixture
) -> None:
    typed = [field(b"vehicle", b"WBA12345678"), field(b"name", b"Ann Lee"), field(b"phone", b"+491705550000")]
    typed += [field(b"category", b"brakes"), field(b"description", b"squeaks")]
    cases = [
        (form_type(None), multipart(typed), "The form body could not be read", "en-GB"),
        (form_type(), multipart(typed)[:-40], "The form body could not be read", "en-GB"),
        (form_type(), b"vehicle=WBA12345678&name=Ann", "无法读取表单内容", "zh-CN"),
        (form_type(), multipart([*typed[:4], field(b"description", b"x", filename=b"f.txt")]), "“description”", "en"),
        (form_type(), multipart([*typed[:4], field(b"description", b"squ\x00eaks")]), "“description”", "en"),
    ]
    async with aiohttp.ClientSession(base_url=str(server.make_url("/"))) as session:
        for content_type, body, expected, accept in cases:
            headers = {"Content-Type": content_type, "Accept-Language": accept}
            async with session.post(f"/f/{FORM_TOKEN}", data=body, headers=headers) as answer:
                assert (answer.status, answer.content_type) == (400, "text/html"), expected
                assert refused(await answer.text())[1].startswith(expected)
        assert sent_to_cabinet(seeded) == [] and seeded.store.phone_form(FORM_TOKEN) is not None, "still open"
        async with session.post(f"/f/{FORM_TOKEN}", data=multipart(typed), headers={"Content-Type": form_type()}):
            pass  # the control: the same form, readable, goes to the cabinet
        assert sent_to_cabinet(seeded) == ["repair_form"]
        # The repair look-up: a refused form counts no failed try against the shopper's address.
        ticket = multipart([field(b"ticket", b"R-K7QX2M", filename=b"t.txt"), field(b"phone_end", b"4321")])
        async with session.post("/repair", data=ticket, headers={"Content-Type": form_type()}) as answer:
            assert answer.status == 400
            assert refused(await answer.text())[1] == "“ticket” takes typed text, not a file."
        assert seeded.store.login_failures("repair-ip:127.0.0.1", since=0) == []
        huge = multipart([field(b"ticket", b"R-K7QX2M"), field(b"phone_end", b"4" * (MAX_BODY_BYTES + 1))])
        async with session.post("/repair", data=huge, headers={"Content-Type": form_type()}) as answer:
            assert (answer.status, refused(await answer.text())[1]) == (413, "The form body is too large.")
    assert tracebacks(caplog) == []


def test_fuzzed_phone_forms_get_a_page_below_500_and_refused_ones_reach_no_cabinet(
    cloud_target: str, caplog: pytest.LogCaptureFixture
) -> None:
    seeded = seed_cloud(cloud_target)
    seeded.event("form.offered", {"token": FORM_TOKEN, "form": "repair", "valid_s": 3600})
    with closing(seeded.store), served_on_own_loop(create_app(seeded.store)) as (loop, server):
        session = aiohttp.ClientSession(base_url=str(server.make_url("/")), loop=loop)

        async def send(path: str, content_type: str, body: bytes) -> tuple[int, str, str]:
            async with session.post(path, data=body, headers={"Content-Type": content_type}) as answer:
                return answer.status, answer.content_type, await answer.text()

        @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @example(path=f"/f/{FORM_TOKEN}", sent=(form_type(), multipart([field(b"name", b"x")], BOUNDARY)[:30]))
        @given(path=st.sampled_from([f"/f/{FORM_TOKEN}", "/repair"]), sent=bodies())
        def check(path: str, sent: tuple[str, bytes]) -> None:
            caplog.clear()
            failures = len(seeded.store.login_failures("repair-ip:127.0.0.1", since=0))
            status, content_type, page = loop.run_until_complete(send(path, *sent))
            assert status < 500 and content_type == "text/html", (status, page)
            assert tracebacks(caplog) == []
            if TITLE["en"] in page:
                assert status in (400, 413)
                said = refused(page)[1]
                assert said.startswith("“") or said.startswith("The form body"), said
                assert len(seeded.store.login_failures("repair-ip:127.0.0.1", since=0)) == failures
            assert sent_to_cabinet(seeded) == [], "no fuzzed form is a whole, valid repair form"

        try:
            check()
        finally:
            loop.run_until_complete(session.close())
