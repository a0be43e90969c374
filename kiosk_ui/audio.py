"""The touchscreen's loudspeaker: plays one sound file at a time through pygame.mixer.

A cabinet without a sound device (no card, a driver that will not open) plays nothing: ``play`` answers
False, so the caller shows subtitles only; the missing device is logged once, never raised.
``SDL_AUDIODRIVER`` chooses the driver as for any SDL program ("dummy" plays into nothing, for tests).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pygame

log = logging.getLogger(__name__)


class MixerAudio:
    def __init__(self) -> None:
        self.problem: str | None = None  # why there is no sound, once found out
        self._sound: pygame.mixer.Sound | None = None

    def _ready(self) -> bool:
        import pygame  # here, not at import: the kiosk's commands (selftest, status) build no screen

        if self.problem is not None:
            return False
        if pygame.mixer.get_init():
            return True
        try:
            pygame.mixer.init()
        except pygame.error as exc:
            self.problem = str(exc) or "no audio device"
            log.warning("no sound: narrations show subtitles only", extra={"error": self.problem})
            return False
        return True

    def play(self, path: str, volume: float) -> bool:
        """Start path at volume (0..1), replacing what plays; False when nothing can be heard."""
        self.stop()
        if not self._ready():
            return False
        import pygame

        try:
            sound = pygame.mixer.Sound(path)
        except (pygame.error, FileNotFoundError) as exc:
            log.error("sound not played", extra={"path": path, "error": str(exc)})
            return False
        sound.set_volume(volume)
        sound.play()
        self._sound = sound
        return True

    @property
    def busy(self) -> bool:
        """A sound is playing (on the device, or into SDL's dummy driver)."""
        import pygame

        return bool(pygame.mixer.get_init()) and pygame.mixer.get_busy()

    def stop(self) -> None:
        if self._sound is not None:
            self._sound.stop()
            self._sound = None
