"""What the cloud's request handlers share: the store on its worker thread, the clock,
``Refused`` and the middleware that turns it into a JSON error, strict JSON parsing.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import math
import queue
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from multidict import MultiDictProxy

from cloud_stub.limits import ServeLimits
from cloud_stub.sqldb import must_retry, only_reads
from cloud_stub.store import CloudStore, Conflict, NotFound

MAX_BODY_BYTES = 8 * 1024 * 1024  # a batch of events; the largest body any route takes
SMALL_BODY_BYTES = 1024 * 1024  # every other JSON body (a configuration, a command, a payment)
# Who made the request, once authenticated ("cabinet cab-1", "retailer shop-a"): for the refusal log.
CALLER = web.RequestKey("caller", str)

log = logging.getLogger("cloud_stub")
T = TypeVar("T")
_ATTEMPTS = 3


class Refused(Exception):
    """A request the API turns down as a whole; nothing of it is stored."""

    def __init__(self, status: int, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after  # seconds, for a 503 that will pass


class Core:
    """What every handler shares: the store (on its own worker thread) and the clock."""

    def __init__(self, store: CloudStore, now: Callable[[], float], limits: ServeLimits) -> None:
        self.store = store
        self.now = now
        self.limits = limits
        # SQLite's store writes on one dedicated worker thread: SQLite has a single writer anyway, so one
        # thread means no lock contention or SQLITE_BUSY among requests, while the event loop keeps
        # serving other cabinets during each commit's fsync (synchronous=FULL; slow on SD cards). Its calls
        # marked ``reads`` run on reader threads of their own (one per read-only connection), so a retailer's
        # page never waits in the writer's queue and an ingest never waits for a page.
        # PostgreSQL's store has a thread per pooled connection, for reads and writes alike.
        workers = getattr(store, "workers", 1)
        readers = getattr(store, "readers", 0)
        self._worker = StoreThread() if workers == 1 else None
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="cloud-store") if workers > 1 else None
        self._readers = StoreThread("cloud-store-read", threads=readers) if readers else None

    async def db(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run one store call (one transaction) on the store's threads: a call marked ``reads`` on a reader
        thread when the store has them, any other on the writer's (in the order they come). One that
        PostgreSQL rolled back to break a deadlock between nodes is run again: it changed nothing."""
        call = functools.partial(fn, *args, **kwargs)
        worker = self._readers if self._readers is not None and only_reads(fn) else self._worker
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                if worker is not None:
                    return await worker.run(call)
                return await asyncio.get_running_loop().run_in_executor(self._pool, call)
            except Exception as exc:
                if attempt == _ATTEMPTS or not must_retry(exc):
                    raise
                log.info("store call %s rolled back (%s); attempt %d", getattr(fn, "__name__", fn), exc, attempt + 1)
        raise AssertionError("unreachable")

    async def read_body(self, request: web.Request, max_bytes: int = SMALL_BODY_BYTES, hint: str = "") -> bytes:
        """The body, bounded by its declared length and read within the body timeout.

        Only a body with a Content-Length is taken (411 for a chunked one), and one declared longer than
        ``max_bytes`` is refused before a byte of it is read (413). HTTP framing reads exactly the
        declared length; whatever a client sends beyond it is parsed as its next request.
        """
        if "Transfer-Encoding" in request.headers:
            raise Refused(411, "Content-Length: required (a body without a declared length is not accepted)")
        declared = request.content_length or 0
        if declared > max_bytes:
            raise Refused(413, f"body: {declared} bytes, over the {max_bytes} byte limit here{hint}")
        try:
            async with asyncio.timeout(self.limits.body_timeout_s):
                if max_bytes > MAX_BODY_BYTES:  # beyond the app's client_max_size (a media upload): read it here
                    return await request.content.readexactly(declared)
                return await request.read()
        except asyncio.IncompleteReadError:
            raise Refused(400, "body: shorter than its Content-Length") from None
        except TimeoutError:
            raise Refused(408, f"body: not received within {self.limits.body_timeout_s:g} s") from None

    async def close(self, _app: web.Application | None = None) -> None:
        # Runs after the server stopped taking requests, so the workers are idle and this returns at once.
        for worker in (self._worker, self._readers):
            if worker is not None:
                worker.stop()
        if self._pool is not None:
            self._pool.shutdown(wait=True)


