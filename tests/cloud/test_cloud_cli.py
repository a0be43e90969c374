"""kiosk-cloud as real processes: serve on a free port, register a cabinet, ingest, export."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import sys
from pathlib import Path

import aiohttp

from sync_client.schema import dumps, sign_request
from tests.cloud.cloud_helpers import make_event

REPO = Path(__file__).resolve().parents[2]
TIMEOUT_S = 30


async def kiosk_cloud(*args: str | Path) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cloud_stub.cli",
        *map(str, args),
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), TIMEOUT_S)
    return proc.returncode, out.decode(), err.decode()


async def post(session: aiohttp.ClientSession, url: str, key: bytes, cabinet_id: str, events: list) -> dict:
    body = dumps({"cabinet_id": cabinet_id, "events": events})
    headers = sign_request(key, cabinet_id, "POST", "/v1/events", body)
    async with session.post(url + "/v1/events", data=body, headers=headers) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


async def test_serve_add_ingest_and_export_end_to_end(cloud_target: str) -> None:
    """On either store: a SQLite file, or a PostgreSQL database named by its URL."""
    db = cloud_target
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cloud_stub.cli",
        "serve",
        "--port",
        "0",
        "--db",
        str(db),
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        line = (await asyncio.wait_for(server.stdout.readline(), TIMEOUT_S)).decode()
        match = re.fullmatch(r"kiosk-cloud listening on (http://127\.0\.0\.1:(\d+))\n", line)
        assert match and int(match[2]) > 0, line
        url = match[1]

        # Registered while the server runs: the server reads keys and tokens from the shared database.
        code, out, err = await kiosk_cloud("retailer", "add", "shop-a", "--db", db)
        assert (code, err) == (0, "")
        token = out.strip()
        assert re.fullmatch(r"[A-Za-z0-9_-]{40,}", token)
        code, out, err = await kiosk_cloud("cabinet", "add", "cab-7", "--retailer", "shop-a", "--db", db)
        assert (code, err) == (0, "")
        assert re.fullmatch(r"[0-9a-f]{64}\n", out)
        key = bytes.fromhex(out)

        events = [make_event(1, "cab-7"), make_event(2, "cab-7", "door.opened", {"authorized": True})]
        async with aiohttp.ClientSession() as session:
            first = await post(session, url, key, "cab-7", events)
            replay = await post(session, url, key, "cab-7", events)
            async with session.get(url + "/v1/retailer/cabinets", headers={"Authorization": f"Bearer {token}"}) as r:
                assert r.status == 200
                assert [c["id"] for c in (await r.json())["cabinets"]] == ["cab-7"]
        assert first == replay == {"acked": [e["id"] for e in events], "rejected": []}

        server.send_signal(signal.SIGTERM)
        _, server_err = await asyncio.wait_for(server.communicate(), TIMEOUT_S)
        assert server.returncode == 0
        assert server_err.decode().count("ingest cabinet=cab-7") == 2
        assert "Traceback" not in server_err.decode()
    finally:
        if server.returncode is None:
            server.kill()
            await server.wait()

    code, out, err = await kiosk_cloud("export", "--db", db)
    assert (code, err) == (0, "")
    exported = [json.loads(line) for line in out.splitlines()]
    assert [{k: v for k, v in r.items() if k != "received_at"} for r in exported] == events
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", r["received_at"]) for r in exported)


async def test_errors_are_one_clear_line_and_a_nonzero_exit(tmp_path: Path) -> None:
    db = tmp_path / "cloud.db"
    assert (await kiosk_cloud("cabinet", "add", "cab-1", "--db", db))[0] == 0
    not_sqlite = tmp_path / "notes.txt"
    not_sqlite.write_text("this is not a database, it is a text file long enough to have a header\n" * 4)
    cases = [
        (("cabinet", "add", "cab-1", "--db", db), "already registered"),
        (("cabinet", "add", "cab 1", "--db", db), "cabinet id 'cab 1'"),
        (("cabinet", "add", "cab-3", "--retailer", "nobody", "--db", db), "no retailer 'nobody'"),
        (("retailer", "add", "", "--db", db), "retailer name ''"),
        (("cabinet", "add", "cab-2", "--db", tmp_path / "no-such-dir" / "c.db"), "cannot open database"),
        (("export", "--db", tmp_path / "absent.db"), "no database at"),
        (("export", "--db", not_sqlite), "not a database"),
        (("serve", "--port", "70000", "--db", db), "--port"),
        (("launch",), "invalid choice"),
    ]
    results = await asyncio.gather(*(kiosk_cloud(*args) for args, _ in cases))
    for (args, expected), (code, out, err) in zip(cases, results, strict=True):
        assert code != 0, args
        assert out == "", args
        assert len(err.splitlines()) == 1 and expected in err and err.startswith("kiosk-cloud"), (args, err)


async def test_serve_reports_a_port_in_use(tmp_path: Path) -> None:
    blocker = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = blocker.sockets[0].getsockname()[1]
    try:
        code, out, err = await kiosk_cloud("serve", "--port", str(port), "--db", tmp_path / "c.db")
    finally:
        blocker.close()
        await blocker.wait_closed()
    assert code != 0 and out == ""
    assert len(err.splitlines()) == 1 and err.startswith(f"kiosk-cloud: cannot listen on 127.0.0.1:{port}")
