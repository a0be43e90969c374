"""The retailer's narration as compressed audio or as a video: made with PyAV in the test (a few frames of a
solid colour, a sine tone), uploaded into the media cache, played by a whole Cabinet on a fake clock, drawn
by the real touchscreen on SDL's dummy drivers (its pixels read back)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
import wave
from pathlib import Path

import pygame
import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware import narration_media
from firmware.clock import FakeClock
from firmware.narration import NarrationLibrary, SpeechCache
from firmware.narration_media import DecodeError, decode_recording
from kiosk_ui.app import KioskUi
from kiosk_ui.intents import Back, Listen, SelectProduct, Start
from kiosk_ui.narration_video import THREAD_NAME, VideoPlayback
from kiosk_ui.view import AttractScreen, ProductScreen, VideoClip
from sync_client.cabinet_config import CabinetConfig, ConfigInvalid, ConfigProduct, NarrationSource, Text
from sync_client.cabinet_config import parse_config as parse_cloud
from sync_client.media_fetch import MediaCache, MediaNeed, needed_media
from tests.firmware.cabinet_rig import Cabinets, until
from tests.media_files import BLUE, GREEN, RED, uploaded, write_media

TEXT = "Meet the Volt S1. It folds in three seconds."


def scooter(source: NarrationSource, sku: str = "SCOOT-S1") -> ConfigProduct:
    return ConfigProduct(sku, Text.plain("Volt S1"), 49900, "EUR", narration=(source,))


@pytest.fixture
async def rig(tmp_path, monkeypatch):
    monkeypatch.setenv("SDL_AUDIODRIVER", "dummy")
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    pygame.mixer.quit()
    (tmp_path / "cabinet").mkdir()
    cabinets = Cabinets(tmp_path / "cabinet", clock=FakeClock(wall_at_start=dt.datetime(2026, 5, 4, 12, 0).timestamp()))
    yield cabinets
    if cabinets.cabinet is not None:
        await cabinets.cut()
    pygame.mixer.quit()


@pytest.fixture
def screen(rig):
    ui = KioskUi((1024, 600), on_intent=lambda intent: None)
    ui.start()
    yield ui
    ui.close()
    for thread in decoders():  # closed with the screen: each ends after the picture it is decoding
        thread.join(timeout=5)


def decoders() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == THREAD_NAME and t.is_alive()]


async def configured(cabinets: Cabinets, *products: ConfigProduct):
    cabinet = cabinets.cabinet or await cabinets.boot()
    cabinet.apply_cloud_config(CabinetConfig(2, "EUR", products, retailer=cabinets.retailer))
    await until(lambda: not [t for t in cabinet._tasks if t.get_name() == "narration"], timeout=30, what="narrations")
    return cabinet


def colour_at(ui: KioskUi, widget_id: str) -> tuple[int, int, int]:
    """The pixel at the centre of a widget, as drawn."""
    ui.settle()
    rect = pygame.Rect(next(w.rect for w in ui.widgets() if w.id == widget_id))
    surface = pygame.display.get_surface()
    assert surface is not None
    return tuple(surface.get_at(rect.center))[:3]  # type: ignore[return-value]


def near(colour: tuple[int, int, int], want: tuple[int, int, int]) -> bool:
    return all(abs(a - b) <= 24 for a, b in zip(colour, want, strict=True))  # the codec's rounding


@pytest.mark.parametrize(("suffix", "codec"), [("ogg", "libopus"), ("mp3", "libmp3lame"), ("m4a", "aac")])
async def test_compressed_audio_is_transcoded_once_and_subtitled_over_its_real_length(tmp_path, suffix, codec):
    media = MediaCache(tmp_path / "media")
    ref = uploaded(media, write_media(tmp_path / f"voice.{suffix}", audio=codec, seconds=1.5))
    library = NarrationLibrary(SpeechCache(tmp_path / "speech", "no-espeak"), tmp_path / "assets", media=media)
    product = scooter(NarrationSource("en", TEXT, ref))
    await library.prepare([product])
    narration = library.get("SCOOT-S1", "en")
    assert narration is not None and narration.path is not None and narration.video is None
    assert narration.path.parent == tmp_path / "speech", "the WAV sits beside the synthesized voices"
    with wave.open(str(narration.path)) as wav:
        assert wav.getsampwidth() == 2 and wav.getnframes() / wav.getframerate() == pytest.approx(1.5, abs=0.05)
    assert narration.duration_s == pytest.approx(1.5, abs=0.05)
    assert [s.text for s in narration.segments] == ["Meet the Volt S1.", "It folds in three seconds."]
    assert narration.segments[-1].end_s == pytest.approx(narration.duration_s)
    made = narration.path.stat().st_mtime_ns
    await library.prepare([product])  # the configuration again: the WAV is not made again
    again = library.get("SCOOT-S1", "en")
    assert again is not None and again.path == narration.path and narration.path.stat().st_mtime_ns == made


async def test_a_wav_the_wave_module_cannot_read_is_transcoded_too(tmp_path):
    media = MediaCache(tmp_path / "media")
    ref = uploaded(media, write_media(tmp_path / "float.wav", audio="pcm_f32le", seconds=1.0))
    library = NarrationLibrary(SpeechCache(tmp_path / "speech", "no-espeak"), tmp_path / "assets", media=media)
    await library.prepare([scooter(NarrationSource("en", TEXT, ref))])
    narration = library.get("SCOOT-S1", "en")
    assert narration is not None and narration.path is not None and narration.path.parent == tmp_path / "speech"
    with wave.open(str(narration.path)) as wav:
        assert wav.getsampwidth() == 2, "16-bit, as the mixer plays it"
    assert narration.duration_s == pytest.approx(1.0, abs=0.05)


async def test_the_product_page_shows_the_video_with_its_sound_and_subtitles_over_its_length(rig, screen):
    cabinet = await rig.boot()
    video = write_media(rig.tmp_path / "film.mp4", video="libx264", audio="aac", seconds=1.2, colour=RED)
    cabinet = await configured(rig, scooter(NarrationSource("en", TEXT, video_url=uploaded(cabinet.media, video))))
    cabinet.on_view = screen.set_state
    cabinet.handle_intent(Start())
    cabinet.handle_intent(SelectProduct("SCOOT-S1"))
    cabinet.handle_intent(Listen())
    view = cabinet.view_state()
    assert isinstance(view, ProductScreen) and view.narration is not None
    assert view.narration.playing and view.narration.sound and cabinet.audio.busy, "its sound plays"
    assert view.narration.video is not None and view.narration.subtitle == "Meet the Volt S1."
    assert near(colour_at(screen, "narration_video"), RED), "the video's picture is on the product page"
    assert "spinner" not in {w.id for w in screen.widgets()}, "in the 360° view's place"

    narration = cabinet.narration.library.get("SCOOT-S1", "en")
    assert narration is not None and narration.duration_s == pytest.approx(1.2, abs=0.05)
    rig.clock.advance(narration.segments[1].start_s + 0.01)
    assert cabinet.view_state().narration.subtitle == "It folds in three seconds."
    assert "subtitles" in {w.id for w in screen.widgets()} and len(decoders()) <= 1
    rig.clock.advance(narration.duration_s - narration.segments[1].start_s)
    view = cabinet.view_state()
    assert not view.narration.playing and view.narration.video is None, "it ends with its sound"
    assert "narration_video" not in {w.id for w in screen.widgets()}
    await until(lambda: not decoders(), what="the decoder thread ended")


async def test_leaving_the_product_stops_the_sound_and_the_decoding(rig, screen):
    cabinet = await rig.boot()
    video = write_media(rig.tmp_path / "film.webm", video="libvpx", audio="libopus", seconds=3, colour=BLUE)
    cabinet = await configured(rig, scooter(NarrationSource("en", TEXT, video_url=uploaded(cabinet.media, video))))
    cabinet.on_view = screen.set_state
    cabinet.handle_intent(Start())
    cabinet.handle_intent(SelectProduct("SCOOT-S1"))
    cabinet.handle_intent(Listen())
    assert near(colour_at(screen, "narration_video"), BLUE) and decoders() and cabinet.audio.busy
    cabinet.handle_intent(Back())
    assert screen.screen_id != "product"
    assert cabinet.narration.player.playing is None and not cabinet.audio.busy, "the sound stopped"
    await until(lambda: not decoders(), what="the decoder thread ended")


async def test_the_attract_loop_plays_the_video_muted_with_subtitles(rig, screen):
    rig.config.audio = dataclasses.replace(rig.config.audio, attract_narration=True)
    cabinet = await rig.boot()
    video = write_media(rig.tmp_path / "film.webm", video="libvpx", audio="libopus", seconds=1, colour=BLUE)
    cabinet = await configured(rig, scooter(NarrationSource("en", TEXT, video_url=uploaded(cabinet.media, video))))
    cabinet.on_view = screen.set_state
    cabinet.refresh()
    view = cabinet.view_state()
    assert isinstance(view, AttractScreen) and view.video is not None and view.subtitle == "Meet the Volt S1."
    playing = cabinet.narration.player.playing
    assert playing is not None and playing.muted and not playing.sound and not cabinet.audio.busy, "muted"
    assert near(colour_at(screen, "narration_video"), BLUE), "the video in place of the ads"
    assert {"subtitles", "start"} <= {w.id for w in screen.widgets()}
    cabinet.handle_intent(Start())
    assert cabinet.narration.player.playing is None
    await until(lambda: not decoders(), what="the decoder thread ended")


async def test_a_video_without_sound_shows_its_pictures_with_subtitles_over_its_length(rig, screen):
    cabinet = await rig.boot()
    video = write_media(rig.tmp_path / "film.webm", video="libvpx-vp9", seconds=0.8, colour=GREEN)
    cabinet = await configured(rig, scooter(NarrationSource("en", TEXT, video_url=uploaded(cabinet.media, video))))
    narration = cabinet.narration.library.get("SCOOT-S1", "en")
    assert narration is not None and narration.path is None and narration.duration_s == pytest.approx(0.8, abs=0.05)
    cabinet.on_view = screen.set_state
    cabinet.handle_intent(Start())
    cabinet.handle_intent(SelectProduct("SCOOT-S1"))
    cabinet.handle_intent(Listen())
    view = cabinet.view_state()
    assert view.narration.playing and not view.narration.sound and not cabinet.audio.busy
    assert near(colour_at(screen, "narration_video"), GREEN)
    rig.clock.advance(0.81)
    assert not cabinet.view_state().narration.playing


async def test_a_file_that_will_not_decode_is_logged_and_its_text_spoken(rig, caplog):
    cabinet = await rig.boot()
    broken = rig.tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)
    ref = uploaded(cabinet.media, broken)
    with caplog.at_level(logging.ERROR, logger="firmware.narration"):
        cabinet = await configured(rig, scooter(NarrationSource("en", TEXT, video_url=ref)))
    narration = cabinet.narration.library.get("SCOOT-S1", "en")
    assert narration is not None and narration.video is None, "spoken instead"
    assert narration.path is not None and narration.path.parent == rig.tmp_path / "narration"
    record = next(r for r in caplog.records if r.message.startswith("narration recording not played"))
    assert (record.sku, record.language) == ("SCOOT-S1", "en")  # type: ignore[attr-defined]
    assert "Invalid data" in record.error and not cabinet.faults  # type: ignore[attr-defined]


async def test_a_broken_file_without_a_text_leaves_the_product_silent_with_the_reason(tmp_path, caplog):
    media = MediaCache(tmp_path / "media")
    broken = tmp_path / "voice.ogg"
    broken.write_bytes(b"OggS" + bytes(500))
    library = NarrationLibrary(SpeechCache(tmp_path / "speech", "no-espeak"), tmp_path / "assets", media=media)
    with caplog.at_level(logging.ERROR, logger="firmware.narration"):
        await library.prepare([scooter(NarrationSource("en", "", uploaded(media, broken)))])
    assert library.ready == {}
    record = next(r for r in caplog.records if r.message == "narration not made")
    assert (record.sku, record.language) == ("SCOOT-S1", "en")  # type: ignore[attr-defined]
    assert "End of file" in record.error  # type: ignore[attr-defined]


async def test_pictures_follow_the_playback_clock_a_few_at_a_time(tmp_path):
    """Red for half a second, then blue: the picture shown is the one due by the clock, whatever the decoder
    has ready; it decodes no more than a few pictures ahead."""
    path = tmp_path / "ab.mkv"
    _two_colours(path)
    now = [100.0]
    playback = VideoPlayback(VideoClip(str(path)), (64, 48), started=100.0, clock=lambda: now[0])
    try:
        await until(lambda: playback.current() is not None, what="the first picture")
        assert near(tuple(playback.current().get_at((32, 24)))[:3], RED)  # type: ignore[union-attr]
        await until(lambda: playback.frames._pictures.full(), what="the decoder ahead of the screen")
        assert playback.frames._pictures.qsize() == 3 and playback.frames.thread.is_alive(), "waits, bounded"
        assert near(tuple(playback.current().get_at((32, 24)))[:3], RED), "not due yet"  # type: ignore[union-attr]
        now[0] = 100.75
        await until(
            lambda: near(tuple(playback.current().get_at((32, 24)))[:3], BLUE),  # type: ignore[union-attr]
            what="the picture due at 0.75 s",
        )
        assert playback.next_due(now[0]) is not None
    finally:
        playback.close()
    await until(lambda: not playback.frames.thread.is_alive(), what="the decoder stopped")


def _two_colours(path: Path) -> None:
    import av
    import numpy as np

    with av.open(str(path), "w") as out:
        stream = out.add_stream("libvpx", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(10):
            pixels = np.full((48, 64, 3), RED if i < 5 else BLUE, np.uint8)
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


BASE = {"config_schema": 1, "version": 1, "currency": "EUR"}


def test_a_video_narration_in_the_cloud_document_is_checked() -> None:
    ref = "sha256:" + "ab" * 32
    good = {"sku": "A", "name": "A", "price_cents": 100, "narration": {"en": {"text": "Hi.", "video_url": ref}}}
    config = parse_cloud({**BASE, "products": [good]})
    assert config.products[0].narration == (NarrationSource("en", "Hi.", video_url=ref),)
    assert parse_cloud(config.to_json()) == config
    assert needed_media(config) == (MediaNeed("ab" * 32, "video"),), "downloaded within the video bound"
    spoken = parse_cloud({**BASE, "products": [{**good, "narration": {"en": {"text": "Hi."}}}]})
    assert "video_url" not in spoken.to_json()["products"][0]["narration"]["en"], "absent for older cabinets"
    bad = {
        **good,
        "sku": "B",
        "narration": {"en": {"audio_url": "a.ogg", "video_url": "a.mp4"}, "zh": {"video_url": "../film.mp4"}},
    }
    with pytest.raises(ConfigInvalid) as error:
        parse_cloud({**BASE, "products": [good, bad]})
    assert error.value.problems[0].startswith("products[1].narration.en: expected an audio_url or a video_url, not")
    assert any(p.startswith("products[1].narration.zh.video_url: expected") for p in error.value.problems)
    assert len(error.value.problems) == 2


URLS = st.sampled_from(["", "film.mp4", "sha256:" + "0" * 64, "sha256:xyz", "/etc/passwd", "https://x/y.webm"])


@given(st.dictionaries(st.sampled_from(["text", "audio_url", "video_url", "other"]), URLS | st.integers(), max_size=4))
def test_any_narration_source_is_accepted_or_refused_with_its_field_named(source) -> None:
    document = {**BASE, "products": [{"sku": "A", "name": "A", "price_cents": 100, "narration": {"zh": source}}]}
    try:
        config = parse_cloud(document)
    except ConfigInvalid as error:
        assert all(p.startswith("products[0].narration.zh") for p in error.problems), error.problems
    else:
        assert parse_cloud(config.to_json()) == config
        (narration,) = config.products[0].narration
        assert not (narration.audio_url and narration.video_url)


def test_a_recording_longer_than_the_bound_is_refused_naming_its_length(tmp_path, monkeypatch) -> None:
    path = write_media(tmp_path / "long.webm", video="libvpx", audio="libopus", seconds=2, fps=2)
    monkeypatch.setattr(narration_media, "MAX_NARRATION_S", 1.0)  # ten minutes of WAV is too slow to make here
    with pytest.raises(DecodeError, match="2 s long, above 1 s"):
        decode_recording(path, tmp_path, want_video=True)
    assert not list(tmp_path.glob("*.wav")), "no WAV made"