class StoreThread:
    """Threads (one by default) that run the store's calls in the order they come, for any event loop's
    coroutines; with one thread each call ends before the next begins.

    Lighter than ``run_in_executor`` on a one-thread pool (which makes a ``concurrent.futures.Future``, its
    condition variable and a chained asyncio future per call): 21 µs of CPU a call instead of 43 here, and the
    device API makes two calls a request. As with the pool, a call whose caller was cancelled before it began
    is not run. Started at the first call; ``stop`` lets the calls already queued finish.
    """

    def __init__(self, name: str = "cloud-store", *, threads: int = 1) -> None:
        self._calls: queue.SimpleQueue[tuple[asyncio.AbstractEventLoop, asyncio.Future[Any], Callable[[], Any]] | None]
        self._calls = queue.SimpleQueue()
        self._name = name
        self._count = threads
        self._threads: list[threading.Thread] = []
        self._starting = threading.Lock()

    async def run(self, fn: Callable[[], T]) -> T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        with self._starting:
            if not self._threads:
                names = [self._name] if self._count == 1 else [f"{self._name}-{i}" for i in range(self._count)]
                self._threads = [threading.Thread(target=self._serve, name=name, daemon=True) for name in names]
                for thread in self._threads:
                    thread.start()
        self._calls.put((loop, future, fn))
        return await future

    def stop(self) -> None:
        with self._starting:
            threads, self._threads = self._threads, []
        for _ in threads:
            self._calls.put(None)
        for thread in threads:
            thread.join()

    def _serve(self) -> None:
        while (call := self._calls.get()) is not None:
            loop, future, fn = call
            if future.cancelled():  # a read of the future's state only: safe from this thread
                continue
            try:
                result = fn()
            except BaseException as exc:  # as the pool did: the caller gets whatever the call raised
                _settle(loop, future.set_exception, future, exc)
            else:
                _settle(loop, future.set_result, future, result)


def _settle(
    loop: asyncio.AbstractEventLoop, setter: Callable[[Any], None], future: asyncio.Future[Any], value: Any
) -> None:
    """Hand a call's outcome to its loop (unless its caller gave up waiting, or the loop is gone)."""

    def settle() -> None:
        if not future.cancelled():
            setter(value)

    try:
        loop.call_soon_threadsafe(settle)
    except RuntimeError:  # the loop closed while the call ran: nobody is waiting for it
        pass


