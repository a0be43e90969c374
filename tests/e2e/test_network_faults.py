"""Faults between cabinet and cloud: a loopback proxy drops connections (before and after the cloud
saw the request), delays past the client's timeout, truncates answers and returns 500s. The real
uploader and a real `kiosk-cloud serve` process on either side: every event arrives exactly once."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from pathlib import Path

from cloud_stub.store import SqliteCloudStore
from firmware.control_client import export_events, start_cloud
from sync_client.outbox import Outbox
from sync_client.uploader import Uploader

FAULTS = ("pass", "drop_request", "drop_response", "delay", "truncate", "error_500")


class FaultProxy:
    """HTTP/1.1 over TCP, one request per connection; what happens to each is drawn from a seeded RNG."""

    def __init__(self, upstream_port: int, seed: int, fault_share: float) -> None:
        self.upstream_port = upstream_port
        self.rng = random.Random(seed)
        self.fault_share = fault_share
        self.counts: Counter[str] = Counter()
        self.server: asyncio.Server | None = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    def _draw(self) -> str:
        return "pass" if self.rng.random() >= self.fault_share else self.rng.choice(FAULTS[1:])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await _read_message(reader)
            if request is None:
                return
            fault = self._draw()
            self.counts[fault] += 1
            if fault == "drop_request":
                return  # the cloud never sees it
            if fault == "error_500":
                writer.write(
                    b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\n"
                    b"Content-Length: 5\r\nConnection: close\r\n\r\noops!"
                )
                await writer.drain()
                return
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
            up_writer.write(request)
            await up_writer.drain()
            response = await _read_message(up_reader)
            up_writer.close()
            if response is None or fault == "drop_response":
                return  # stored by the cloud, but the answer is lost
            if fault == "delay":
                await asyncio.sleep(self.rng.uniform(0.2, 1.5))  # often past the client's 1 s timeout
            if fault == "truncate":
                response = response[: len(response) - self.rng.randint(1, 40)]
            writer.write(response)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


async def _read_message(reader: asyncio.StreamReader) -> bytes | None:
    """One HTTP message (head and Content-Length body), or None if the peer closed first."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    # Both directions close after one message, so the proxy can choose a fault per request.
    head = head.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n", 1) if b"onnection:" not in head else head
    return head + await reader.readexactly(length)


async def test_every_event_arrives_exactly_once_through_a_faulty_network(tmp_path: Path) -> None:
    store = SqliteCloudStore(tmp_path / "cloud.db")
    store.add_retailer("shop-a")
    key = store.add_cabinet("cab-faults", "shop-a")
    store.close()
    cloud, cloud_url = start_cloud(tmp_path)
    proxy = FaultProxy(int(cloud_url.rsplit(":", 1)[1]), seed=20261125, fault_share=0.6)
    outbox = Outbox(tmp_path / "cabinet.db", "cab-faults")
    try:
        url = await proxy.start()
        uploader = Uploader(
            outbox, url, key, batch_size=25, backoff_initial_s=0.01, backoff_max_s=0.1, request_timeout_s=1.0
        )
        stop = asyncio.Event()
        task = asyncio.create_task(uploader.run(stop))
        rng = random.Random(7)
        appended = []
        for burst in range(40):  # events keep coming while the network misbehaves
            for _ in range(rng.randint(1, 30)):
                appended.append(outbox.append("door.opened", {"authorized": True, "burst": burst}).id)
            await asyncio.sleep(rng.uniform(0, 0.05))
        deadline = asyncio.get_running_loop().time() + 60
        while outbox.pending_count() and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        stop.set()
        await task
        await proxy.stop()
    finally:
        cloud.stop()
        outbox.close()
    assert outbox.pending_count() == 0, f"still pending after 60 s; faults: {proxy.counts}"
    for fault in FAULTS:
        assert proxy.counts[fault] >= 3, f"fault {fault} was hardly exercised: {proxy.counts}"
    stored = [e for e in export_events(tmp_path) if e["cabinet_id"] == "cab-faults"]
    ids = [e["id"] for e in stored]
    assert len(ids) == len(set(ids)), "an event was stored twice"
    assert sorted(ids) == sorted(appended), "an event was lost"
    assert [e["seq"] for e in stored] == list(range(1, len(appended) + 1))
