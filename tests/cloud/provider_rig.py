"""What the provider tests share: RSA keys made once, a clock the tests move, and the merchant's notification
endpoint (a real aiohttp server on loopback that verifies each notification with the provider under test and
answers what the provider documents)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from cloud_stub.payments.emulators.serving import serve
from cloud_stub.payments.provider import ForgedNotification, Notification, NotificationAnswer


@cache
def rsa_keys() -> tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey, rsa.RSAPrivateKey]:
    """The merchant's, the provider's and a stranger's RSA 2048 keys (made once per test run)."""
    made = tuple(rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(3))
    return made[0], made[1], made[2]


def private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


class Clock:
    """Real time, moved on by ``offset`` when a test needs the provider to be later."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@dataclass
class Receiver:
    """The merchant's notification endpoint: every notification verified by ``verify``; ``refuse_first``
    notifications are answered as not taken (so the provider sends them again)."""

    verify: Callable[[dict[str, str], bytes], Notification]
    answer: Callable[[bool], NotificationAnswer]
    refuse_first: int = 0
    verified: list[Notification] = field(default_factory=list)
    forged: list[str] = field(default_factory=list)
    url: str = ""
    _runner: web.AppRunner | None = None

    async def start(self) -> str:
        app = web.Application()
        app.add_routes([web.post("/notify", self._notify)])
        self._runner, base = await serve(app)
        self.url = f"{base}/notify"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _notify(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            notification = self.verify(dict(request.headers), body)
        except ForgedNotification as exc:
            self.forged.append(str(exc))
            reply = self.answer(False)
        else:
            self.verified.append(notification)
            reply = self.answer(len(self.verified) > self.refuse_first)
        return web.Response(status=reply.status, body=reply.body, content_type=reply.content_type)
