"""Footfall on a whole Cabinet (real SQLite on disk, mock pins, a fake clock) with the simulated camera showing a
generated scene (hal/sim/footfall_scene.py: three people walking past, one of them standing 6 s): off by default,
and when turned on the counts ride a heartbeat as footfall.counted events holding integers and two times only,
which the cloud's ingest turns into the funnel's passers-by and stoppers; the door snapshots and the QR reader
still get their frames from the shared camera meanwhile; the bench action that shows people to the camera."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from cloud_stub.store import SqliteCloudStore
from firmware.cabinet import Cabinet
from firmware.clock import FakeClock, LoopClock
from firmware.config import FootfallSection
from firmware.footfall import FootfallTally, FootfallWatch
from firmware.sim import BENCH_ACTIONS, BenchError
from hal.camera_code_reader import CameraCodeReader
from hal.footfall import FootfallSettings
from hal.sim.camera_sim import SimCamera
from hal.sim.footfall_scene import WARM_UP_S, Scene, Walker
from sync_client.outbox import Outbox
from sync_client.schema import validate_payload
from tests.polling import until
from tests.sync.conftest import CAB

from .cabinet_rig import Cabinets

FPS = 4.0


def person(enter_s: float, from_left: bool, stop_s: float = 0.0) -> Walker:
    return Walker(enter_s, from_left, 0.35, 0.7, (30, 60, 200), (210, 170, 140), 0.5, stop_s)


SCENE = Scene((person(WARM_UP_S, True), person(WARM_UP_S + 6, False, stop_s=6.0), person(WARM_UP_S + 20, True)), 36.0)


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Cabinets]:
    (tmp_path / "cabinet").mkdir()
    clock = FakeClock()
    cabinets = Cabinets(tmp_path / "cabinet", clock=clock)
    # Frames as fast as they are asked for, and the scene timed by the cabinet's own (fake) clock.
    cabinets.camera = SimCamera(size=(320, 240), fps=1000.0, clock=clock.monotonic)
    cabinets.config.sync = dataclasses.replace(cabinets.config.sync, heartbeat_s=30.0)
    yield cabinets
    if cabinets.cabinet is not None:
        await cabinets.cut()


async def watch_the_scene(cabinet: Cabinet, clock: FakeClock, seconds: float) -> None:
    """Let the counter see ``seconds`` of the scene, frame by frame: each frame is counted on the watch's own
    thread before the clock moves on to the next."""
    watch = cabinet.footfall_watch
    assert watch is not None
    for _ in range(int(seconds * FPS)):
        wanted = watch.frames_counted + 1

        def counted(at_least: int = wanted) -> bool:
            return watch is not None and watch.frames_counted >= at_least

        await clock.run(1 / FPS)
        await until(counted, what="the frame counted")


async def test_footfall_is_off_by_default_and_the_camera_is_not_watched(rig: Cabinets) -> None:
    assert rig.config.footfall.enabled is False
    cabinet = await rig.boot()
    assert isinstance(rig.clock, FakeClock) and isinstance(rig.camera, SimCamera)
    rig.camera.show_people(SCENE)
    await rig.clock.run(SCENE.duration_s + 120.0)
    assert cabinet.footfall_watch is None
    assert rig.camera._frame_no == 0, "no frame was taken for counting"
    assert cabinet.outbox.events("footfall.counted") == []


async def test_people_passing_and_stopping_are_sent_as_counts_only_and_reach_the_funnel(
    rig: Cabinets, tmp_path: Path
) -> None:
    rig.config.footfall = FootfallSection(enabled=True, fps=FPS, stop_s=3.0, commit_s=60.0)
    cabinet = await rig.boot()
    clock, camera = rig.clock, rig.camera
    assert isinstance(clock, FakeClock) and isinstance(camera, SimCamera)
    camera.show_people(SCENE)
    await watch_the_scene(cabinet, clock, SCENE.duration_s)
    assert cabinet.outbox.events("footfall.counted") == [], "counts wait for a heartbeat, no write per person"
    await clock.run(60.0)  # commit_s after the start: the next heartbeat carries them
    await until(lambda: bool(cabinet.outbox.events("footfall.counted")), what="the counts committed")

    events = cabinet.outbox.events("footfall.counted")
    assert sum(e.payload["passers"] for e in events) == 3
    assert sum(e.payload["stoppers"] for e in events) == 1
    for e in events:
        validate_payload("footfall.counted", e.payload)
        assert set(e.payload) == {"started_at", "ended_at", "passers", "stoppers"}
        assert all(type(e.payload[k]) is int for k in ("passers", "stoppers"))
        assert all(type(e.payload[k]) is str and len(e.payload[k]) <= 24 for k in ("started_at", "ended_at"))
    assert not (cabinet.snapshot_dir.exists() and any(cabinet.snapshot_dir.iterdir())), "no picture was kept"

    cloud = SqliteCloudStore(tmp_path / "cloud.db")
    try:
        cloud.add_retailer("shop-a")
        cloud.add_cabinet(CAB, "shop-a")
        cloud.store_events(CAB, cabinet.outbox.events())
        day = events[0].payload["started_at"][:10]
        (found,) = cloud.funnel("shop-a", since_day=day, until_day=day)["days"]
        assert (found["passers"], found["stoppers"]) == (3, 1)
    finally:
        cloud.close()


async def test_counts_wait_in_memory_until_the_stop_commits_them(rig: Cabinets) -> None:
    rig.config.footfall = FootfallSection(enabled=True, fps=FPS, stop_s=3.0, commit_s=3600.0)
    cabinet = await rig.boot()
    clock, camera = rig.clock, rig.camera
    assert isinstance(clock, FakeClock) and isinstance(camera, SimCamera)
    camera.show_people(Scene((person(WARM_UP_S, True),), 20.0))
    await watch_the_scene(cabinet, clock, 20.0)
    assert cabinet.outbox.events("footfall.counted") == []
    await cabinet.stop()
    (event,) = cabinet.outbox.events("footfall.counted")
    assert (event.payload["passers"], event.payload["stoppers"]) == (1, 0)
    cabinet.outbox.close()
    rig.cabinet = None


async def test_the_door_snapshots_share_the_camera_while_people_are_counted(rig: Cabinets) -> None:
    rig.config.footfall = FootfallSection(enabled=True, fps=FPS, stop_s=3.0, commit_s=60.0)
    cabinet = await rig.boot()
    clock, camera = rig.clock, rig.camera
    assert isinstance(clock, FakeClock) and isinstance(camera, SimCamera)
    camera.show_people(SCENE)
    await watch_the_scene(cabinet, clock, 2.0)
    cabinet.snapshots.take("opened", None)  # the door opened: a photo, between the counter's frames
    await watch_the_scene(cabinet, clock, 2.0)
    await until(lambda: any(cabinet.snapshot_dir.glob("*.jpg")), what="the door's photo saved")
    (photo,) = cabinet.snapshot_dir.glob("*.jpg")
    assert photo.read_bytes()[:2] == b"\xff\xd8"  # a JPEG


def test_counts_around_midnight_are_one_event_per_utc_day(tmp_path: Path) -> None:
    midnight = 1_800_057_600.0  # a UTC midnight
    clock = FakeClock(wall_at_start=midnight - 30.0)
    tally = FootfallTally(Outbox(tmp_path / "tally.db", CAB), clock, 60.0)
    tally.add(2, 1)
    clock.advance(20.0)
    tally.add(1, 0)
    clock.advance(20.0)  # past midnight
    tally.add(3, 0)
    assert tally.due() == [], "not before commit_s"
    clock.advance(60.0)
    due = tally.due()
    assert [(p["started_at"][:10], p["passers"], p["stoppers"]) for _, p in due] == [
        ("2027-01-15", 3, 1),
        ("2027-01-16", 3, 0),
    ]
    for kind, payload in due:
        validate_payload(kind, payload)
    tally.committed()
    assert tally.due() == []
    tally.outbox.close()


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"people": -1}, "people"),
        ({"people": "3"}, "people"),
        ({"people": 2, "stoppers": 3}, "stoppers"),
        ({"stop_s": 0}, "stop_s"),
        ({"seed": -5}, "seed"),
    ],
)
async def test_the_bench_refuses_a_bad_crowd_naming_the_field(body: dict[str, object], named: str) -> None:
    bench = SimpleNamespace(camera=SimCamera())
    with pytest.raises(BenchError) as refused:
        await BENCH_ACTIONS["people/walk"](bench, body)  # type: ignore[arg-type]
    assert refused.value.status == 400 and str(refused.value).startswith(named)


async def test_the_bench_shows_the_crowd_to_the_camera_or_says_there_is_none() -> None:
    camera = SimCamera(size=(160, 120), fps=1000.0)
    assert camera._people is None  # the test card
    answer = await BENCH_ACTIONS["people/walk"](SimpleNamespace(camera=camera), {"people": 2, "stoppers": 1})  # type: ignore[arg-type]
    assert answer is not None and answer["people"] == 2 and answer["seconds"] > 10
    assert camera._people is not None and len(camera._people[0].scene.walkers) == 2
    await camera.open()
    try:
        assert (await camera.frame()).shape == (120, 160, 3)
    finally:
        await camera.close()
    with pytest.raises(BenchError) as refused:
        await BENCH_ACTIONS["people/walk"](SimpleNamespace(camera=None), {})  # type: ignore[arg-type,unused-ignore]
    assert refused.value.status == 409 and "camera" in str(refused.value)


async def test_a_qr_code_is_still_read_from_the_camera_while_people_are_counted(tmp_path: Path) -> None:
    camera = SimCamera(fps=60.0)
    reader = CameraCodeReader(camera)
    await reader.open()
    clock = LoopClock()
    outbox = Outbox(tmp_path / "qr.db", CAB)
    watch = FootfallWatch(camera.frame, FootfallSettings(), 15.0, clock, FootfallTally(outbox, clock, 60.0))
    counting = asyncio.create_task(watch.run())
    try:
        await until(lambda: watch.frames_counted >= 3, what="the counter taking frames")
        camera.show_code("https://shop.example/p/SCOOT-S1")
        read = await asyncio.wait_for(reader.read(), 20.0)
        assert read.text == "https://shop.example/p/SCOOT-S1"
        counted = watch.frames_counted
        await until(lambda: watch.frames_counted > counted, what="the counter going on")
    finally:
        counting.cancel()
        await asyncio.gather(counting, return_exceptions=True)
        await reader.close()
        outbox.close()
