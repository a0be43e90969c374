"""Product narrations: real espeak-ng in a temp dir (counted through a wrapper that logs each run), a whole
Cabinet on a fake clock (SQLite on disk, mock pins), pygame's mixer on SDL's dummy driver or on none."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import shutil
import wave
from pathlib import Path

import pygame
import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware.clock import FakeClock
from firmware.config import AudioSection, AudioWindow, ConfigError, parse_config
from firmware.narration import sentences, volume_at
from kiosk_ui.audio import MixerAudio
from kiosk_ui.intents import Back, Listen, SelectProduct, Start
from kiosk_ui.view import AttractScreen, ProductScreen
from sync_client.cabinet_config import (
    CabinetConfig,
    ConfigInvalid,
    ConfigProduct,
    NarrationSource,
    Text,
)
from sync_client.cabinet_config import (
    parse_config as parse_cloud,
)
from tests.firmware.cabinet_rig import Cabinets, until

ESPEAK = shutil.which("espeak-ng") or "/usr/bin/espeak-ng"
EN = "Foldable city scooter with an aluminium frame. It rides thirty five kilometres! Folds in three seconds."
ZH = "可折叠城市电动滑板车。续航三十五公里！三秒折叠。"


def product(summary: str = EN, zh: str = ZH, sku: str = "SCOOT-S1") -> ConfigProduct:
    return ConfigProduct(
        sku, Text.plain("Volt S1"), 49900, "EUR", summary=Text.plain(summary), narration=(NarrationSource("zh", zh),)
    )


@pytest.fixture
def counting_espeak(tmp_path: Path) -> tuple[str, Path]:
    """espeak-ng itself, behind a script that appends a line per run to a log."""
    log = tmp_path / "espeak-runs.log"
    script = tmp_path / "espeak-counting"
    script.write_text(f'#!/bin/sh\necho run >> "{log}"\nexec {ESPEAK} "$@"\n')
    script.chmod(0o755)
    return str(script), log


def runs(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


@pytest.fixture
async def rig(tmp_path, counting_espeak, monkeypatch):
    monkeypatch.setenv("SDL_AUDIODRIVER", "dummy")
    pygame.mixer.quit()
    (tmp_path / "cabinet").mkdir()
    cabinets = Cabinets(tmp_path / "cabinet", clock=FakeClock(wall_at_start=dt.datetime(2026, 5, 4, 12, 0).timestamp()))
    cabinets.config.audio = dataclasses.replace(cabinets.config.audio, espeak=counting_espeak[0])
    yield cabinets
    if cabinets.cabinet is not None:
        await cabinets.cut()
    pygame.mixer.quit()


async def configured(cabinets: Cabinets, *products: ConfigProduct):
    cabinet = cabinets.cabinet or await cabinets.boot()
    before = dict(cabinet.narration.library.ready)
    cabinet.apply_cloud_config(CabinetConfig(2, "EUR", products, retailer=cabinets.retailer))
    want = {(p.sku, lang) for p in products for lang in ("en", "zh")}
    await until(
        lambda: (
            set(cabinet.narration.library.ready) == want
            and cabinet.narration.library.ready != before
            or (set(before) == want and not [t for t in cabinet._tasks if t.get_name() == "narration"])
        ),
        timeout=30,
        what="narrations made",
    )
    return cabinet


async def test_synthesis_speaks_the_products_text_in_english_and_chinese_into_wavs(rig, counting_espeak):
    cabinet = await configured(rig, product())
    library = cabinet.narration.library
    for language, text in (("en", EN), ("zh", ZH)):
        narration = library.get("SCOOT-S1", language)
        assert narration is not None and narration.path.parent == rig.tmp_path / "narration"
        with wave.open(str(narration.path)) as wav:
            assert wav.getnframes() / wav.getframerate() == pytest.approx(narration.duration_s)
        assert narration.duration_s > 1.5, "the whole text was spoken, not a blip"
        assert [s.text for s in narration.segments] == sentences(text) and len(narration.segments) == 3
        assert narration.segments[-1].end_s == pytest.approx(narration.duration_s)
    assert library.get("SCOOT-S1", "en").path != library.get("SCOOT-S1", "zh").path
    assert runs(counting_espeak[1]) == 2


async def test_an_unchanged_text_is_not_spoken_again_and_a_changed_one_is(rig, counting_espeak):
    cabinet = await configured(rig, product())
    assert runs(counting_espeak[1]) == 2
    first = cabinet.narration.library.get("SCOOT-S1", "en")
    await configured(rig, product())  # the same configuration arrives again (a new version, same texts)
    await until(lambda: not [t for t in cabinet._tasks if t.get_name() == "narration"], what="second pass done")
    assert runs(counting_espeak[1]) == 2, "nothing re-synthesized"
    changed = "A new description. Now with lights."
    await configured(rig, product(summary=changed))
    assert runs(counting_espeak[1]) == 3, "only the changed English text is spoken again"
    second = cabinet.narration.library.get("SCOOT-S1", "en")
    assert second.path != first.path and not first.path.exists(), "the old voice is removed from the cache"
    assert [s.text for s in second.segments] == ["A new description.", "Now with lights."]


def test_the_schedule_picks_the_volume_for_the_local_time() -> None:
    audio = AudioSection(
        volume=0.8,
        schedule=[AudioWindow("21:00", "07:00", 0.0), AudioWindow("12:00", "14:00", 0.3)],
    )
    at = lambda hh, mm: dt.datetime(2026, 5, 4, hh, mm)  # noqa: E731
    assert volume_at(audio, at(10, 0)) == 0.8
    assert volume_at(audio, at(12, 0)) == 0.3 and volume_at(audio, at(13, 59)) == 0.3
    assert volume_at(audio, at(14, 0)) == 0.8
    assert volume_at(audio, at(22, 30)) == 0.0 and volume_at(audio, at(6, 59)) == 0.0  # quiet hours over midnight
    assert volume_at(audio, at(7, 0)) == 0.8


def test_a_bad_schedule_is_refused_naming_the_key() -> None:
    with pytest.raises(ConfigError) as error:
        parse_config({"audio": {"schedule": [{"start": "25:00", "end": "07:00", "volume": 1.5}]}}, "kiosk.toml")
    problems = "\n".join(error.value.problems)
    assert "kiosk.toml: audio.schedule[0].volume: " in problems and "1.5" in problems
    with pytest.raises(ConfigError, match=r"audio.schedule\[0\].start: expected HH:MM, got '25:00'"):
        parse_config({"audio": {"schedule": [{"start": "25:00", "end": "07:00", "volume": 0.5}]}}, "kiosk.toml")


def test_a_narration_in_the_cloud_document_is_checked() -> None:
    base = {"config_schema": 1, "version": 1, "currency": "EUR"}
    good = {"sku": "A", "name": "A", "price_cents": 100, "narration": {"zh": {"text": "你好。"}}}
    config = parse_cloud({**base, "products": [good]})
    assert config.products[0].narration == (NarrationSource("zh", "你好。"),)
    assert parse_cloud(config.to_json()) == config
    bad = {**good, "narration": {"fr": {"text": "Bonjour."}, "en": {}, "zh": {"audio_url": "../x.wav"}}}
    with pytest.raises(ConfigInvalid) as error:
        parse_cloud({**base, "products": [bad]})
    assert set(error.value.problems) >= {
        "products[0].narration.fr: unknown language (known: en, zh)",
        "products[0].narration.en: expected a text, an audio_url or a video_url",
    }
    assert any(p.startswith("products[0].narration.zh.audio_url: ") for p in error.value.problems)


async def on_product(cabinet, sku: str = "SCOOT-S1") -> ProductScreen:
    cabinet.handle_intent(Start())
    cabinet.handle_intent(SelectProduct(sku))
    view = cabinet.view_state()
    assert isinstance(view, ProductScreen)
    return view


async def test_listen_plays_with_the_subtitle_due_now_and_leaving_the_product_stops_it(rig):
    cabinet = await configured(rig, product())
    clock = rig.clock
    audio = cabinet.audio
    assert isinstance(audio, MixerAudio)
    view = await on_product(cabinet)
    assert view.narration is not None and not view.narration.playing and view.narration.subtitle == ""
    cabinet.handle_intent(Listen())
    view = cabinet.view_state()
    assert view.narration.playing and view.narration.sound and audio.busy, "the dummy device plays it"
    assert view.narration.subtitle == "Foldable city scooter with an aluminium frame."
    segments = cabinet.narration.library.get("SCOOT-S1", "en").segments
    clock.advance(segments[1].start_s + 0.01)
    assert cabinet.view_state().narration.subtitle == "It rides thirty five kilometres!"
    clock.advance(segments[2].start_s - segments[1].start_s)
    assert cabinet.view_state().narration.subtitle == "Folds in three seconds."
    cabinet.handle_intent(Back())  # the shopper leaves the product
    assert not isinstance(cabinet.view_state(), ProductScreen)
    assert cabinet.narration.player.playing is None and not audio.busy, "the sound stopped"


async def test_quiet_hours_play_subtitles_only(rig):
    rig.config.audio = dataclasses.replace(rig.config.audio, schedule=[AudioWindow("11:00", "13:00", 0.0)])
    cabinet = await configured(rig, product())
    await on_product(cabinet)
    cabinet.handle_intent(Listen())
    view = cabinet.view_state()
    assert view.narration.playing and not view.narration.sound and not cabinet.audio.busy
    assert view.narration.subtitle == "Foldable city scooter with an aluminium frame."


async def test_with_no_audio_device_the_subtitles_run_and_it_is_reported_once(rig, monkeypatch, caplog):
    monkeypatch.setenv("SDL_AUDIODRIVER", "no-such-device")
    pygame.mixer.quit()
    cabinet = await configured(rig, product())
    await on_product(cabinet)
    with caplog.at_level(logging.WARNING, logger="kiosk_ui.audio"):
        for _ in range(3):
            cabinet.handle_intent(Listen())  # play, stop, play
        view = cabinet.view_state()
    assert view.narration.playing and not view.narration.sound
    assert view.narration.subtitle == "Foldable city scooter with an aluminium frame."
    assert [r.message for r in caplog.records] == ["no sound: narrations show subtitles only"]
    rig.clock.advance(cabinet.narration.library.get("SCOOT-S1", "en").duration_s)
    assert not cabinet.view_state().narration.playing, "it ends on time without a device"


async def test_the_attract_loop_plays_the_narrations_muted_with_subtitles(rig):
    rig.config.audio = dataclasses.replace(rig.config.audio, attract_narration=True)
    bike = product(summary="A step-through e-bike. Seven gears.", zh="电动自行车。", sku="BIKE-C7")
    cabinet = await configured(rig, product(), bike)
    view = cabinet.view_state()
    assert isinstance(view, AttractScreen)
    playing = cabinet.narration.player.playing
    assert playing is not None and playing.muted and not playing.sound and not cabinet.audio.busy
    first = playing.key[0]
    assert view.subtitle == sentences(EN if first == "SCOOT-S1" else "A step-through e-bike. Seven gears.")[0]
    rig.clock.advance(cabinet.narration.library.get(first, "en").duration_s + 0.01)
    playing = cabinet.narration.player.playing
    assert playing is not None and playing.key[0] != first, "the loop goes on to the next product"
    assert cabinet.view_state().subtitle
    cabinet.handle_intent(Start())  # a shopper: the muted narration leaves with the attract screen
    assert cabinet.narration.player.playing is None


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)


@given(st.dictionaries(st.sampled_from(["en", "zh", "fr", ""]), JSON, max_size=3) | JSON)
def test_any_narration_value_is_accepted_or_refused_with_its_key_named(narration) -> None:
    document = {
        "config_schema": 1,
        "version": 1,
        "currency": "EUR",
        "products": [{"sku": "A", "name": "A", "price_cents": 100, "narration": narration}],
    }
    try:
        config = parse_cloud(document)
    except ConfigInvalid as error:
        assert all(p.startswith("products[0].narration") for p in error.problems), error.problems
    else:
        assert parse_cloud(config.to_json()) == config


async def test_without_espeak_the_product_is_sold_without_a_voice_and_the_reason_is_logged(rig, caplog):
    rig.config.audio = dataclasses.replace(rig.config.audio, espeak=str(rig.tmp_path / "no-espeak"))
    cabinet = await rig.boot()
    with caplog.at_level(logging.ERROR, logger="firmware.narration"):
        cabinet.apply_cloud_config(CabinetConfig(2, "EUR", (product(),), retailer=rig.retailer))
        await until(lambda: not [t for t in cabinet._tasks if t.get_name() == "narration"], what="narration pass")
    assert cabinet.narration.library.ready == {} and not cabinet.faults
    view = await on_product(cabinet)
    assert view.narration is None, "no listen control without a narration"
    assert any("cannot run" in getattr(r, "error", "") for r in caplog.records)
