"""Door snapshots on the cabinet: bounded on disk, and a thumbnail of each sent to the cloud once.

The firmware saves a JPEG at every door event as ``DATA_DIR/snapshots/<YYYYMMDDTHHMMSS>-<kind>-<sale_id|none>.jpg``
(UTC). ``SnapshotStore`` keeps that folder within a size and an age limit, oldest first.
``SnapshotUploader`` sends a small thumbnail of each file to ``PUT /v1/snapshots/{name}`` (signed
like every device request: the name is in the path, so it is signed too) and remembers what the
cloud took in a sidecar SQLite file, so a restart does not send anything twice; the cloud stores
each (cabinet, name) once, so a retry after a lost answer is harmless as well.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import sqlite3
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sync_client.backoff import Sleep, poll_forever
from sync_client.cloud_client import CloudClient, CloudRefused, CloudUnavailable
from sync_client.outbox import STORAGE_ERRORS

# The snapshot name is part of the wire contract (the cloud parses it too), so it lives in the schema;
# the cabinet's code and tests keep importing it from here (re-exported: "x as x").
from sync_client.schema import SNAPSHOT_NAME_RE as SNAPSHOT_NAME_RE
from sync_client.schema import SnapshotNameError as SnapshotNameError
from sync_client.schema import parse_snapshot_name as parse_snapshot_name
from sync_client.schema import snapshot_name as snapshot_name
from sync_client.schema import utc_iso as utc_iso
from sync_client.store.migrations import PAGE_SIZE

if TYPE_CHECKING:
    import pygame

SNAPSHOTS_PATH = "v1/snapshots/"
DEFAULT_MAX_BYTES = 200 * 1024 * 1024
DEFAULT_MAX_AGE_S = 30 * 24 * 3600.0
THUMB_QUALITY = 85  # pygame's JPEG encoder (SDL_image) has this one quality
# The firmware writes a snapshot in place; a file this fresh may still be growing.
SETTLE_S = 2.0

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SnapshotFile:
    name: str
    directory: Path
    bytes: int
    mtime: float

    @property
    def path(self) -> Path:
        """Made when used (a file pruned or sent), not for every file at every look: pathlib interns each name
        it parses, and the interpreter's table of interned strings grows with them and never shrinks."""
        return self.directory / self.name


class SnapshotStore:
    """The snapshot folder, kept under ``max_bytes`` and ``max_age_s`` by ``prune``."""

    def __init__(
        self, directory: Path | str, *, max_bytes: int = DEFAULT_MAX_BYTES, max_age_s: float = DEFAULT_MAX_AGE_S
    ) -> None:
        if max_bytes < 0 or max_age_s < 0:
            raise ValueError("max_bytes and max_age_s must not be negative")
        self.dir = Path(directory)
        self.max_bytes = max_bytes
        self.max_age_s = max_age_s
        self.dir.mkdir(parents=True, exist_ok=True)

    def files(self) -> list[SnapshotFile]:
        """The snapshots on disk, oldest first (by modification time, then name); other files are ignored."""
        found = []
        try:
            entries = os.scandir(self.dir)
        except FileNotFoundError:  # removed by hand while running: nothing to send or prune
            return []
        with entries:
            for entry in entries:
                if not SNAPSHOT_NAME_RE.fullmatch(entry.name):
                    continue
                try:
                    info = entry.stat()
                except FileNotFoundError:  # pruned or replaced meanwhile
                    continue
                if entry.is_file():
                    found.append(SnapshotFile(entry.name, self.dir, info.st_size, info.st_mtime))
        return sorted(found, key=lambda f: (f.mtime, f.name))

    def prune(self, *, now: float | None = None) -> list[str]:
        """Delete snapshots older than ``max_age_s``, then the oldest until the rest fit in ``max_bytes``.
        Returns the names deleted. Uploaded or not: the disk must not fill up under the sales database."""
        now = time.time() if now is None else now
        files = self.files()
        total = sum(f.bytes for f in files)
        deleted = []
        for f in files:
            if now - f.mtime <= self.max_age_s and total <= self.max_bytes:
                break
            try:
                f.path.unlink()
            except FileNotFoundError:
                pass
            total -= f.bytes
            deleted.append(f.name)
        if deleted:
            log.info("pruned snapshots", extra={"deleted": len(deleted), "kept_bytes": total})
        return deleted


