"""The poll loop the configuration and the command inbox share, against the real cloud stub."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from firmware.clock import FakeClock
from sync_client.cabinet_config import CabinetConfig
from sync_client.cloud_client import CloudClient
from sync_client.commands import CommandInbox
from sync_client.config_sync import ConfigSync
from tests.sync.conftest import CAB, GOOD_CONFIG, Site


async def wait_for(condition: Callable[[], object], what: str) -> None:
    """Poll the condition itself, for 10 s at most."""
    try:
        async with asyncio.timeout(10):
            while not condition():
                await asyncio.sleep(0.01)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


async def test_a_poke_pulls_at_once_and_a_failure_is_kept_until_a_success(site: Site) -> None:
    applied: list[CabinetConfig] = []
    sync = ConfigSync(site.outbox, site.client, on_applied=applied.append)
    stop = asyncio.Event()
    site.store.put_config(CAB, GOOD_CONFIG)
    task = asyncio.create_task(sync.run(stop, interval_s=3600))  # after the first pull, only a poke pulls again
    await wait_for(lambda: len(applied) == 1, "the first pull")
    site.store.put_config(CAB, {**GOOD_CONFIG, "products": GOOD_CONFIG["products"][:1]})
    sync.poke()
    await wait_for(lambda: len(applied) == 2, "the configuration the poke pulled")
    assert [p.sku for p in applied[1].products] == ["SCOOT-S1"] and sync.last_error is None
    stop.set()
    await task


async def test_a_cloud_away_is_the_inbox_last_error_and_stop_ends_the_loop(site: Site) -> None:
    away = CloudClient("http://127.0.0.1:9", CAB, site.key, request_timeout_s=1)
    inbox = CommandInbox(site.outbox, away)
    stop = asyncio.Event()
    task = asyncio.create_task(inbox.run(stop, interval_s=3600, backoff_initial_s=3600))
    await wait_for(lambda: inbox.last_error is not None, "the failed poll")
    assert "127.0.0.1:9" in inbox.last_error or "connect" in inbox.last_error.lower()
    stop.set()
    await asyncio.wait_for(task, 5)
    await away.close()


async def test_the_configuration_is_pulled_again_at_exactly_its_interval_on_the_injected_clock(site: Site) -> None:
    clock = FakeClock()
    applied: list[CabinetConfig] = []
    sync = ConfigSync(site.outbox, site.client, on_applied=applied.append, sleep=clock.sleep)
    stop = asyncio.Event()
    site.store.put_config(CAB, GOOD_CONFIG)
    task = asyncio.create_task(sync.run(stop, interval_s=60))
    await wait_for(lambda: len(applied) == 1 and clock.pending(), "the first pull")
    assert clock.pending() == [clock.now + 60], "the next pull waits on the cabinet's clock"
    site.store.put_config(CAB, {**GOOD_CONFIG, "products": GOOD_CONFIG["products"][:1]})
    await clock.run(59.999)
    assert len(applied) == 1 and clock.pending() == [clock.now + 0.001]
    await clock.run(0.001)
    await wait_for(lambda: len(applied) == 2, "the pull at the interval")
    stop.set()
    await task


async def test_the_inbox_backs_off_on_the_injected_clock_while_the_cloud_is_away(site: Site) -> None:
    clock = FakeClock()
    away = CloudClient("http://127.0.0.1:9", CAB, site.key, request_timeout_s=1)
    inbox = CommandInbox(site.outbox, away, wall_clock=clock.time, monotonic=clock.monotonic, sleep=clock.sleep)
    stop = asyncio.Event()
    task = asyncio.create_task(inbox.run(stop, interval_s=3600, backoff_initial_s=8, backoff_max_s=8))
    await wait_for(lambda: inbox.last_error is not None and clock.pending(), "the failed poll")
    [retry_at] = clock.pending()
    assert clock.now <= retry_at <= clock.now + 8, "full jitter within the first backoff, on the cabinet's clock"
    inbox.last_error = None
    await clock.run(retry_at - clock.now)
    await wait_for(lambda: inbox.last_error is not None, "the poll tried again after the backoff")
    stop.set()
    await asyncio.wait_for(task, 5)
    await away.close()
