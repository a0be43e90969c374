import pytest

from firmware.control_client import add_cabinet, start_cloud, start_sim_cabinet

CABINET_ID = "e2e-cabinet-1"


@pytest.fixture
def cloud(tmp_path):
    proc, url = start_cloud(tmp_path)
    yield tmp_path, url
    proc.stop()


@pytest.fixture
def sim_cabinet(cloud):
    """Start a simulated cabinet as a real process, syncing to a real `kiosk-cloud serve`;
    extra TOML is appended to the test configuration."""
    workdir, url = cloud
    procs = []

    def start(extra_config: str = ""):
        key = add_cabinet(workdir, CABINET_ID)
        key_file = workdir / "cabinet.key"
        key_file.write_text(key + "\n")
        key_file.chmod(0o600)
        config = f"""
[cabinet]
id = "{CABINET_ID}"
key_file = "{key_file}"
[sync]
backoff_initial_s = 0.1
backoff_max_s = 1.0
""" + extra_config
        proc, client = start_sim_cabinet(workdir, config_text=config, cloud_url=url)
        procs.append(proc)
        return client

    yield start
    for proc in procs:
        code = proc.stop()
        assert code == 0, f"kiosk exited with {code}:\n{proc.log_tail()}"


@pytest.fixture
def cabinet(sim_cabinet):
    return sim_cabinet()
