"""What the provider emulators share: their aiohttp application served on loopback, their notifier, and being
``down`` (no answer at all). ``serve`` also serves the tests' merchant endpoint."""

from __future__ import annotations

from aiohttp import web

from cloud_stub.payments.emulators.delivery import Notifier


async def serve(app: web.Application, host: str = "127.0.0.1", port: int = 0) -> tuple[web.AppRunner, str]:
    """The running app's runner (``cleanup()`` stops it) and its base URL; port 0 takes an ephemeral port."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    bound = runner.addresses[0]
    return runner, f"http://{bound[0]}:{bound[1]}"


class ServedEmulator:
    """The base of an emulator: ``app()`` is its routes; ``notifier`` sends its notifications on ``retries_s``."""

    def __init__(self, retries_s: tuple[float, ...]) -> None:
        self.notifier = Notifier(retries_s)
        self.down = False  # True: requests get no answer (the connection is dropped): "unreachable"
        self._runner: web.AppRunner | None = None
        self.url = ""

    def app(self) -> web.Application:
        raise NotImplementedError

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._runner, self.url = await serve(self.app(), host, port)
        return self.url

    async def stop(self) -> None:
        await self.notifier.stop()
        if self._runner is not None:
            await self._runner.cleanup()

    def _drop_if_down(self, request: web.Request) -> None:
        """While ``down``, the request gets no answer at all, as when the network to the provider is down."""
        if self.down:
            assert request.transport is not None
            request.transport.abort()
            raise web.HTTPServiceUnavailable()
