"""Text no store can hold, from a browser or an API client, on both stores (the cloud app on 127.0.0.1): a NUL
character (PostgreSQL's text cannot hold U+0000) or bytes that are not the form's charset, in a console form
field, query parameter or path part, or in the retailer API's path parts and query parameters, is a 400 naming
the field, never a 500; nothing of it is stored. Any form a browser could send gets an answer below 500."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from contextlib import closing
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cloud_stub.app import create_app
from cloud_stub.console.auth import hash_password
from cloud_stub.store import SqlCloudStore, open_store
from tests.console.http_sign_in import PASSWORD, signed_in
from tests.own_loop import served_on_own_loop

SHOP, OWNER, CAB = "velo-mall", "owner@velo-mall.example", "cab-1"
NUL_PAGE = "holds a character that cannot be stored"


def shop_store(target: str) -> tuple[SqlCloudStore, str]:
    """The store with the retailer, its cabinet and owner; and the retailer's API token."""
    store = open_store(target)
    token = store.add_retailer(SHOP)
    store.add_cabinet(CAB, SHOP)
    store.add_user(SHOP, OWNER, "owner", password_hash=hash_password(PASSWORD))
    return store, token


@pytest.fixture
def shop(cloud_target: str) -> Iterator[tuple[SqlCloudStore, str]]:
    store, token = shop_store(cloud_target)
    yield store, token
    store.close()


@pytest.fixture
def store(shop: tuple[SqlCloudStore, str]) -> SqlCloudStore:
    return shop[0]


@pytest.fixture
async def server(store: SqlCloudStore) -> AsyncIterator[TestServer]:
    served = TestServer(create_app(store), host="127.0.0.1")
    await served.start_server()
    yield served
    await served.close()


def refusal(page: str) -> str:
    """The message of the console's error page."""
    found = re.search(r'<p class="notice error" role="alert">(.*?)</p>', page, re.S)
    assert found, page
    return found.group(1)


async def csrf_of(session: aiohttp.ClientSession, path: str) -> str:
    async with session.get(path) as response:
        token = re.search(r'name="csrf_token" value="([^"]+)"', await response.text())
    assert token
    return token.group(1)


async def test_a_nul_in_the_sign_in_form_is_a_400_page_naming_the_field_and_counts_no_failure(
    server: TestServer, store: SqlCloudStore
) -> None:
    async with aiohttp.ClientSession(
        base_url=str(server.make_url("/")), cookie_jar=aiohttp.CookieJar(unsafe=True)
    ) as session:
        token = await csrf_of(session, "/console/sign-in")
        form = {"email": "owner\x00@velo-mall.example", "password": "wrong", "csrf_token": token}
        async with session.post("/console/sign-in", data=form) as response:
            assert response.status == 400
            assert refusal(await response.text()).startswith("“email” " + NUL_PAGE)
        assert store.login_failures("account:owner@velo-mall.example", since=0) == []
        # The same in Chinese, for a form whose bytes are not UTF-8.
        async with session.post(
            "/console/sign-in?lang=zh",
            data=b"email=\xff\xfe&csrf_token=" + token.encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded", "Accept-Language": "zh-CN"},
        ) as response:
            assert response.status == 400
            assert "“form”含有无法保存的字符" in refusal(await response.text())


async def test_a_nul_in_a_signed_in_form_is_refused_before_its_page_stores_anything(
    server: TestServer, store: SqlCloudStore
) -> None:
    session = await signed_in(server, OWNER)
    async with session:
        token = await csrf_of(session, "/console/orders")
        form = {"item": f"{CAB}/SCOOT-S1", "reference": "bike\x00 42", "days": "3", "csrf_token": token}
        async with session.post("/console/orders", data=form) as response:
            assert response.status == 400
            assert refusal(await response.text()).startswith("“reference” " + NUL_PAGE)
        # htmx sends the token as a header: its form fields are checked all the same.
        async with session.post(
            "/console/orders", data={"item": f"{CAB}\x00/SCOOT-S1"}, headers={"X-CSRF-Token": token}
        ) as response:
            assert response.status == 400
            assert refusal(await response.text()).startswith("“item” " + NUL_PAGE)
        assert store.open_orders(CAB) == []


