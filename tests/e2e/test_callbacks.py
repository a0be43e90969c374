"""A call-back asked at a simulated cabinet (a real `kiosk run --sim` process, driven through its control API as a
shopper's taps) while the network is cut: it waits in the outbox, reaches a real `kiosk-cloud serve` once the
network returns, with the number and the consent shown, and is deleted when its retention ends (the same
deletion the server runs hourly, run here by `kiosk-cloud callbacks purge` at a chosen time)."""

from __future__ import annotations

import subprocess

from cloud_stub.store import SqliteCloudStore
from firmware.control_client import _bin
from sync_client.schema import parse_utc_iso, utc_iso
from tests.e2e.conftest import CABINET_ID, RETAILER, retailer_document

RETENTION_DAYS = 7


def purge(workdir, as_of: float) -> str:
    done = subprocess.run(
        [*_bin("kiosk-cloud"), "callbacks", "purge", "--db", str(workdir / "cloud.db"), "--as-of", utc_iso(as_of)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


def test_a_call_back_made_offline_arrives_after_the_network_returns_and_goes_when_its_retention_ends(retail, cloud):
    workdir, _ = cloud
    api, start = retail
    client = start()
    version = client.state()["config_version"]
    document = {**retailer_document(), "callback_retention_days": RETENTION_DAYS}
    api.call("PUT", f"/v1/retailer/cabinets/{CABINET_ID}/config", document)
    client.wait_for(lambda s: s["config_version"] != version, what="the retention reached the cabinet")

    client.sim("network/down")
    client.tap("start")
    client.tap("product:SCOOT-S1")
    client.wait_screen("product")
    client.tap("callback")
    client.wait_screen("callback")
    for key in "+4917055501":
        client.tap(f"kbd:{key}")
    client.tap("callback:send")
    client.wait_for(lambda s: any(w["id"] == "sent" for w in s["widgets"]), what="the request recorded")
    client.wait_for(lambda s: s["outbox"]["pending"] >= 1, what="the request waiting in the outbox")

    store = SqliteCloudStore(workdir / "cloud.db")
    try:
        assert store.callbacks_of(RETAILER) == [], "nothing reaches the cloud while the network is cut"
        client.sim("network/up")
        client.wait_for(lambda s: s["outbox"]["pending"] == 0, what="the outbox drained")
        (arrived,) = store.callbacks_of(RETAILER)
        assert (arrived["phone"], arrived["sku"], arrived["cabinet_id"]) == ("+4917055501", "SCOOT-S1", CABINET_ID)
        assert arrived["consent_version"] == "1" and arrived["language"] == "en"
        assert f"deleted after {RETENTION_DAYS} days" in arrived["consent_text"], "the consent as the screen said it"

        asked = parse_utc_iso(arrived["requested_at"], "requested_at")
        assert purge(workdir, asked + RETENTION_DAYS * 86400 - 60) == "0 call-back requests deleted"
        assert len(store.callbacks_of(RETAILER)) == 1, "kept until its retention ends"
        assert purge(workdir, asked + RETENTION_DAYS * 86400 + 1) == "1 call-back requests deleted"
        assert store.callbacks_of(RETAILER) == []
    finally:
        store.close()
