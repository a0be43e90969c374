"""Multipart form bodies from outside, on both stores (the cloud app on 127.0.0.1, a signed-in owner): a body
without its boundary or with another, cut short, parts without a name, huge or duplicated part headers, NUL and
undecodable bytes in names, file names and values, a file where text is expected, a urlencoded body under a
multipart Content-Type, one over the size limit. Each is a 400 (413 when too large) whose page names the field or
"the form body", never a 500 or a traceback in the log, and nothing of it is stored."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import closing
from dataclasses import dataclass
from typing import cast

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cloud_stub.app import create_app
from cloud_stub.core import MAX_BODY_BYTES
from cloud_stub.store import SqlCloudStore
from tests.console.http_sign_in import signed_in
from tests.console.test_console_unfit_text import OWNER, SHOP, csrf_of, refusal, shop_store
from tests.own_loop import served_on_own_loop

PNG = b"\x89PNG\r\n\x1a\n" + bytes(40)
BOUNDARY = "fuzz-7a1c"
FORM_BODY = "The form body could not be read"
FILE_IN_TEXT = "takes typed text, not a file"
UNFIT = "holds a character that cannot be stored"
TOO_LARGE = "The form body is too large for the console"


@dataclass(frozen=True)
class Part:
    headers: bytes  # the part's header lines, CRLF-separated, without the blank line that ends them
    value: bytes


def field(name: bytes, value: bytes, *, filename: bytes | None = None, extra: bytes = b"") -> Part:
    disposition = b'Content-Disposition: form-data; name="' + name + b'"'
    if filename is not None:
        disposition += b'; filename="' + filename + b'"'
    return Part(disposition + extra, value)


def multipart(parts: list[Part], boundary: str = BOUNDARY, closed: bool = True) -> bytes:
    mark = b"--" + boundary.encode()
    body = b"".join(mark + b"\r\n" + p.headers + b"\r\n\r\n" + p.value + b"\r\n" for p in parts)
    return body + (mark + b"--\r\n" if closed else b"")


def form_type(boundary: str | None = BOUNDARY) -> str:
    return "multipart/form-data" + (f"; boundary={boundary}" if boundary is not None else "")


@dataclass
class Console:
    session: aiohttp.ClientSession
    token: str  # the session's CSRF token

    async def post(self, path: str, body: bytes, content_type: str, csrf_header: bool = True) -> tuple[int, str]:
        headers = {"Content-Type": content_type, **({"X-CSRF-Token": self.token} if csrf_header else {})}
        async with self.session.post(path, data=body, headers=headers, allow_redirects=False) as response:
            return response.status, await response.text()


@pytest.fixture
def store(cloud_target: str) -> Iterator[SqlCloudStore]:
    store, _ = shop_store(cloud_target)
    yield store
    store.close()


@pytest.fixture
async def console(store: SqlCloudStore) -> AsyncIterator[Console]:
    server = TestServer(create_app(store), host="127.0.0.1")
    await server.start_server()
    session = await signed_in(server, OWNER)
    token = await csrf_of(session, "/console/tokens")
    yield Console(session, token)
    await session.close()
    await server.close()


def stored(store: SqlCloudStore) -> tuple[int, int]:
    """What a form post to the token and media pages could have stored: the retailer's API tokens and media."""
    return len(store.api_tokens_of(SHOP)), len(store.media_of(SHOP))


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


async def test_a_well_formed_multipart_form_is_taken_as_a_browser_sends_it(
    console: Console, store: SqlCloudStore
) -> None:
    """The control: the same pages take a multipart form (the token's label, an image) and store it."""
    before = stored(store)
    body = multipart([field(b"csrf_token", console.token.encode()), field(b"label", "收银台 till".encode())])
    status, _ = await console.post("/console/tokens", body, form_type(), csrf_header=False)
    assert status == 303 and "收银台 till" in [t["label"] for t in store.api_tokens_of(SHOP)]
    body = multipart([field(b"kind", b"image"), field(b"file", PNG, filename=b"poster.png", extra=b"\r\nX: y")])
    status, page = await console.post("/console/media", body, form_type())
    assert status == 201, page
    assert stored(store) == (before[0] + 1, before[1] + 1)


