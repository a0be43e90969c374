"""The cabinet's snapshot folder (bounded by size and age) and the thumbnail uploader against a real
cloud stub: each file goes up once, across restarts and lost answers."""

from __future__ import annotations

import asyncio
import os
import socket
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import simplejpeg
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware.clock import FakeClock
from sync_client.cloud_client import CloudClient
from sync_client.snapshots import (
    SnapshotNameError,
    SnapshotStore,
    SnapshotUploader,
    make_thumbnail,
    parse_snapshot_name,
    snapshot_name,
)
from tests.polling import until
from tests.sync.conftest import CAB, Site

T0 = 1_790_000_000.0  # 2026-09-21


def picture(width: int = 1280, height: int = 960) -> bytes:
    """Left half red, right half blue: the thumbnail must keep both, side by side."""
    image = np.zeros((height, width, 3), np.uint8)
    image[:, : width // 2, 0] = 255
    image[:, width // 2 :, 2] = 255
    return simplejpeg.encode_jpeg(image, quality=90)


def save(store: SnapshotStore, name: str, data: bytes, mtime: float) -> Path:
    path = store.dir / name
    path.write_bytes(data)
    os.utime(path, (mtime, mtime))
    return path


def test_names_carry_time_kind_and_sale() -> None:
    name = snapshot_name("opened", "3f1c2a9e-0d4b", 1_795_628_405.0)
    assert name == "20261125T174005-opened-3f1c2a9e-0d4b.jpg"
    parsed = parse_snapshot_name(name)
    assert (parsed.taken_at, parsed.kind, parsed.sale_id) == (1_795_628_405.0, "opened", "3f1c2a9e-0d4b")
    assert parse_snapshot_name("20261125T174005-forced-none.jpg").sale_id is None
    for bad in (
        "20261125T174005-opened-none.jpeg",
        "x.jpg",
        "20261125T174005-opened-../a.jpg",
        "20260230T120000-opened-none.jpg",
    ):
        with pytest.raises(SnapshotNameError, match="^name: "):
            parse_snapshot_name(bad)


def test_prune_drops_the_oldest_beyond_the_size_limit_and_everything_too_old(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path / "snapshots", max_bytes=3000, max_age_s=3600)
    for minute in range(5):  # 1000 bytes each, a minute apart
        save(store, snapshot_name("opened", None, T0 + 60 * minute), b"\xff\xd8" + b"x" * 998, T0 + 60 * minute)
    (store.dir / "notes.txt").write_text("not a snapshot")
    (store.dir / "20260921T000000-opened-none.jpg.part").write_bytes(b"x" * 5000)

    deleted = store.prune(now=T0 + 300)
    assert deleted == [snapshot_name("opened", None, T0), snapshot_name("opened", None, T0 + 60)]
    assert [f.name for f in store.files()] == [snapshot_name("opened", None, T0 + 60 * m) for m in (2, 3, 4)]
    assert store.prune(now=T0 + 300) == []  # within both limits now

    assert store.prune(now=T0 + 120 + 3600 + 30) == [snapshot_name("opened", None, T0 + 120)]  # aged out
    assert store.prune(now=T0 + 10 * 3600) == [snapshot_name("opened", None, T0 + 60 * m) for m in (3, 4)]
    assert sorted(p.name for p in store.dir.iterdir()) == ["20260921T000000-opened-none.jpg.part", "notes.txt"]


def test_a_thumbnail_is_scaled_down_with_its_aspect_and_never_up() -> None:
    thumb = make_thumbnail(picture(1280, 960), 320)
    image = simplejpeg.decode_jpeg(thumb)
    assert image.shape == (240, 320, 3)
    assert image[120, 40, 0] > 200 and image[120, 40, 2] < 50  # red on the left
    assert image[120, 280, 2] > 200 and image[120, 280, 0] < 50  # blue on the right
    assert len(thumb) < 20_000
    assert simplejpeg.decode_jpeg(make_thumbnail(picture(1000, 300), 320)).shape == (96, 320, 3)
    assert simplejpeg.decode_jpeg(make_thumbnail(picture(200, 100), 320)).shape == (100, 200, 3)
    with pytest.raises(ValueError):
        make_thumbnail(b"\xff\xd8not a picture", 320)


def test_thumbnails_made_one_after_another_do_not_keep_their_bytes() -> None:
    photo = picture(640, 480)
    size = len(make_thumbnail(photo, 320))  # the first call imports and sets up
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(100):
            make_thumbnail(photo, 320)
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    # pygame-ce kept each file object it saved to: about 500 bytes each once closed, the whole JPEG if not
    assert kept < 100 * 100, f"{kept} bytes kept after 100 thumbnails of {size} bytes"


@settings(max_examples=150, deadline=None)
@given(cut=st.integers(0, 4000), junk=st.binary(max_size=64), at=st.integers(0, 4000))
def test_a_thumbnail_of_damaged_bytes_is_a_picture_or_a_value_error(cut: int, junk: bytes, at: int) -> None:
    """The decoder never crashes on a torn or scribbled file: it makes a thumbnail or says ValueError."""
    whole = picture(320, 240)
    damaged = whole[:at] + junk + whole[at + len(junk) :] if cut % 2 else whole[: len(whole) - cut]
    try:
        thumb = make_thumbnail(damaged, 160)
    except ValueError:
        return
    assert simplejpeg.decode_jpeg(thumb).shape == (120, 160, 3)


async def test_each_snapshot_goes_up_once_across_a_restart_and_a_lost_answer(site: Site, tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path / "snapshots")
    old = time.time() - 600
    names = [snapshot_name(kind, "sale-1", old + i) for i, kind in enumerate(("opened", "closed"))]
    for name in names:
        save(store, name, picture(), old)
    # The cloud stored this one but its answer never reached the cabinet, which has no record of it.
    lost = save(store, snapshot_name("forced", None, old + 5), picture(), old + 5)
    await site.client.request(
        "PUT",
        "v1/snapshots/" + lost.name,
        raw=make_thumbnail(lost.read_bytes(), 320),
        headers={"Content-Type": "image/jpeg"},
        ok=(201,),
    )
    fresh = save(store, snapshot_name("opened", None, time.time()), picture(), time.time())  # may still be written

    uploader = SnapshotUploader(store, site.client)
    assert await uploader.upload_pending() == 3
    assert uploader.status.uploaded_total == 3 and uploader.status.refused_total == 0
    stored = {s["name"]: s for s in site.store.snapshots_of(CAB)}
    assert sorted(stored) == sorted([*names, lost.name])
    thumb = simplejpeg.decode_jpeg(site.store.snapshot(CAB, names[0]))
    assert thumb.shape == (240, 320, 3)
    uploader.close()
    await site.client.close()

    os.utime(fresh, (old + 10, old + 10))  # settled by now
    restarted = SnapshotUploader(store, CloudClient(site.url, CAB, site.key))
    try:
        assert await restarted.upload_pending() == 1
        assert await restarted.upload_pending() == 0
    finally:
        restarted.close()
        await restarted.client.close()
    assert sorted(s["name"] for s in site.store.snapshots_of(CAB)) == sorted([*names, lost.name, fresh.name])


async def test_a_corrupt_file_is_given_up_and_the_rest_flow(site: Site, tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path / "snapshots")
    old = time.time() - 600
    torn = save(store, snapshot_name("opened", None, old), picture()[:3000], old)
    good = save(store, snapshot_name("closed", None, old + 1), picture(), old + 1)
    uploader = SnapshotUploader(store, site.client)
    assert await uploader.upload_pending() == 1
    assert await uploader.upload_pending() == 0  # not retried
    assert uploader.status.refused_total == 1 and uploader.status.last_refusal.startswith(torn.name)
    assert [s["name"] for s in site.store.snapshots_of(CAB)] == [good.name]
    assert uploader.done_names() == {torn.name, good.name}
    store.max_bytes = 0
    store.prune()
    await uploader.upload_pending()
    assert uploader.done_names() == set()  # records go with the files
    uploader.close()


async def test_run_uploads_when_poked_and_backs_off_while_the_cloud_is_away(site: Site, tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path / "snapshots")
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead_url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    save(store, snapshot_name("opened", None, time.time() - 60), picture(), time.time() - 60)

    clock = FakeClock()  # the backoff waits on the cabinet's clock: each retry when it says so, none before
    away = SnapshotUploader(
        store,
        CloudClient(dead_url, CAB, site.key, request_timeout_s=2),
        backoff_initial_s=4.0,
        backoff_max_s=8.0,
        sleep=clock.sleep,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(away.run(stop, interval_s=60))
    for failures, cap in ((1, 4.0), (2, 8.0), (3, 8.0)):
        await until(lambda n=failures: away.status.consecutive_failures == n and clock.pending())
        [retry_at] = clock.pending()
        assert clock.now <= retry_at <= clock.now + cap, f"full jitter within the backoff after {failures}"
        await clock.run(retry_at - clock.now)
    stop.set()
    await asyncio.wait_for(task, 10)
    assert away.status.consecutive_failures >= 3 and "Connect" in away.status.last_error
    assert away.done_names() == set()
    away.close()
    await away.client.close()

    uploader = SnapshotUploader(store, site.client, settle_s=0.0)
    stop = asyncio.Event()
    task = asyncio.create_task(uploader.run(stop, interval_s=60))
    for _ in range(1000):
        if uploader.status.uploaded_total == 1:
            break
        await asyncio.sleep(0.01)
    later = save(store, snapshot_name("closed", None, time.time()), picture(), time.time())
    uploader.poke()  # long before the 60 s interval
    for _ in range(1000):
        if uploader.status.uploaded_total == 2:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, 10)
    uploader.close()
    assert uploader.status.consecutive_failures == 0 and uploader.status.last_error is None
    assert later.name in {s["name"] for s in site.store.snapshots_of(CAB)}
    assert len(site.store.snapshots_of(CAB)) == 2


async def test_a_fresh_photo_goes_up_once_it_has_settled_not_at_the_next_interval(site: Site, tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path / "snapshots")
    uploader = SnapshotUploader(store, site.client, settle_s=0.2)
    stop = asyncio.Event()
    task = asyncio.create_task(uploader.run(stop, interval_s=600))
    save(store, snapshot_name("forced", None, time.time()), picture(), time.time())
    uploader.poke()  # as the firmware does right after saving it: too fresh for this pass
    await until(lambda: uploader.status.uploaded_total == 1, timeout=10.0)  # not 600 s later
    stop.set()
    await asyncio.wait_for(task, 10)
    uploader.close()
