"""CodeReader over a camera: grabs frames, decodes them off the event loop.

A shopper holds a phone up for a second or two, so the same code is in many
frames in a row, and a frame or two in between may be too blurred to read.
A code is reported once, and again only after it has been out of view for
``gone_after`` seconds.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Callable

from hal.camera_backends.frame_camera import FrameCamera
from hal.code_reader import CodeRead, CodeReader
from hal.qr_decode import QrDecoder, default_decoder


class CameraCodeReader(CodeReader):
    name = "camera-qr"

    def __init__(
        self,
        camera: FrameCamera,
        decoder: QrDecoder | None = None,
        *,
        gone_after: float = 1.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if gone_after <= 0:
            raise ValueError(f"gone_after must be positive seconds, got {gone_after}")
        self.camera = camera
        self.decoder = decoder
        self.gone_after = gone_after
        self._clock = clock
        self._last_seen: dict[str, float] = {}
        self._pending: collections.deque[str] = collections.deque()
        self._reading = asyncio.Lock()
        self._opened_camera = False

    @property
    def where(self) -> str:
        return f"{self.camera.name} ({type(self.camera).__name__})"

    @property
    def state(self) -> str:
        return "reading" if self.camera.is_open and self.decoder is not None else "closed"

    async def open(self) -> None:
        """Open the camera unless someone else already has (it is shared with
        snapshots), and load the decoder's libraries off the event loop."""
        if not self.camera.is_open:
            await self.camera.open()
            self._opened_camera = True
        if self.decoder is None:
            self.decoder = await asyncio.to_thread(default_decoder)

    async def close(self) -> None:
        if self._opened_camera:
            await self.camera.close()
            self._opened_camera = False

    async def read(self) -> CodeRead:
        async with self._reading:
            while not self._pending:
                await self._scan_one_frame()
            return CodeRead(self._pending.popleft(), symbology="qr", source="camera")

    async def _scan_one_frame(self) -> None:
        if self.decoder is None:
            raise RuntimeError("CameraCodeReader is not open; call open() first")
        frame = await self.camera.frame()
        texts = await asyncio.to_thread(self.decoder.decode, frame)
        now = self._clock()
        for text in dict.fromkeys(texts):  # one code read twice in a frame counts once
            seen = self._last_seen.get(text)
            if seen is None or now - seen > self.gone_after:
                self._pending.append(text)
            self._last_seen[text] = now
        for text, seen in list(self._last_seen.items()):
            if now - seen > self.gone_after:
                del self._last_seen[text]
