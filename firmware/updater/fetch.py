"""The network under python-tuf's client: aiohttp on the cabinet's event loop, TUF on a worker thread.

python-tuf's ``Updater`` is synchronous: it runs on a worker thread, where its verification and hashing keep
off the loop that draws the screen; it asks this fetcher for bytes, which hands each read to the event loop
(aiohttp) and waits for it. Between two chunks it waits while the cabinet is busy (a shopper, an open door),
so a download started while idle pauses rather than competes with a journey, and it counts the bytes for the
service menu's progress.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

import aiohttp
from tuf.api.exceptions import DownloadError, DownloadHTTPError
from tuf.ngclient import FetcherInterface  # type: ignore[attr-defined]

from sync_client.progress import Progress, ProgressSink

CHUNK = 64 * 1024
T = TypeVar("T")


class LoopFetcher(FetcherInterface):
    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        session: aiohttp.ClientSession,
        may_download: Callable[[], bool],  # read on the loop: no journey, the door shut
        progress: ProgressSink | None = None,  # called on the loop
        idle_poll_s: float = 1.0,
        timeout_s: float = 60.0,
        stopped: Callable[[], bool] = lambda: False,  # the cabinet is stopping: give up the download
    ) -> None:
        self._stopped = stopped
        self._loop = loop
        self._session = session
        self._may_download = may_download
        self._progress = progress
        self._idle_poll_s = idle_poll_s
        self._timeout_s = timeout_s
        self.expect: tuple[str, int] | None = None  # (name, bytes) of the target being fetched, for progress

    def _on_loop(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def _fetch(self, url: str) -> Iterator[bytes]:
        response = self._on_loop(self._open(url))
        return self._chunks(url, response)

    def _chunks(self, url: str, response: aiohttp.ClientResponse) -> Iterator[bytes]:
        done = 0
        try:
            while True:
                self._on_loop(self._until_idle())
                chunk = self._on_loop(self._read(response))
                if not chunk:
                    return
                done += len(chunk)
                self._tell(done)
                yield chunk
        finally:
            self._loop.call_soon_threadsafe(response.release)

    async def _open(self, url: str) -> aiohttp.ClientResponse:
        await self._until_idle()
        try:
            response = await self._session.get(url, timeout=aiohttp.ClientTimeout(sock_read=self._timeout_s))
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise DownloadError(f"{url}: {exc or type(exc).__name__}") from exc
        if response.status != 200:
            response.release()
            raise DownloadHTTPError(f"{url}: HTTP {response.status}", response.status)
        return response

    async def _read(self, response: aiohttp.ClientResponse) -> bytes:
        try:
            return await response.content.read(CHUNK)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise DownloadError(f"{response.url}: {exc or type(exc).__name__}") from exc

    async def _until_idle(self) -> None:
        while not self._may_download():
            if self._stopped():
                raise DownloadError("the cabinet is stopping")
            await asyncio.sleep(self._idle_poll_s)
        if self._stopped():
            raise DownloadError("the cabinet is stopping")

    def _tell(self, done: int) -> None:
        if self._progress is None or self.expect is None:
            return
        name, total = self.expect
        self._loop.call_soon_threadsafe(self._progress, Progress(f"download {name}", min(done, total), total, "bytes"))
