"""A photo at every door open and close (and alarm), kept under a size and age limit and uploaded as a
thumbnail that only the cabinet's retailer can see (the uploader takes them from ``directory``)."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from firmware.clock import Clock
from firmware.presenters import Spawn
from hal.camera import Camera
from hal.errors import DeviceFault
from sync_client.schema import snapshot_name

log = logging.getLogger(__name__)


@dataclass
class DoorSnapshots:
    camera: Camera | None  # None: a cabinet without one takes no photos
    directory: Path
    clock: Clock  # names the photo by the wall time it was taken
    spawn: Spawn  # the photo is taken off the caller's path, as a supervised task
    on_fault: Callable[[DeviceFault], None]
    on_saved: Callable[[], None] = lambda: None  # a new photo to upload

    def __post_init__(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)

    def take(self, kind: str, ref: str | None) -> None:
        """A photo of the door now: ``kind`` ("opened", "closed", an alarm), ``ref`` (a sale's id) in its name."""
        if self.camera is not None:
            self.spawn(self._take(self.camera, kind, ref), "snapshot")

    async def _take(self, camera: Camera, kind: str, ref: str | None) -> None:
        try:
            jpeg = await camera.snapshot()
        except DeviceFault as exc:
            self.on_fault(exc)
            return
        name = snapshot_name(kind, ref, self.clock.time())
        await asyncio.to_thread(_write_atomically, self.directory / name, jpeg)
        log.info("snapshot saved", extra={"file": name, "bytes": len(jpeg)})
        self.on_saved()


def _write_atomically(path: Path, data: bytes) -> None:
    """The uploader never sees half a file: write beside it, then rename."""
    partial = path.with_name(path.name + ".part")
    partial.write_bytes(data)
    os.replace(partial, path)
