"""Every answer to an authenticated cabinet request is signed with that cabinet's key.

``DeviceApi.authenticate`` leaves the key on the request once the request's signature checked
out; this middleware (outside the one that turns refusals into JSON errors, so refusals are
signed too) signs whatever the handler answered. Answers to requests that never authenticated
(unknown cabinet, bad signature, enrollment, the shopper's pay page) carry no signature.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from sync_client.schema import HDR_NONCE, sign_answer

SIGNING_KEY = web.RequestKey("signing_key", bytes)


def answer_signer(now: Callable[[], float]) -> Middleware:
    """The middleware, reading the cloud's clock from ``now`` (the same clock as the signature window)."""

    @web.middleware
    async def sign_answers(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        key = request.get(SIGNING_KEY)
        if key is None:
            return response
        body = response.body if isinstance(response, web.Response) and response.body is not None else b""
        if not isinstance(response, web.Response) or not isinstance(body, bytes):
            raise TypeError(f"{request.method} {request.path}: a device answer must be a body in memory to be signed")
        response.headers.update(
            sign_answer(key, response.status, request.headers[HDR_NONCE], response.headers, body, now=now())
        )
        return response

    return sign_answers