@web.middleware
async def refusals(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except Refused as refusal:
        who = request.get(CALLER) or request.headers.get("X-Cabinet-Id") or "-"
        log.warning(
            "refused %s %s by %s status=%d: %s", request.method, request.path, who, refusal.status, refusal.message
        )
        headers = {"Retry-After": str(refusal.retry_after)} if refusal.retry_after is not None else None
        return web.json_response({"error": refusal.message}, status=refusal.status, headers=headers)
    except NotFound as exc:
        return web.json_response({"error": str(exc)}, status=404)
    except Conflict as exc:
        return web.json_response({"error": str(exc)}, status=409)


def read_json(body: bytes) -> Any:
    """Parse a request body strictly (no NaN/Infinity, bounded nesting). Raises Refused(400)."""
    try:
        return json.loads(body, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError:
        raise Refused(400, "body: JSON nested too deeply") from None
    except ValueError as exc:  # includes bad UTF-8 and NaN/Infinity
        raise Refused(400, f"body: not valid JSON ({exc})") from None


def object_fields(
    data: Any, required: dict[str, type], optional: dict[str, type] | None = None, where: str = "body"
) -> dict[str, Any]:
    """Check a JSON object's keys and types; Refused(400) naming the first bad field."""
    optional = optional or {}
    if not isinstance(data, dict):
        raise Refused(400, f"{where}: expected an object, got {json_type(data)}")
    unknown = sorted(set(data) - set(required) - set(optional))
    if unknown:
        raise Refused(400, f"{unknown[0]}: unknown field")
    for name, expected in {**required, **optional}.items():
        if name not in data:
            if name in required:
                raise Refused(400, f"{name}: required")
            continue
        value = data[name]
        if isinstance(value, bool) and expected is not bool or not isinstance(value, expected):
            raise Refused(400, f"{name}: expected {_TYPE_NAMES[expected]}, got {json_type(value)}")
        problem = text_problem(value) if isinstance(value, str) else None
        if problem:
            raise Refused(400, f"{name}: {problem}")
    return data


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored as text on both stores, or None: a NUL (no text column of PostgreSQL's can
    hold one) or a lone surrogate (from a \\ud800 escape: not UTF-8, which SQLite stores)."""
    if "\x00" in text:
        return "contains a NUL character (U+0000)"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return "not valid Unicode (a lone surrogate)"
    return None


class UnfitText(Refused):
    """Text of a request that no store can hold, in ``field`` (a path part, query parameter or form field)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(400, f"{field}: {problem}")
        self.field = field


def check_url_text(request: web.Request) -> None:
    """UnfitText for the first path part or query parameter of the request that no store can hold (a cabinet id
    with %00)."""
    for name, value in request.match_info.items():
        problem = text_problem(value)
        if problem:
            raise UnfitText(name, problem)
    for name, value in request.query.items():
        problem = text_problem(name)
        if problem:
            raise UnfitText("query", f"a parameter's name {problem}")
        problem = text_problem(value)
        if problem:
            raise UnfitText(name, problem)


FORM_BODY = "form body"  # the field a refusal names when the body as a whole cannot be read
FILE_FIELDS = "form_file_fields"  # a handler's attribute: the fields of its form that may be files (form_files)
Handler = TypeVar("Handler", bound=Callable[..., Any])


class UnreadableForm(Refused):
    """A form body that cannot be read as the form it claims to be (a multipart body without its boundary, cut
    short, a part without a name, over the size limit), or a file sent where text was expected. ``field`` is the
    field at fault or FORM_BODY; ``reason`` ("body", "file" or "size") lets a page say it in its reader's words."""

    def __init__(self, field: str, reason: str, problem: str, status: int = 400) -> None:
        super().__init__(status, f"{field}: {problem}")
        self.field = field
        self.reason = reason


def form_files(*names: str) -> Callable[[Handler], Handler]:
    """Mark a handler whose form may carry files in the fields ``names``; a file in any other field (and any file
    sent to an unmarked handler) is refused by read_form. Put it above any wrapping decorator (``requires``)."""

    def mark(handler: Handler) -> Handler:
        setattr(handler, FILE_FIELDS, frozenset(names))
        return handler

    return mark


async def read_form(request: web.Request) -> MultiDictProxy[str | bytes | bytearray | web.FileField]:
    """The request's form (aiohttp keeps it for later reads). Refused, before any handler sees a field: with
    UnreadableForm for a body that is not the form its Content-Type names (413 for one over the size or field
    limit) or a file in a field its handler does not take as one (form_files); with UnfitText for the first field
    whose name, value or file name no store can hold, or for a body not in the charset it names ("form")."""
    try:
        form = await request.post()
    except (UnicodeDecodeError, LookupError):  # bytes not in the charset the request names, or no such charset
        raise UnfitText("form", "not text in the charset it names") from None
    except web.HTTPRequestEntityTooLarge as exc:  # over client_max_size or client_max_fields
        raise UnreadableForm(FORM_BODY, "size", exc.text or "too large", status=413) from None
    except (ValueError, RuntimeError, HttpProcessingError) as exc:
        # aiohttp's multipart reader: no or a wrong boundary, cut short, a part without a name or with a header
        # it refuses (a NUL, a line over 8 KiB, too many), an unknown Content-Transfer-Encoding, a nested multipart
        said = exc.message if isinstance(exc, HttpProcessingError) else str(exc)
        raise UnreadableForm(FORM_BODY, "body", f"not a readable form ({said.strip()[:120]})") from None
    takes_files: frozenset[str] = getattr(request.match_info.handler, FILE_FIELDS, frozenset())
    for name, value in form.items():
        problem = text_problem(name)
        if problem:
            raise UnfitText("form", f"a field's name {problem}")
        if isinstance(value, web.FileField) and name not in takes_files:
            raise UnreadableForm(name, "file", "a file where text was expected")
        text = value.filename if isinstance(value, web.FileField) else value
        problem = text_problem(text) if isinstance(text, str) else None
        if problem:
            raise UnfitText(name, problem)
    return form


@web.middleware
async def plain_urls(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Refused(400) naming a path part or query parameter of the APIs that no store can hold, before any handler
    looks it up (on PostgreSQL a NUL would be a database error, a 500). Routes of a sub-application (the
    console) check their own, to answer with a page; the phone pages' refusal_pages turns this one into a page."""
    if len(request.match_info.apps) == 1:
        check_url_text(request)
    return await handler(request)


_TYPE_NAMES = {str: "string", int: "integer", float: "number", bool: "boolean", list: "array", dict: "object"}


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text} is out of range")
    return value


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    names: dict[type, str] = {str: "string", list: "array", dict: "object"}
    return names.get(type(value), type(value).__name__)
