"""A narration recording uploaded to the cloud (``audio_url: sha256:<hex>``) plays from the media cache once
the fetcher has it; until then the narration's text is spoken instead."""

from __future__ import annotations

import hashlib
import io
import wave
from pathlib import Path

import pytest

from firmware.narration import NarrationLibrary, SpeechCache
from sync_client.cabinet_config import CabinetConfig, ConfigProduct, NarrationSource, Text, media_ref
from sync_client.media_fetch import MediaCache, MediaNeed, needed_media

ESPEAK = "espeak-ng"


def recording(seconds: float = 1.5) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1), wav.setsampwidth(2), wav.setframerate(8000)
        wav.writeframes(bytes(int(8000 * seconds) * 2))
    return out.getvalue()


@pytest.fixture
def library(tmp_path: Path) -> tuple[NarrationLibrary, MediaCache]:
    media = MediaCache(tmp_path / "media")
    return NarrationLibrary(SpeechCache(tmp_path / "speech", ESPEAK), tmp_path / "assets", media=media), media


async def test_an_uploaded_recording_plays_from_the_cache_once_it_is_downloaded(library) -> None:
    lib, media = library
    wav = recording()
    digest = hashlib.sha256(wav).hexdigest()
    product = ConfigProduct(
        "SCOOT-S1", Text.plain("Volt S1"), 49900, "EUR",
        narration=(NarrationSource("en", "Foldable. Light.", media_ref(digest)),),
    )  # fmt: skip
    config = CabinetConfig(1, "EUR", (product,))
    assert needed_media(config) == (MediaNeed(digest, "audio"),), "the fetcher is asked for the recording"

    await lib.prepare([product])
    spoken = lib.get("SCOOT-S1", "en")
    assert spoken is not None and spoken.path.parent == lib.cache.directory, "meanwhile its text is spoken"

    media.store(digest, wav)
    await lib.prepare([product])
    played = lib.get("SCOOT-S1", "en")
    assert played is not None and played.path == media.path(digest)
    assert played.duration_s == pytest.approx(1.5) and [s.text for s in played.segments] == ["Foldable.", "Light."]
