"""Who is at the console: passwords (argon2id), sessions in a cookie with a random id kept server-side,
the CSRF token every unsafe request must carry, sign-in rate limits, and ``requires(role)`` for pages.

The session cookie is HttpOnly and SameSite=Lax (Secure over https); the store keeps only the id's
SHA-256. Before sign-in the browser holds an anonymous session (it carries the sign-in form's CSRF
token); signing in replaces it with a new id, so an id planted in a browser never becomes signed in.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import argon2
from aiohttp import web
from aiohttp.typedefs import Handler

from cloud_stub.core import Core, check_url_text, read_form

CORE = web.AppKey("console_core", Core)
COOKIE = "console_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SESSION_TTL_S = 12 * 3600.0  # a working day: then sign in again
ANONYMOUS_TTL_S = 3600.0  # a sign-in form left open this long must be reloaded
ROLES = ("owner", "staff", "technician")
ANY_ROLE = ROLES
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
HOME = "/console/fleet"

# Sign-in failures: per account a few free tries, then a doubling wait; per address more free tries
# (several people behind one shop's router), then the same doubling.
FAILURE_WINDOW_S = 15 * 60.0
FREE_TRIES = {"account": 3, "ip": 20}
FIRST_WAIT_S = 2.0
MAX_WAIT_S = 15 * 60.0

# argon2id with the library's defaults (RFC 9106's second recommendation: 64 MiB, 3 passes, 4 lanes).
_hasher = argon2.PasswordHasher()
MIN_PASSWORD_CHARS = 10
MAX_PASSWORD_CHARS = 1024  # argon2 takes any length; this bounds the work an anonymous request can ask for


@dataclass(frozen=True)
class User:
    id: str
    retailer: str
    email: str
    role: str


@dataclass(frozen=True)
class Session:
    id_sha256: str
    csrf_token: str
    user: User | None  # None before sign-in


SESSION = web.RequestKey("console_session", Session)


@dataclass(frozen=True)
class NavItem:
    """A link in the console's header: a page group lists its own in ``nav`` (shown to ``roles`` only)."""

    route: str  # the route's name
    label: str  # its i18n key
    roles: tuple[str, ...] = ROLES
    paths: tuple[str, ...] = ()  # path prefixes where it is the current page (default: the route's own path)


class PasswordRefused(ValueError):
    """A new password that does not meet the rules; the message says which (an i18n key)."""


def check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise PasswordRefused("password_too_short")
    if len(password) > MAX_PASSWORD_CHARS:
        raise PasswordRefused("password_too_long")


@functools.cache
def dummy_hash() -> str:
    """Checked when the email is unknown, so that an unknown account takes as long as a wrong password. Made
    when the console is mounted (setup_console), not on import: the CLI's commands need no 64 MiB hash."""
    return _hasher.hash(secrets.token_hex(16))


def hash_password(password: str) -> str:
    check_new_password(password)
    return _hasher.hash(password)