TOKEN_PAGE_CASES = [
    pytest.param(form_type(None), multipart([field(b"label", b"x")]), FORM_BODY, id="no-boundary"),
    pytest.param(form_type("another"), multipart([field(b"label", b"x")]), FORM_BODY, id="wrong-boundary"),
    pytest.param(form_type("b" * 71), multipart([field(b"label", b"x")], "b" * 71), FORM_BODY, id="boundary-too-long"),
    pytest.param(form_type(), multipart([field(b"label", b"a" * 50)])[:-30], FORM_BODY, id="cut-short"),
    pytest.param(form_type(), multipart([field(b"label", b"x")], closed=False), FORM_BODY, id="never-closed"),
    pytest.param(form_type(), b"", FORM_BODY, id="empty"),
    pytest.param(form_type(), b"label=till&csrf_token=x", FORM_BODY, id="urlencoded-body"),
    pytest.param(form_type(), multipart([Part(b"Content-Disposition: form-data", b"x")]), FORM_BODY, id="no-name"),
    pytest.param(form_type(), multipart([Part(b"X-Other: 1", b"x")]), FORM_BODY, id="no-disposition"),
    pytest.param(
        form_type(),
        multipart([field(b"label", b"x", extra=b"\r\nX-Big: " + b"h" * 9000)]),
        FORM_BODY,
        id="huge-part-header",
    ),  # fmt: skip
    pytest.param(
        form_type(),
        multipart([field(b"label", b"x", extra=b"".join(b"\r\nX-%d: h" % i for i in range(200)))]),
        FORM_BODY,
        id="too-many-part-headers",
    ),
    pytest.param(form_type(), multipart([field(b"la\x00bel", b"x")]), FORM_BODY, id="nul-in-name"),
    pytest.param(
        form_type(), multipart([field(b"label", b"x", filename=b"a\x00.txt")]), FORM_BODY, id="nul-in-filename"
    ),  # fmt: skip
    pytest.param(
        form_type(),
        multipart([field(b"label", b"x", extra=b"\r\nContent-Transfer-Encoding: rot13")]),
        FORM_BODY,
        id="unknown-transfer-encoding",
    ),  # fmt: skip
    pytest.param(
        form_type(),
        multipart(
            [field(b"label", b"--in\r\n\r\nx\r\n--in--", extra=b"\r\nContent-Type: multipart/mixed; boundary=in")]
        ),
        FORM_BODY,
        id="nested-multipart",
    ),
    pytest.param(
        form_type(),
        multipart([field(b"label", b"x", filename=b"till.txt")]),
        "“label” " + FILE_IN_TEXT,
        id="file-for-text",
    ),  # fmt: skip
    pytest.param(form_type(), multipart([field(b"label", b"ti\x00ll")]), "“label” " + UNFIT, id="nul-in-value"),
    pytest.param(form_type(), multipart([field(b"label", b"ti\xffll")]), "“form” " + UNFIT, id="not-utf8-value"),
    pytest.param(form_type(), multipart([field(b"la\xffbel", b"x")]), "“form” " + UNFIT, id="not-utf8-name"),
    pytest.param(
        form_type(),
        multipart([field(b"label", b"x", extra=b"\r\nContent-Type: text/plain; charset=no-such")]),
        "“form” " + UNFIT,
        id="unknown-charset",
    ),  # fmt: skip
]


async def test_a_malformed_multipart_form_is_a_400_naming_what_was_wrong_and_stores_nothing(
    console: Console, store: SqlCloudStore, caplog: pytest.LogCaptureFixture
) -> None:
    before = stored(store)
    for case in TOKEN_PAGE_CASES:
        content_type, body, expected = cast(tuple[str, bytes, str], case.values)
        status, page = await console.post("/console/tokens", body, content_type)
        assert status == 400, (case.id, page)
        assert refusal(page).startswith(expected), case.id
    assert stored(store) == before
    assert tracebacks(caplog) == []


async def test_the_media_page_names_a_file_in_its_text_field_and_refuses_a_body_over_the_limit_with_a_413(
    console: Console, store: SqlCloudStore, caplog: pytest.LogCaptureFixture
) -> None:
    before = stored(store)
    body = multipart([field(b"kind", b"image", filename=b"kind.txt"), field(b"file", PNG, filename=b"poster.png")])
    status, page = await console.post("/console/media", body, form_type())
    assert (status, refusal(page)) == (400, f"“kind” {FILE_IN_TEXT}.")
    # A file name with bytes that are not UTF-8 is text no store can hold: named by its field.
    body = multipart([field(b"kind", b"image"), field(b"file", PNG, filename=b"poster\xff.png")])
    status, page = await console.post("/console/media", body, form_type())
    assert status == 400 and refusal(page).startswith("“file” " + UNFIT)
    body = multipart([field(b"kind", b"image"), field(b"file", PNG + bytes(MAX_BODY_BYTES), filename=b"big.png")])
    status, page = await console.post("/console/media", body, form_type())
    assert status == 413 and refusal(page).startswith(TOO_LARGE)
    async with (
        console.session.post(  # the same in Chinese
            "/console/media?lang=zh",
            data=multipart([field(b"kind", b"image")])[:-10],
            headers={"Content-Type": form_type(), "X-CSRF-Token": console.token, "Accept-Language": "zh-CN"},
        ) as response
    ):
        assert response.status == 400
        assert refusal(await response.text()).startswith("无法读取表单内容")
    assert stored(store) == before
    assert tracebacks(caplog) == []