def make_thumbnail(jpeg: bytes, width: int) -> bytes:
    """The JPEG scaled down to ``width`` pixels wide (aspect kept; never scaled up), re-encoded (quality
    THUMB_QUALITY, 4:2:0). Raises ValueError for data that does not decode.

    pygame (SDL_image's libjpeg), which the touchscreen has loaded anyway, rather than numpy and simplejpeg:
    numpy alone would cost the cabinet about 12 MB resident for a thumbnail."""
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")  # pygame greets on stdout when imported
    import pygame

    # libjpeg only warns about a file that stops short (and pads it with grey): a torn file is refused here.
    if not jpeg.startswith(b"\xff\xd8") or not jpeg.rstrip(b"\x00").endswith(b"\xff\xd9"):
        raise ValueError("not a whole JPEG (no start or no end of image marker)")
    try:
        image = pygame.image.load(io.BytesIO(jpeg), "snapshot.jpg")
    except (pygame.error, ValueError) as exc:
        raise ValueError(f"not a readable JPEG: {exc}") from exc
    if image.get_bitsize() < 24:  # a grey JPEG loads as 8-bit; the smooth scaler needs 24 or 32
        rgb = pygame.Surface(image.get_size(), depth=24)
        rgb.blit(image, (0, 0))
        image = rgb
    src_w, src_h = image.get_size()
    if src_w > width:
        image = pygame.transform.smoothscale(image, (width, max(1, round(src_h * width / src_w))))
    return save_jpeg(image)


# In RAM where the system has it (Linux: /dev/shm), so a thumbnail passing through costs the SD card nothing.
RAM_DIR = "/dev/shm" if os.path.isdir("/dev/shm") else None


def save_jpeg(surface: pygame.Surface) -> bytes:
    """pygame's JPEG of a surface, through a file in RAM: pygame-ce (2.5.8) keeps every file object it saved to
    (and its bytes) for good, about 500 bytes even once closed; a path leaves nothing behind. (The same as
    hal.sim.test_card.save_jpeg: sync_client and hal share no code.)"""
    import pygame

    fd, path = tempfile.mkstemp(suffix=".jpg", dir=RAM_DIR)
    try:
        os.close(fd)
        pygame.image.save(surface, path)
        with open(path, "rb") as fh:
            return fh.read()
    finally:
        os.unlink(path)


_STATE_DDL = """
CREATE TABLE IF NOT EXISTS snapshot_uploads (
    name TEXT PRIMARY KEY,
    done_at TEXT NOT NULL,
    outcome TEXT NOT NULL        -- 'uploaded', or why the cloud or the decoder refused it for good
);
"""


@dataclass
class SnapshotUploadStatus:
    uploaded_total: int = 0
    refused_total: int = 0  # refused for good (bad file, cloud said no): not retried
    last_refusal: str | None = None
    consecutive_failures: int = 0
    last_error: str | None = None
    last_success_at: float | None = None  # time.time()


