import json
import urllib.request

import pytest

from firmware.control_client import add_cabinet, add_retailer, start_cloud, start_sim_cabinet

CABINET_ID = "e2e-cabinet-1"


@pytest.fixture
def cloud(tmp_path):
    proc, url = start_cloud(tmp_path)
    yield tmp_path, url
    proc.stop()


@pytest.fixture
def cloud_db(tmp_path) -> str:
    """The database `cloud` serves (tests/console's fixture of this name may make it a PostgreSQL URL)."""
    return str(tmp_path / "cloud.db")


@pytest.fixture
def sim_cabinet(cloud, cloud_db):
    """Start a simulated cabinet as a real process, syncing to a real `kiosk-cloud serve`;
    extra TOML is appended to the test configuration."""
    workdir, url = cloud
    procs = []

    def start(extra_config: str = "", retailer: str | None = None, sync: str = "", extra_args: tuple[str, ...] = ()):
        key = (
            add_cabinet(workdir, CABINET_ID, retailer, db=cloud_db)
            if not (workdir / "cabinet.key").exists()
            else (workdir / "cabinet.key").read_text().strip()
        )
        key_file = workdir / "cabinet.key"
        key_file.write_text(key + "\n")
        key_file.chmod(0o600)
        config = (
            f"""
[cabinet]
id = "{CABINET_ID}"
key_file = "{key_file}"
[sync]
backoff_initial_s = 0.1
backoff_max_s = 1.0
"""
            + sync
            + extra_config
        )
        proc, client = start_sim_cabinet(workdir, config_text=config, cloud_url=url, extra_args=extra_args)
        procs.append(proc)
        client.process = proc  # a test may stop it to restart the cabinet on the same data
        return client

    yield start
    for proc in procs:
        if proc.killed:
            continue
        code = proc.stop()
        assert code == 0, f"kiosk exited with {code}:\n{proc.log_tail()}"


@pytest.fixture
def cabinet(sim_cabinet):
    return sim_cabinet()


RETAILER = "velo-mall"
FAST_SYNC = """
config_poll_s = 0.3
commands_poll_s = 0.3
"""


class RetailerApi:
    """The retailer's side of the cloud, over HTTP with its token."""

    def __init__(self, base_url: str, token: str) -> None:
        self.base_url, self.token = base_url, token

    def call(self, method: str, path: str, body=None):
        request = urllib.request.Request(
            self.base_url + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())


@pytest.fixture
def retail(cloud, cloud_db, sim_cabinet):
    """A retailer who owns the cabinet and has put a catalog (with PIN, staff card and scan-to-pay) on it;
    returns (RetailerApi, start) where start() runs the cabinet."""
    workdir, url = cloud
    token = add_retailer(workdir, RETAILER, db=cloud_db)
    api = RetailerApi(url, token)
    state = {}

    def start(extra_config: str = "", extra_args: tuple[str, ...] = ()):
        client = sim_cabinet(extra_config, retailer=RETAILER, sync=FAST_SYNC, extra_args=extra_args)
        if "configured" not in state:
            api.call("PUT", f"/v1/retailer/cabinets/{CABINET_ID}/config", retailer_document())
            state["configured"] = True
        client.wait_for(lambda s: s["config_version"] is not None, what="the retailer's configuration applied")
        return client

    return api, start


STAFF_CARD = "04a1b2c3d4e5f6"
TECHNICIAN_CARD = "04feedbeef0102"
PIN = "2468"


def retailer_document() -> dict:
    from sync_client.cabinet_config import hash_secret

    return {
        "currency": "EUR",
        "store_base_url": "https://velo-mall.example",
        "languages": ["en", "zh"],  # the scooter's texts in Chinese too; the others show their English ones
        "products": [
            {
                "sku": "SCOOT-S1",
                "name": {"en": "Volt S1 e-scooter", "zh": "Volt S1 电动滑板车"},
                "price_cents": 49900,
                "specs": {"range": "35 km"},
                "colours": [{"en": "Mint", "zh": "薄荷绿"}, {"en": "Graphite", "zh": "石墨灰"}],
            },
            {"sku": "BIKE-C7", "name": "Cruiser C7 e-bike", "price_cents": 129900, "specs": {"range": "80 km"}},
            {"sku": "KIDS-K1", "name": "Kids K1 scooter", "price_cents": 19900, "online_only": True},
        ],
        "retailer": {
            "pin_hashes": [hash_secret(PIN, n=2**12)],
            "staff_cards": [{"uid": STAFF_CARD, "role": "retailer"}, {"uid": TECHNICIAN_CARD, "role": "technician"}],
        },
        "scan_to_pay": {"enabled": True, "provider": "simulated"},
    }