async def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; an account without a hash still costs one verification."""
    password = password[:MAX_PASSWORD_CHARS]

    def verify() -> bool:
        try:
            return _hasher.verify(stored_hash or dummy_hash(), password) and stored_hash is not None
        except (argon2.exceptions.VerifyMismatchError, argon2.exceptions.InvalidHashError):
            return False

    return await asyncio.to_thread(verify)


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)


def normal_email(email: str) -> str:
    return email.strip().lower()


def check_email(email: str) -> str:
    """The email lower-cased; ValueError naming what is wrong."""
    email = normal_email(email)
    local, at, domain = email.partition("@")
    if not at or not local or "." not in domain or len(email) > 254 or any(c.isspace() for c in email):
        raise ValueError(f"email: {email[:80]!r} is not an email address")
    return email


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# --- sessions ---------------------------------------------------------------------------------------
async def load_session(request: web.Request) -> Session | None:
    cookie = request.cookies.get(COOKIE)
    if not cookie or len(cookie) > 128:
        return None
    core = request.app[CORE]
    row = await core.db(core.store.session, _sha256(cookie), now=core.now())
    if row is None:
        return None
    user = User(row["user_id"], row["retailer"], row["email"], row["role"]) if row["user_id"] else None
    return Session(_sha256(cookie), row["csrf_token"], user)


async def start_session(request: web.Request, user: User | None) -> str:
    """A new session with a fresh random id and CSRF token (the request's old one is deleted); it becomes
    the request's session. Returns the id: put it in the answer's cookie with ``set_session_cookie``."""
    core = request.app[CORE]
    old = request.get(SESSION)
    if old is not None:
        await core.db(core.store.delete_session, old.id_sha256)
    session_id, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    ttl = SESSION_TTL_S if user else ANONYMOUS_TTL_S
    await core.db(core.store.add_session, _sha256(session_id), user.id if user else None, csrf, ttl, now=core.now())
    request[SESSION] = Session(_sha256(session_id), csrf, user)
    return session_id


def set_session_cookie(request: web.Request, response: web.StreamResponse, session_id: str) -> None:
    session = request[SESSION]
    response.set_cookie(
        COOKIE,
        session_id,
        max_age=int(SESSION_TTL_S if session.user else ANONYMOUS_TTL_S),
        path="/console",
        httponly=True,
        samesite="Lax",
        secure=request.secure,
    )


async def end_session(request: web.Request, response: web.StreamResponse) -> None:
    session = request.get(SESSION)
    if session is not None:
        core = request.app[CORE]
        await core.db(core.store.delete_session, session.id_sha256)
    response.del_cookie(COOKIE, path="/console")


@web.middleware
async def sessions(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Loads the session for every console request and refuses an unsafe one without its CSRF token (403)."""
    if request.match_info.route.name == "static":  # the stylesheet and htmx: no session to look up
        return await handler(request)
    session = await load_session(request)
    if session is not None:
        request[SESSION] = session
    check_url_text(request)  # and the form in read_form: UnfitText or UnreadableForm, a 400 page naming the field
    if request.method not in SAFE_METHODS:
        # Every unsafe request's form is read and checked here, so no handler reads one unchecked (a body of
        # another Content-Type is an empty form).
        form = await read_form(request)
        sent = request.headers.get(CSRF_HEADER)
        if sent is None:
            field = form.get(CSRF_FIELD)
            sent = field if isinstance(field, str) else None
        if session is None or not sent or not hmac.compare_digest(sent.encode(), session.csrf_token.encode()):
            raise web.HTTPForbidden(reason="csrf")
    return await handler(request)


def current_user(request: web.Request) -> User:
    """The signed-in user of a page behind ``requires``."""
    session: Session | None = request.get(SESSION)
    if session is None or session.user is None:
        raise RuntimeError("current_user() on a page without @requires")
    return session.user


Page = Callable[[web.Request], Awaitable[web.StreamResponse]]


def requires(*roles: str) -> Callable[[Page], Page]:
    """A page for signed-in users with one of ``roles`` (default: any). Not signed in: to the sign-in page,
    coming back here afterwards; signed in with another role: 403."""
    allowed = roles or ANY_ROLE
    unknown = set(allowed) - set(ROLES)
    if unknown:
        raise ValueError(f"requires(): unknown role(s) {sorted(unknown)}")

    def wrap(page: Page) -> Page:
        @functools.wraps(page)
        async def guarded(request: web.Request) -> web.StreamResponse:
            session = request.get(SESSION)
            if session is None or session.user is None:
                target = request.path_qs if request.method in SAFE_METHODS else HOME
                raise web.HTTPSeeOther(request.app.router["sign_in"].url_for().with_query(next=target))
            if session.user.role not in allowed:
                raise web.HTTPForbidden(reason="role")
            return await page(request)

        return guarded

    return wrap


def local_path(target: str | None, default: str = HOME) -> str:
    """``target`` if it is a path on this console, else ``default``: never a redirect to another site."""
    if not target or not target.startswith("/console/") or "\\" in target or any(ord(c) < 32 for c in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


# --- sign-in rate limits ------------------------------------------------------------------------------
def wait_after(failures: list[float], free: int, now: float) -> float:
    """Seconds until the next try is allowed after these failure times: none for the first ``free``, then
    FIRST_WAIT_S after the last failure, doubling with each further one, at most MAX_WAIT_S."""
    over = len(failures) - free
    if over < 0:
        return 0.0
    wait = min(FIRST_WAIT_S * 2.0**over, MAX_WAIT_S)
    return max(0.0, failures[-1] + wait - now)


def limit_subjects(email: str, address: str | None) -> dict[str, str]:
    return {"account": f"account:{email}", "ip": f"ip:{address or '-'}"}


async def sign_in_wait(core: Core, email: str, address: str | None) -> float:
    """How long this account or address must wait before it may try again (0: now)."""
    now = core.now()
    waits: list[float] = []
    for kind, subject in limit_subjects(email, address).items():
        failures = await core.db(core.store.login_failures, subject, since=now - FAILURE_WINDOW_S)
        waits.append(wait_after(failures, FREE_TRIES[kind], now))
    return max(waits)


async def record_failure(core: Core, email: str, address: str | None) -> None:
    subjects = list(limit_subjects(email, address).values())
    await core.db(core.store.add_login_failure, subjects, keep_s=FAILURE_WINDOW_S, now=core.now())


def new_invite_token() -> tuple[str, str]:
    """A one-time invitation token and the hash the store keeps."""
    token = secrets.token_urlsafe(32)
    return token, _sha256(token)


def invite_hash(token: str) -> str:
    return _sha256(token)
