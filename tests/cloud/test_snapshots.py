"""Door snapshots in the cloud: a cabinet stores each name once, only JPEGs of bounded size are taken,
and only the cabinet's own retailer can list or fetch them. Answers are checked against docs/openapi.yaml."""

from __future__ import annotations

import json

import numpy as np
import simplejpeg

from cloud_stub.device_api import MAX_SNAPSHOT_BYTES
from sync_client.schema import sign_request
from tests.cloud.cloud_helpers import CAB, OTHER, Cloud, Reply
from tests.cloud.test_openapi import validate

PUT = "/v1/snapshots/{name}"
LIST = "/v1/retailer/cabinets/{cabinet_id}/snapshots"
FETCH = "/v1/retailer/cabinets/{cabinet_id}/snapshots/{name}"
NAME = "20261125T174005-opened-3f1c2a9e-0d4b-4f7e-9a51-2b8c6d0e1f23.jpg"


def jpeg(width: int = 320, height: int = 240, *, noise: bool = False, quality: int = 70) -> bytes:
    rng = np.random.default_rng(7)
    image = (
        rng.integers(0, 256, (height, width, 3))
        if noise
        else np.broadcast_to(np.linspace(0, 255, width)[None, :, None], (height, width, 3))
    )
    return simplejpeg.encode_jpeg(np.ascontiguousarray(image, dtype=np.uint8), quality=quality)


async def put(cloud: Cloud, name: str, body: bytes, cabinet_id: str = CAB, *, signed: bool = True) -> Reply:
    path = PUT.format(name=name)
    headers = sign_request(cloud.keys[cabinet_id], cabinet_id, "PUT", path, body, now=cloud.clock.t) if signed else {}
    async with cloud.session.put(
        cloud.url + path, data=body, headers={**headers, "Content-Type": "image/jpeg"}
    ) as resp:
        reply = Reply(resp.status, json.loads(await resp.text()))
    validate(PUT, "PUT", reply.status, reply.body)
    return reply


async def listing(cloud: Cloud, cabinet_id: str = CAB, query: str = "", retailer: str = "shop-a") -> Reply:
    reply = await cloud.retailer("GET", LIST.format(cabinet_id=cabinet_id) + query, retailer=retailer)
    validate(LIST, "GET", reply.status, reply.body)
    return reply


async def fetch(cloud: Cloud, name: str, cabinet_id: str = CAB, headers: dict | None = None) -> tuple[int, str, bytes]:
    headers = {"Authorization": f"Bearer {cloud.tokens['shop-a']}"} if headers is None else headers
    async with cloud.session.get(cloud.url + FETCH.format(cabinet_id=cabinet_id, name=name), headers=headers) as resp:
        body = await resp.read()
        if resp.content_type == "application/json":
            validate(FETCH, "GET", resp.status, json.loads(body))
        return resp.status, resp.content_type, body


async def test_a_snapshot_is_stored_once_and_the_retailer_gets_it_back(cloud: Cloud) -> None:
    thumb = jpeg()
    first = await put(cloud, NAME, thumb)
    assert first.status == 201
    assert first.body == {"name": NAME, "taken_at": "2026-11-25T17:40:05.000Z", "bytes": len(thumb), "stored": True}
    retry = await put(cloud, NAME, thumb)  # the answer was lost; the cabinet sends it again
    assert retry.status == 200 and retry.body["stored"] is False
    other_bytes = await put(cloud, NAME, jpeg(quality=90))
    assert other_bytes.status == 409 and other_bytes.body["error"].startswith("name:")

    listed = (await listing(cloud)).body["snapshots"]
    assert [(s["name"], s["taken_at"], s["bytes"]) for s in listed] == [(NAME, "2026-11-25T17:40:05.000Z", len(thumb))]
    assert await fetch(cloud, NAME) == (200, "image/jpeg", thumb)
    assert (await fetch(cloud, "20261125T174006-closed-none.jpg"))[0] == 404
    # Names are per cabinet: another cabinet's snapshot of the same name is its own.
    assert (await put(cloud, NAME, jpeg(quality=90), OTHER)).status == 201
    assert await fetch(cloud, NAME) == (200, "image/jpeg", thumb)