class SnapshotUploader:
    """Sends a thumbnail of every snapshot not yet sent. ``state_path`` (default: ``.uploads.sqlite3``
    in the snapshot folder) remembers what is done across restarts."""

    def __init__(
        self,
        store: SnapshotStore,
        client: CloudClient,
        *,
        thumb_width: int = 320,
        state_path: Path | str | None = None,
        backoff_initial_s: float = 1.0,
        backoff_max_s: float = 300.0,
        settle_s: float = SETTLE_S,
        clock: Callable[[], float] = time.time,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if thumb_width < 16:
            raise ValueError(f"thumb_width: expected at least 16 pixels, got {thumb_width}")
        self.store = store
        self.client = client
        self.thumb_width = thumb_width
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.settle_s = settle_s
        self.clock = clock  # wall time: what is settled, and when it was sent
        self._sleep = sleep  # the interval and the backoff wait on it (the firmware passes its clock's)
        self.status = SnapshotUploadStatus()
        self._poke = asyncio.Event()
        self._unsettled = 0  # fresh files the last pass left for later
        self._recheck: asyncio.Task[None] | None = None
        self._db = sqlite3.connect(
            str(state_path or store.dir / ".uploads.sqlite3"), isolation_level=None, check_same_thread=False
        )
        self._db.execute(f"PRAGMA page_size={PAGE_SIZE}")  # a new file: a record is a small frame in the WAL
        # Only this connection uses the file: the WAL index lives in its memory, not in a -shm file whose pages
        # the kernel would write back to the card after every record.
        self._db.execute("PRAGMA locking_mode=EXCLUSIVE")
        self._db.execute("PRAGMA journal_mode=WAL")
        # No fsync per upload: a record lost in a power cut only sends that thumbnail again (the cloud keeps one).
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_STATE_DDL)

    def poke(self) -> None:
        """Upload now rather than at the next interval (e.g. right after a snapshot was saved)."""
        self._poke.set()

    def done_names(self) -> set[str]:
        return {row[0] for row in self._db.execute("SELECT name FROM snapshot_uploads")}

    async def run(self, stop: asyncio.Event, interval_s: float = 30.0) -> None:
        """Prune and upload every ``interval_s`` until ``stop``; back off while the cloud is unreachable."""

        async def step() -> None:
            await asyncio.to_thread(self.store.prune)
            await self.upload_pending()
            if self._unsettled:  # a photo just taken: send it once it has settled, not at the next interval
                self._recheck = self._recheck or asyncio.get_running_loop().create_task(self._poke_when_settled())

        def on_result(exc: Exception | None) -> None:
            if exc is None:
                self.status.consecutive_failures = 0
                self.status.last_error = None
                return
            self.status.consecutive_failures += 1
            self.status.last_error = str(exc)
            log.warning(
                "snapshot upload failed, retrying",
                extra={"error": str(exc), "failures": self.status.consecutive_failures},
            )

        await poll_forever(
            step,
            stop,
            self._poke,
            interval_s=interval_s,
            backoff_initial_s=self.backoff_initial_s,
            backoff_max_s=self.backoff_max_s,
            errors=(CloudUnavailable, CloudRefused, *STORAGE_ERRORS),
            on_result=on_result,
            sleep=self._sleep,
        )

    async def _poke_when_settled(self) -> None:
        await self._sleep(self.settle_s)
        self._recheck = None
        self._poke.set()

    def close(self) -> None:
        """Close the record of what was sent (the client is the caller's: it is shared with the rest)."""
        self._db.close()

    async def upload_pending(self) -> int:
        """Send every settled snapshot not yet done, oldest first; returns how many the cloud took.
        Raises CloudUnavailable (try later) or CloudRefused 401/403 (the key or the clock, not the file)."""
        files = await asyncio.to_thread(self.store.files)
        self._forget_missing([f.name for f in files])
        done = self.done_names()
        cutoff = self.clock() - self.settle_s
        sent = 0
        self._unsettled = sum(1 for f in files if f.name not in done and f.mtime > cutoff)
        for f in files:
            if f.name in done or f.mtime > cutoff:
                continue
            try:
                thumb = await asyncio.to_thread(self._thumbnail, f.path)
            except FileNotFoundError:  # pruned meanwhile
                continue
            except ValueError as exc:  # a torn or corrupt file: sending it again will not help
                self._finish(f.name, f"refused: not a readable JPEG ({exc})")
                continue
            try:
                await self.client.request(
                    "PUT", SNAPSHOTS_PATH + f.name, raw=thumb, headers={"Content-Type": "image/jpeg"}, ok=(200, 201)
                )
            except CloudRefused as exc:
                if exc.status in (401, 403):
                    raise
                self._finish(f.name, f"refused: {exc}")
                continue
            self._finish(f.name, "uploaded")
            sent += 1
        return sent

    def _thumbnail(self, path: Path) -> bytes:
        return make_thumbnail(path.read_bytes(), self.thumb_width)

    def _finish(self, name: str, outcome: str) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO snapshot_uploads (name, done_at, outcome) VALUES (?, ?, ?)",
            (name, utc_iso(self.clock()), outcome),
        )
        if outcome == "uploaded":
            self.status.uploaded_total += 1
            self.status.last_success_at = self.clock()
        else:
            self.status.refused_total += 1
            self.status.last_refusal = f"{name}: {outcome}"
            log.error("snapshot refused for good; not retried", extra={"file": name, "outcome": outcome})

    def _forget_missing(self, on_disk: list[str]) -> None:
        """Drop the records of pruned files, so the table stays as small as the folder."""
        self._db.execute(
            "DELETE FROM snapshot_uploads WHERE name NOT IN (SELECT value FROM json_each(?))", (json.dumps(on_disk),)
        )
