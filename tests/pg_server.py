"""A real PostgreSQL server for the cloud's tests: Debian's server binaries (the ``postgresql`` package of
hardware/system-packages.txt), a cluster made by initdb in a temporary directory, reached over a unix socket
there (no TCP port), stopped and deleted at the end of the session.

initdb and the server refuse to run as root: as root (CI) they run as ``nobody``, in a directory it owns.
Each test gets a fresh database copied from a migrated template (``CREATE DATABASE … TEMPLATE``: tens of ms).
The fleet benchmark (benchmarks/bench_fleet_ingest.py --pg) starts its private server with the same code,
durable (fsync on) since it measures the disk.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

from cloud_stub.store import PostgresCloudStore

TEMPLATE = "kiosk_migrated"
_names = itertools.count(1)


def server_binaries() -> Path | None:
    """The newest installed server's bin directory (KIOSK_PG_BIN overrides), or None."""
    override = os.environ.get("KIOSK_PG_BIN")
    if override:
        return Path(override) if (Path(override) / "initdb").exists() else None
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name), reverse=True
    )
    return found[0].parent if found else None


def _as_server_user(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "nobody", "--", *argv] if os.geteuid() == 0 else argv


@dataclass
class PgServer:
    directory: Path  # the cluster (data/), the server's socket and its log

    def url(self, database: str) -> str:
        return f"postgresql://postgres@/{database}?host={self.directory}"

    def postmaster_pid(self) -> int:
        """The server's main process (its backends, writer and checkpointer are its children)."""
        return int((self.directory / "data" / "postmaster.pid").read_text().split()[0])

    def admin(self) -> psycopg.Connection:
        return psycopg.connect(self.url("postgres"), autocommit=True)

    def database(self) -> AbstractContextManager[str]:
        """A fresh database at the newest migration; its URL. Dropped afterwards."""
        # FILE_COPY: a copy of the small template's files, twice as fast here as the default WAL_LOG
        return self._made(f"t{os.getpid()}_{next(_names)}", f" TEMPLATE {TEMPLATE} STRATEGY FILE_COPY")

    def empty_database(self) -> AbstractContextManager[str]:
        """A database with no tables at all (what `kiosk-cloud migrate` finds on a new server)."""
        return self._made(f"e{os.getpid()}_{next(_names)}", "")

    @contextmanager
    def _made(self, name: str, how: str) -> Iterator[str]:
        with self.admin() as conn:
            conn.execute(f"CREATE DATABASE {name}{how}")
        try:
            yield self.url(name)
        finally:
            with self.admin() as conn:
                conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


def benchmark_server(*, durable: bool = True) -> AbstractContextManager[PgServer]:
    """A private server for a benchmark's ``--pg``; SystemExit naming what to install when there is none."""
    binaries = server_binaries()
    if binaries is None:
        raise SystemExit("--pg: PostgreSQL's server is missing (hardware/system-packages.txt; or KIOSK_PG_BIN)")
    return running_server(binaries, durable=durable)


@contextmanager
def running_server(binaries: Path, *, durable: bool = False) -> Iterator[PgServer]:
    """A new cluster, started; ``durable``: fsync and full-page writes on, as a production server."""
    root = os.geteuid() == 0
    # As root the server runs as nobody: in /tmp, which it can reach whatever TMPDIR says (e.g. under /root).
    directory = Path(tempfile.mkdtemp(prefix="kiosk-pg-", dir="/tmp" if root else None))
    if root:
        shutil.chown(directory, "nobody")
    data, log = directory / "data", directory / "server.log"
    run = {"check": True, "capture_output": True, "text": True, "cwd": "/", "timeout": 60}
    try:
        subprocess.run(
            _as_server_user(
                [str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"]
                + ["--locale=C", "--no-sync"]
            ),
            **run,  # type: ignore[call-overload]
        )
        # Durability is not under test (fsync off): the tests measure behaviour, not the disk.
        options = f"-k {directory} -c listen_addresses='' -c max_connections=200"
        options += "" if durable else " -c fsync=off -c full_page_writes=off"
        subprocess.run(
            _as_server_user(
                [str(binaries / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "-w", "-t", "30", "start"]
            ),
            **run,  # type: ignore[call-overload]
        )
    except subprocess.CalledProcessError as exc:
        text = log.read_text() if log.exists() else ""
        shutil.rmtree(directory, ignore_errors=True)
        raise RuntimeError(f"PostgreSQL did not start: {exc.stderr or exc.stdout}{text}") from None
    server = PgServer(directory)
    try:
        with server.admin() as conn:
            conn.execute(f"CREATE DATABASE {TEMPLATE}")
        PostgresCloudStore(server.url(TEMPLATE)).close()  # migrated once; each test copies it
        yield server
    finally:
        subprocess.run(
            _as_server_user([str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]),
            capture_output=True,
            cwd="/",
            timeout=60,
        )
        shutil.rmtree(directory, ignore_errors=True)