async def test_a_nul_in_a_console_query_or_path_is_a_400_page_naming_it(server: TestServer) -> None:
    session = await signed_in(server, OWNER)
    async with session:
        for path, field in [("/console/fleet?q=cab%00", "q"), ("/console/cabinets/cab-1%00", "cabinet_id")]:
            async with session.get(path) as response:
                assert response.status == 400, path
                assert refusal(await response.text()).startswith(f"“{field}” " + NUL_PAGE)
        async with session.get("/console/fleet?q=cab") as response:  # the same page without it
            assert response.status == 200


async def test_a_nul_in_the_retailer_apis_path_or_query_is_a_400_naming_it(
    server: TestServer, shop: tuple[SqlCloudStore, str]
) -> None:
    headers = {"Authorization": f"Bearer {shop[1]}"}
    async with aiohttp.ClientSession(base_url=str(server.make_url("/")), headers=headers) as session:
        cases = [
            ("/v1/retailer/cabinets/cab-1%00/sales", "cabinet_id"),
            ("/v1/retailer/cabinets/cab-1/repair-tickets?status=open%00", "status"),
            ("/v1/retailer/funnel?cabinet_id=cab-1%00", "cabinet_id"),
            ("/v1/retailer/commands/c%00", "command_id"),
        ]
        for path, field in cases:
            async with session.get(path) as response:
                assert (response.status, await response.json()) == (
                    400,
                    {"error": f"{field}: contains a NUL character (U+0000)"},
                ), path
        async with session.get("/v1/retailer/cabinets/cab-1/sales") as response:
            assert response.status == 200


# Field names and values as a browser sends them: any text, some with a NUL; raw bodies in no charset at all.
texts = st.text(max_size=12) | st.sampled_from(["\x00", "a\x00b", "cab-1", "\ud7ff", "\U0010ffff"])
forms = st.lists(st.tuples(texts, texts), max_size=4)
PAGES = ["/console/sign-in", "/console/orders", "/console/users", "/console/callbacks/x", "/console/releases"]


def test_any_form_a_browser_sends_gets_an_answer_below_500(cloud_target: str) -> None:
    store, _ = shop_store(cloud_target)
    with closing(store), served_on_own_loop(create_app(store)) as (loop, server):
        session = loop.run_until_complete(signed_in(server, OWNER))
        token = loop.run_until_complete(csrf_of(session, "/console/orders"))

        async def send(path: str, body: Any) -> tuple[int, str]:
            headers = {"X-CSRF-Token": token, "Content-Type": "application/x-www-form-urlencoded"}
            async with session.post(path, data=body, headers=headers, allow_redirects=False) as response:
                return response.status, await response.text()

        @settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @example(path=PAGES[1], fields=[("item", "cab-1\x00/x")], raw=None)
        @example(path=PAGES[0], fields=[], raw=b"email=\xc3&password=x")
        @given(path=st.sampled_from(PAGES), fields=forms, raw=st.none() | st.binary(max_size=24))
        def check(path: str, fields: list[tuple[str, str]], raw: bytes | None) -> None:
            body = raw if raw is not None else urlencode(fields)
            status, page = loop.run_until_complete(send(path, body))
            assert status < 500, (status, page)
            if raw is None and any("\x00" in name + value for name, value in fields):
                assert status == 400 and NUL_PAGE in refusal(page)

        try:
            check()
        finally:
            loop.run_until_complete(session.close())


async def test_a_shoppers_repair_status_form_with_a_nul_or_bytes_in_no_charset_is_a_400_naming_it(
    server: TestServer,
) -> None:
    """The phone pages (not the console) read their forms the same way: a 400 naming the field, never a 500; as a
    page of their own (tests/consumer/test_consumer_refusals.py), not the APIs' JSON."""
    form_type = {"Content-Type": "application/x-www-form-urlencoded"}
    async with aiohttp.ClientSession(base_url=str(server.make_url("/"))) as session:
        for body, field in [
            (b"ticket=R-1041&phone_end=12%0034", "phone_end"),
            (b"ticket=R-\xff1041&phone_end=1234", "form"),
        ]:
            async with session.post("/repair", data=body, headers=form_type) as response:
                assert (response.status, response.content_type) == (400, "text/html")
                said = re.search(r'role="alert">(.*?)</p>', await response.text())
                assert said and said.group(1).startswith(f"“{field}” holds a character that cannot be read")
        async with session.post("/repair", data=b"ticket=R-1041&phone_end=1234", headers=form_type) as response:
            assert response.status == 404  # the same form, readable: no such ticket