# --- fuzzing -------------------------------------------------------------------------------------------------
names = st.sampled_from([b"label", b"kind", b"file", b"csrf_token", b"", b"a\x00b", b"\xff\xfe", "名".encode()])
values = st.binary(max_size=16) | st.sampled_from([b"image", b"till", b"\x00", b"\xc3", PNG])
filenames = st.none() | st.sampled_from([b"a.png", b"", b"a\xff.png", b"../../etc/passwd", "图.png".encode()])
extras = st.sampled_from(
    [
        b"",
        b"\r\nContent-Type: image/png",
        b"\r\nContent-Type: text/plain; charset=latin-1",
        b"\r\nContent-Type: text/plain; charset=bogus",
        b'\r\nContent-Disposition: form-data; name="other"',  # duplicated
        b"\r\nContent-Transfer-Encoding: base64",
        b"\r\nContent-Transfer-Encoding: x-unknown",
        b"\r\nContent-Encoding: gzip",
        b"\r\nX-Long: " + b"h" * 9000,
    ]
)
parts = st.builds(lambda n, v, f, e: field(n, v, filename=f, extra=e), names, values, filenames, extras) | st.builds(
    Part, st.sampled_from([b"Content-Disposition: form-data", b"X-No-Disposition: 1", b""]), values
)
boundaries = st.sampled_from([BOUNDARY, None, "other", "b" * 71, '"quoted"'])


@st.composite
def bodies(draw: st.DrawFn) -> tuple[str, bytes]:
    """A Content-Type and a body: a multipart body (its boundary in the header or not, maybe cut anywhere), or
    a urlencoded or raw one sent as multipart."""
    declared = draw(boundaries)
    kind = draw(st.sampled_from(["multipart", "multipart", "multipart", "urlencoded", "raw"]))
    if kind == "urlencoded":
        return form_type(declared), b"label=till&kind=image"
    if kind == "raw":
        return form_type(declared), draw(st.binary(max_size=64))
    body = multipart(draw(st.lists(parts, max_size=4)), draw(st.sampled_from([BOUNDARY, "other"])), draw(st.booleans()))
    cut = draw(st.none() | st.integers(0, len(body)))
    return form_type(declared), body if cut is None else body[:cut]


def test_fuzzed_multipart_forms_get_a_page_below_500_naming_what_was_wrong_and_store_nothing_refused(
    cloud_target: str, caplog: pytest.LogCaptureFixture
) -> None:
    store, _ = shop_store(cloud_target)
    with closing(store), served_on_own_loop(create_app(store)) as (loop, server):
        session = loop.run_until_complete(signed_in(server, OWNER))
        console = Console(session, loop.run_until_complete(csrf_of(session, "/console/tokens")))

        @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @example(path="/console/media", sent=(form_type(), multipart([field(b"file", b"x", filename=b"a\xff")])))
        @example(path="/console/tokens", sent=(form_type(), multipart([field(b"label", b"x")])[:40]))
        @given(path=st.sampled_from(["/console/tokens", "/console/media"]), sent=bodies())
        def check(path: str, sent: tuple[str, bytes]) -> None:
            caplog.clear()
            before = stored(store)
            status, page = loop.run_until_complete(console.post(path, sent[1], sent[0]))
            assert status < 500, (status, page)
            assert tracebacks(caplog) == []
            if status in (400, 413):
                said = alert(page)
                assert said.startswith("“") or said.startswith(FORM_BODY) or said in PAGE_REFUSALS, said
            if status >= 400:
                assert stored(store) == before

        try:
            check()
        finally:
            loop.run_until_complete(session.close())


def alert(page: str) -> str:
    """The refusal a page shows: the error page's, or the token or media page's own."""
    found = re.search(r'<p class="notice error" role="alert"[^>]*>(.*?)</p>', page, re.S)
    assert found, page
    return found.group(1)


# The pages' own refusals of a readable form: a token without a label; a media file missing, of an unknown kind,
# empty or not of its kind.
PAGE_REFUSALS = {
    "Give the token a label (1 to 64 characters).",
    "Choose a file to upload.",
    "Choose image, video or audio.",
    "The file is empty.",
    "The file is not of the kind chosen (images: PNG or JPEG; videos: MP4, WebM or MKV; audio: WAV, OGG, MP3 or M4A).",
}
