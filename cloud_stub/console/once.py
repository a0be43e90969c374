"""Secrets shown once (a new order's pickup code, a new or rotated API token, an invitation link) without
answering a POST with them: the POST leaves the secret here for the user's session and redirects
(POST/redirect/GET); the page's next GET takes it out and shows it. A reload then neither posts again (no
second order, no second token) nor shows the secret again.

Kept in the server's memory only, never in the database (which keeps only hashes of these secrets), and
only for a few minutes: a secret nobody came to read is dropped. Served by one process, as the console is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from cloud_stub.console.auth import CORE, SESSION

KEEP_S = 300.0  # the redirect follows at once; a longer wait means the answer was lost: the secret goes
MAX_HELD = 10_000  # bounds the memory a flood of creations could take (the oldest go first)


@dataclass
class _Held:
    values: dict[str, Any]
    until: float


@dataclass
class OnceBox:
    """What a session's next GET of a page shows once, by (session, page)."""

    held: dict[tuple[str, str], _Held] = field(default_factory=dict)

    def put(self, session: str, page: str, values: dict[str, Any], now: float) -> None:
        self._forget_expired(now)
        while len(self.held) >= MAX_HELD:
            del self.held[next(iter(self.held))]
        self.held.pop((session, page), None)
        self.held[(session, page)] = _Held(values, now + KEEP_S)

    def take(self, session: str, page: str, now: float) -> dict[str, Any] | None:
        found = self.held.pop((session, page), None)
        return found.values if found is not None and found.until > now else None

    def _forget_expired(self, now: float) -> None:
        for key in [key for key, held in self.held.items() if held.until <= now]:
            del self.held[key]


ONCE = web.AppKey("console_once", OnceBox)


def setup(console_app: web.Application) -> None:
    console_app[ONCE] = OnceBox()


def show_once(request: web.Request, route: str, values: dict[str, Any]) -> web.HTTPSeeOther:
    """Keep ``values`` for the session's next GET of the page ``route`` and return the redirect there (raise it)."""
    request.app[ONCE].put(request[SESSION].id_sha256, route, values, request.app[CORE].now())
    return web.HTTPSeeOther(request.app.router[route].url_for())


def shown_once(request: web.Request, route: str) -> dict[str, Any] | None:
    """What a POST left for this session's page ``route``, or None; gone after this call."""
    return request.app[ONCE].take(request[SESSION].id_sha256, route, request.app[CORE].now())
