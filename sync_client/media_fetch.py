"""Media the configuration names by content (``sha256:<hex>``), downloaded from the cloud into a cache.

The fetcher runs beside the configuration sync: it is told what the configuration in force needs, downloads
what the cache lacks (``GET /v1/media/{sha256}``, signed like every request, bounded by the kind's
``MAX_MEDIA_BYTES``), checks the bytes against the hash they are named by and writes them whole (a part
file, fsync, rename) on a worker thread, never on the event loop. Bytes that do not fit their hash are
refused and nothing in the cache changes. What cannot be had now is tried again (backing off while the
cloud is away, every interval otherwise), and ``on_fetched`` says when files arrived, so the cabinet can
switch to the new set only once it is complete and keep playing the last good one meanwhile. When all
that is needed is in, files no configuration needs any more are removed.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from sync_client.backoff import Sleep
from sync_client.cabinet_config import MAX_MEDIA_BYTES, CabinetConfig, media_hash
from sync_client.cloud_client import CloudClient, CloudRefused, CloudUnavailable
from sync_client.cloud_poll import CloudPoller

log = logging.getLogger(__name__)
MEDIA_PATH = "v1/media/"


class MediaMismatch(ValueError):
    """Downloaded bytes whose SHA-256 is not the one they were asked for by."""


@dataclass(frozen=True)
class MediaNeed:
    sha256: str
    kind: str  # image, video or audio: bounds the download

    @property
    def max_bytes(self) -> int:
        return MAX_MEDIA_BYTES[self.kind]


def needed_media(config: CabinetConfig) -> tuple[MediaNeed, ...]:
    """Every uploaded file the configuration names: its ads, its products' pictures, their narrations."""
    named: list[tuple[str, str]] = [(ad.url, ad.kind) for ad in config.ads]
    for product in config.products:
        named += [(m.url, m.kind) for m in product.media]
        named += [(n.audio_url, "audio") for n in product.narration if n.audio_url]
        named += [(n.video_url, "video") for n in product.narration if n.video_url]
    needs = {digest: MediaNeed(digest, kind) for url, kind in named if (digest := media_hash(url))}
    return tuple(needs.values())


@dataclass(frozen=True)
class MediaCache:
    """Files under their SHA-256 in one directory (under the cabinet's data directory)."""

    directory: Path

    def path(self, sha256: str) -> Path:
        return self.directory / sha256

    def has(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def resolve(self, url: str) -> Path | None:
        """The cached file a ``sha256:`` reference names; None when it is not here (or ``url`` is no reference)."""
        digest = media_hash(url)
        return self.path(digest) if digest and self.has(digest) else None

    def store(self, sha256: str, data: bytes) -> Path:
        """Keep ``data`` under its hash, whole or not at all; MediaMismatch (nothing written) when it is not
        the content of ``sha256``. Blocking: call it on a worker thread."""
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha256:
            raise MediaMismatch(f"sha256:{sha256[:12]}…: the cloud sent {len(data)} bytes hashing to {actual[:12]}…")
        self.directory.mkdir(parents=True, exist_ok=True)
        path, partial = self.path(sha256), self.directory / f"{sha256}.{os.getpid()}.part"
        with open(partial, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, path)
        return path

    def prune(self, keep: Iterable[str]) -> None:
        """Remove every file (and left-over part file) whose hash is not in ``keep``. Blocking."""
        kept = set(keep)
        for path in self.directory.glob("*") if self.directory.is_dir() else ():
            if path.name not in kept:
                path.unlink(missing_ok=True)


class MediaFetcher(CloudPoller):
    """Downloads what the configuration in force needs; ``failures`` says what could not be had and why."""

    def __init__(
        self,
        client: CloudClient,
        cache: MediaCache,
        on_fetched: Callable[[], None] = lambda: None,
        on_failures: Callable[[dict[str, str]], None] = lambda failures: None,
        *,
        interval_s: float = 60.0,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        super().__init__(self.fetch, "media download failed", interval_s=interval_s, sleep=sleep)
        self.client = client
        self.cache = cache
        self.on_fetched = on_fetched  # files arrived: the cabinet may switch to the complete set
        self.on_failures = on_failures  # after each round: what could not be downloaded ({} when all is well)
        self.wanted: tuple[MediaNeed, ...] = ()
        self.failures: dict[str, str] = {}  # sha256 -> why its last download failed

    def want(self, needs: Iterable[MediaNeed]) -> None:
        """What the configuration in force needs (replacing what the previous one needed); fetched at once."""
        self.wanted = tuple(needs)
        self.failures = {k: v for k, v in self.failures.items() if k in {n.sha256 for n in self.wanted}}
        self.poke()

    def missing(self) -> tuple[MediaNeed, ...]:
        return tuple(n for n in self.wanted if not self.cache.has(n.sha256))

    async def fetch(self) -> int:
        """Download every missing file once; the number that arrived. Raises CloudUnavailable (after trying
        them all) while the cloud cannot be reached, so the poll backs off; a refusal is kept in ``failures``
        and tried again at the next interval (the retailer may upload it meanwhile)."""
        arrived, unavailable = 0, None
        for need in self.missing():
            try:
                data = await self.client.download(MEDIA_PATH + need.sha256, need.max_bytes)
                await asyncio.to_thread(self.cache.store, need.sha256, data)
            except CloudUnavailable as exc:
                unavailable = exc
                self.failures[need.sha256] = str(exc)
            except (CloudRefused, MediaMismatch, OSError) as exc:
                self.failures[need.sha256] = str(exc)
                log.error("media not downloaded", extra={"sha256": need.sha256, "error": str(exc)})
            else:
                arrived += 1
                self.failures.pop(need.sha256, None)
                log.info("media downloaded", extra={"sha256": need.sha256, "bytes": len(data)})
        if arrived:
            self.on_fetched()
        self.on_failures(dict(self.failures))
        if not self.missing():
            await asyncio.to_thread(self.cache.prune, [n.sha256 for n in self.wanted])
        if unavailable is not None:
            raise unavailable
        return arrived
