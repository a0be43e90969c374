"""Suite-wide options: `--bench PROFILE` runs the hardware-in-the-loop tests against real devices."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.pg_server import PgServer, running_server, server_binaries

# Generated inputs are judged by what they find, never by how fast they came: on a loaded 2-core machine the
# speed checks (a 200 ms deadline per example, "input generation is slow") fail tests that are correct.
settings.register_profile("suite", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("suite")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--bench",
        metavar="PROFILE",
        type=Path,
        default=None,
        help="a bench profile (hardware/bench/*.toml): run tests/hil against the real devices it "
        "names instead of the emulators",
    )


def pytest_configure(config: pytest.Config) -> None:
    workers = getattr(config.option, "numprocesses", None)
    if config.getoption("--bench") is not None and workers not in (None, 0):
        # The suite runs on parallel workers by default (setup.cfg); a bench has one set of real devices.
        raise pytest.UsageError("--bench drives one set of real devices: add -n 0 (no parallel workers)")


@pytest.fixture(scope="session")
def bench_profile(request: pytest.FixtureRequest):
    """The loaded bench profile (a Config), or None when the tests drive the emulators."""
    path = request.config.getoption("--bench")
    if path is None:
        return None
    from firmware.config import load_config

    return load_config(path)


# The longest tests first (real processes: soak, crash loop, then the end-to-end and console tests), so
# that the parallel workers finish together on the thousands of short ones instead of one waiting on the
# other's minute-long soak at the end. Within each group the collected order stays.
LONGEST_FIRST = ("tests/e2e/test_soak.py", "tests/e2e/test_crash_safety.py", "tests/e2e/", "tests/console/")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        return next((i for i, prefix in enumerate(LONGEST_FIRST) if item.nodeid.startswith(prefix)), len(LONGEST_FIRST))

    items.sort(key=rank)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A PostgreSQL server of this session (per worker), started on first use (tests/pg_server.py)."""
    binaries = server_binaries()
    if binaries is None:
        pytest.fail(
            "PostgreSQL's server is missing: `make setup` installs Debian's postgresql "
            "(hardware/system-packages.txt), or set KIOSK_PG_BIN to its bin directory"
        )
    with running_server(binaries) as server:
        yield server


@pytest.fixture
def pg_url(pg_server: PgServer) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test: its ``postgresql://`` URL."""
    with pg_server.database() as url:
        yield url


# The cloud's stores, for the fixtures that run a test on each (``cloud_target``, tests/cloud's ``store``).
STORES = ("sqlite", "postgresql")


@pytest.fixture(params=STORES)
def cloud_target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where the cloud keeps its data, once per store: a SQLite file's path or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "cloud.db")
    return str(request.getfixturevalue("pg_url"))
