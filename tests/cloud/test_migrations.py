"""Versioned migrations: one history on SQLite and PostgreSQL, `kiosk-cloud migrate` applies what is pending
and says so, `serve` refuses a database that needs migrations unless told to apply them, and a database the
previous release made (no migrations table) is recognised and upgraded with every row kept."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from cloud_stub import cli
from cloud_stub.sqldb import SQLITE, Conn, Migration
from cloud_stub.store import MigrationsPending, PostgresCloudStore, SqliteCloudStore, migrations, open_store
from tests.pg_server import PgServer

BEFORE = Path(__file__).parents[1] / "fixtures" / "cloud_before_migrations.sql"
APPLIED = "".join(f"{{0}}: applied migration {m.version} ({m.name})\n" for m in migrations.MIGRATIONS)
NEEDED = ", ".join(f"{m.version} ({m.name})" for m in migrations.MIGRATIONS)
LATER = len(migrations.MIGRATIONS) + 1  # a migration after the newest


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def previous_release(tmp_path: Path) -> Path:
    """A cloud database as commit 07fae0f left it (tests/fixtures/make_cloud_before_migrations.py)."""
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(BEFORE.read_text())
    conn.close()
    return path


def columns_of(path: Path) -> dict[str, list[str]]:
    conn = sqlite3.connect(path)
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    found = {t: [r[1] for r in conn.execute(f"PRAGMA table_info({t})")] for t in tables}
    conn.close()
    return found


def rows_of(path: Path, columns: dict[str, list[str]] | None = None) -> dict[str, list[tuple[object, ...]]]:
    """Every table's rows; of ``columns``' tables only those columns (the ones an older database had)."""
    conn = sqlite3.connect(path)
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    chosen = {t: ", ".join(columns[t]) if columns and t in columns else "*" for t in tables}
    found = {t: sorted(conn.execute(f"SELECT {chosen[t]} FROM {t}").fetchall(), key=repr) for t in tables}
    conn.close()
    return found


@pytest.fixture
def empty_pg(pg_server: PgServer) -> Iterator[str]:
    with pg_server.empty_database() as url:
        yield url


def history(target: str) -> list[tuple[int, str]]:
    s = open_store(target, migrate=False)
    try:
        with s._db.read() as conn:
            return [(r["version"], r["name"]) for r in conn.execute("SELECT * FROM schema_migrations ORDER BY 1")]
    finally:
        s.close()


def test_a_database_of_the_previous_release_is_migrated_with_every_row_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = previous_release(tmp_path)
    before, columns_of_before = rows_of(path), columns_of(path)
    assert "schema_migrations" not in before and len(before["events"]) == 6

    assert run(capsys, "serve", "--port", "0", "--db", str(path)) == (
        1,
        "",
        f"kiosk-cloud: the database needs migrations {NEEDED}: run `kiosk-cloud migrate` (or serve --migrate)\n",
    )
    assert run(capsys, "retailer", "add", "shop-b", "--db", str(path))[0] == 1, "no command writes to it before"
    assert rows_of(path) == before, "refusing changed nothing"

    assert run(capsys, "migrate", "--db", str(path)) == (0, APPLIED.format(path), "")
    after = rows_of(path, columns_of_before)  # columns added since get their defaults: the old ones are kept
    assert {t: r for t, r in after.items() if t in before} == before, "every row as it was"
    assert [r[:2] for r in after["schema_migrations"]] == [(m.version, m.name) for m in migrations.MIGRATIONS]
    assert run(capsys, "migrate", "--db", str(path)) == (0, f"{path}: up to date (no migration pending)\n", "")

    upgraded = SqliteCloudStore(path, migrate=False)
    try:  # what the retailer reads of the old rows
        assert (
            upgraded.sales_summary("shop-a", since_day="2026-11-18", until_day="2026-11-18")["periods"][0]["cents"]
            == 49900
        )
        assert [t["ticket_id"] for t in upgraded.tickets_of("shop-a")] == ["R-0001"]
        assert [c["kind"] for c in upgraded.pending_commands("cab-1")] == ["refresh_config"]
    finally:
        upgraded.close()


def test_migrate_builds_the_same_history_on_a_new_sqlite_file_and_a_new_postgresql_database(
    tmp_path: Path, empty_pg: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(tmp_path / "new.db")
    for target in (path, empty_pg):
        assert run(capsys, "migrate", "--db", target) == (0, APPLIED.format(target), "")
        assert run(capsys, "migrate", "--db", target) == (0, f"{target}: up to date (no migration pending)\n", "")
    assert history(path) == history(empty_pg) == [(m.version, m.name) for m in migrations.MIGRATIONS]


def test_a_password_in_the_url_is_never_printed(capsys: pytest.CaptureFixture[str], pg_server: PgServer) -> None:
    url = f"postgresql://postgres:s3cret@/nosuchdb?host={pg_server.directory}"
    code, out, err = run(capsys, "migrate", "--db", url)
    assert code == 1 and "nosuchdb" in err and "s3cret" not in out + err


def _add_note_column(conn: Conn) -> None:
    """A later migration whose SQL differs by database."""
    kind = "TEXT" if conn.dialect == SQLITE else "VARCHAR(200)"
    conn.execute(f"ALTER TABLE cabinets ADD COLUMN note {kind}")


@pytest.mark.parametrize("where", ["sqlite", "postgresql"])
def test_a_pending_migration_stops_serve_and_is_applied_once_on_either_store(
    where: str,
    tmp_path: Path,
    empty_pg: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    target = str(tmp_path / "c.db") if where == "sqlite" else empty_pg
    first = open_store(target)
    first.add_retailer("shop-a")
    first.close()
    before = [(m.version, m.name) for m in migrations.MIGRATIONS]
    later = Migration(LATER, "cabinet_notes", _add_note_column)
    monkeypatch.setattr(migrations, "MIGRATIONS", (*migrations.MIGRATIONS, later))

    with pytest.raises(MigrationsPending, match=rf"{LATER} \(cabinet_notes\)"):
        open_store(target, migrate=False)
    code, _, err = run(capsys, "serve", "--port", "0", "--db", target)
    assert code == 1 and f"migrations {LATER} (cabinet_notes)" in err
    assert run(capsys, "migrate", "--db", target) == (0, f"{target}: applied migration {LATER} (cabinet_notes)\n", "")
    upgraded = open_store(target, migrate=False)
    try:
        assert upgraded.has_retailer("shop-a")
        with upgraded._db.write() as conn:
            conn.execute("UPDATE cabinets SET note = ?", ("kept",))  # the column is there
    finally:
        upgraded.close()
    assert history(target) == [*before, (LATER, "cabinet_notes")]


def test_nodes_migrating_one_postgresql_at_once_apply_each_migration_once(empty_pg: str) -> None:
    """Two `serve --migrate` starting together: the advisory lock lets one apply, the other finds it done."""
    results: list[list[int]] = []
    errors: list[BaseException] = []

    def node() -> None:
        try:
            s = PostgresCloudStore(empty_pg)
            results.append([m.version for m in s.migrated])
            s.close()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=node) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    versions = [m.version for m in migrations.MIGRATIONS]
    assert sorted(v for applied in results for v in applied) == versions, "each applied by one of them"
    with psycopg.connect(empty_pg) as conn:
        assert conn.execute("SELECT version FROM schema_migrations ORDER BY 1").fetchall() == [(v,) for v in versions]
