"""Test helpers for the cloud: a fake clock, events, and a client that signs like a cabinet."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import aiohttp

from cloud_stub.store import SqlCloudStore
from sync_client.schema import Event, dumps, new_event_id, sign_request

CAB = "cab-1"
OTHER = "cab-2"
START = 1_800_000_000.0


class Clock:
    def __init__(self, t: float = START) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def make_event(seq: int, cabinet_id: str = CAB, type_: str = "heartbeat", payload: dict | None = None) -> dict:
    return Event(
        id=new_event_id(),
        cabinet_id=cabinet_id,
        seq=seq,
        type=type_,
        wall_time="2026-11-25T16:39:53.123Z",
        mono_time=100.0 + seq,
        payload=payload or {},
    ).to_json()


@dataclass
class Reply:
    status: int
    body: Any


@dataclass
class Cloud:
    url: str
    store: SqlCloudStore
    clock: Clock
    session: aiohttp.ClientSession
    keys: dict[str, bytes]
    tokens: dict[str, str]  # retailer name -> API token

    async def post(
        self,
        events: list | None = None,
        *,
        body: bytes | None = None,
        cabinet_id: str = CAB,
        key: bytes | None = None,
        signed_at: float | None = None,
        nonce: str | None = None,
        drop_header: str | None = None,
    ) -> Reply:
        """POST /v1/events signed as ``cabinet_id``; ``body`` overrides the batch built from ``events``."""
        if body is None:
            body = dumps({"cabinet_id": cabinet_id, "events": events or []})
        headers = sign_request(
            key or self.keys.get(cabinet_id, b"k" * 32),
            cabinet_id,
            "POST",
            "/v1/events",
            body,
            now=self.clock.t if signed_at is None else signed_at,
            nonce=nonce,
        )
        headers.pop(drop_header or "", None)
        headers["Content-Type"] = "application/json"
        async with self.session.post(self.url + "/v1/events", data=body, headers=headers) as resp:
            text = await resp.text()
            return Reply(resp.status, json.loads(text) if resp.content_type == "application/json" else text)

    async def signed(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        cabinet_id: str = CAB,
        signed_at: float | None = None,
        nonce: str | None = None,
    ) -> Reply:
        """Any device API request, signed as ``cabinet_id``."""
        data = dumps(body) if body is not None else b""
        headers = sign_request(
            self.keys[cabinet_id],
            cabinet_id,
            method,
            path,
            data,
            now=self.clock.t if signed_at is None else signed_at,
            nonce=nonce,
        )
        async with self.session.request(method, self.url + path, data=data, headers=headers) as resp:
            text = await resp.text()
            return Reply(resp.status, json.loads(text) if resp.content_type == "application/json" else text)

    async def retailer(
        self, method: str, path: str, body: Any = None, *, token: str | None = None, retailer: str = "shop-a"
    ) -> Reply:
        headers = {"Authorization": f"Bearer {token if token is not None else self.tokens[retailer]}"}
        async with self.session.request(method, self.url + path, json=body, headers=headers) as resp:
            return Reply(resp.status, await resp.json())