async def test_the_list_is_newest_first_and_pages(cloud: Cloud) -> None:
    names = [f"20261125T1740{s:02d}-closed-none.jpg" for s in range(5)]
    for name in names:
        assert (await put(cloud, name, jpeg())).status == 201
    page = (await listing(cloud, query="?limit=3")).body["snapshots"]
    assert [s["name"] for s in page] == names[::-1][:3]
    rest = (await listing(cloud, query=f"?limit=3&before={page[-1]['name']}")).body["snapshots"]
    assert [s["name"] for s in rest] == names[::-1][3:]
    assert (await listing(cloud, query="?limit=0")).status == 400
    assert (await listing(cloud, query="?limit=many")).status == 400


async def test_what_is_not_a_small_jpeg_with_a_good_name_is_refused_and_nothing_stored(cloud: Cloud) -> None:
    good = jpeg()
    big = jpeg(480, 360, noise=True, quality=95)
    assert len(big) > MAX_SNAPSHOT_BYTES
    refusals = [
        (NAME, b"\x89PNG\r\n\x1a\n" + good[8:], 415, "body: not a JPEG (does not start with FF D8)"),
        (NAME, b"\xff\xd8" + b"\x00" * 500, 415, "body: JPEG header: byte 2: expected a marker (FF), got 00"),
        (NAME, good[:100], 415, "body: JPEG header: byte "),
        (NAME, good[: len(good) // 2], 415, "body: not a JPEG that decodes"),
        (NAME, b"", 415, "body: not a JPEG"),
        (NAME, big, 413, f"body: {len(big)} bytes, over the {MAX_SNAPSHOT_BYTES} byte limit here (send a thumbnail)"),
        ("20261125T174005-opened-none.png", good, 400, "name: '20261125T174005-opened-none.png' is not like"),
        ("20261399T250000-opened-none.jpg", good, 400, "name: '20261399T250000' is not a valid date and time"),
        ("20261125T174005-Opened-none.jpg", good, 400, "name:"),
        ("20261125T174005-opened-.hidden.jpg", good, 400, "name:"),
    ]
    for name, body, status, error in refusals:
        reply = await put(cloud, name, body)
        assert (reply.status, reply.body["error"][: len(error)]) == (status, error), name
    unsigned = await put(cloud, NAME, good, signed=False)
    assert unsigned.status == 401 and unsigned.body["error"] == "X-Cabinet-Id: header missing"
    assert cloud.store.snapshots_of(CAB) == []


async def test_only_the_cabinets_own_retailer_can_list_or_fetch_and_never_without_a_token(cloud: Cloud) -> None:
    thumb = jpeg()
    await put(cloud, NAME, thumb)

    foreign = await listing(cloud, retailer="shop-b")
    assert foreign.status == 404
    assert foreign.body["error"] == f"cabinet_id: no cabinet '{CAB}' among retailer 'shop-b''s cabinets"
    status, _, body = await fetch(cloud, NAME, headers={"Authorization": f"Bearer {cloud.tokens['shop-b']}"})
    assert status == 404 and thumb not in body
    assert (await fetch(cloud, NAME, OTHER))[0] == 404  # shop-a asking for shop-b's cabinet

    async with cloud.session.get(cloud.url + LIST.format(cabinet_id=CAB)) as resp:
        assert resp.status == 401
    status, _, body = await fetch(cloud, NAME, headers={})
    assert status == 401 and json.loads(body)["error"].startswith("Authorization:")
    status, _, _ = await fetch(cloud, NAME, headers={"Authorization": "Bearer guessed"})
    assert status == 401
