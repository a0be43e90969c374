"""SQL stays in the store: the firmware, the UI and the devices hold none, and the cabinet database's
tables are defined in one place (sync_client/store/migrations.py)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).parents[2]
SQL = re.compile(r"\b(SELECT\s.+\sFROM|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|PRAGMA\s)", re.S)
DDL = re.compile(r"\b(CREATE\s+(TABLE|INDEX|UNIQUE\s+INDEX)|ALTER\s+TABLE|DROP\s+TABLE)\b")
RUNS_SQL = {"execute", "executemany", "executescript"}
# Stores of their own: the snapshot uploads' bookkeeping is a separate file beside the snapshots.
OWN_DATABASES = {"sync_client/snapshots.py"}


def sources(*packages: str) -> list[Path]:
    return sorted(p for package in packages for p in (ROOT / package).rglob("*.py"))


def findings(path: Path, pattern: re.Pattern[str]) -> list[str]:
    """Strings matching ``pattern`` and calls of a cursor's execute methods, as "file:line"."""
    tree = ast.parse(path.read_text(), str(path))
    where = f"{path.relative_to(ROOT)}"
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and pattern.search(node.value):
            found.append(f"{where}:{node.lineno}: {node.value.strip()[:60]!r}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in RUNS_SQL:
            found.append(f"{where}:{node.lineno}: .{node.func.attr}(...)")
    return found


def test_no_sql_in_the_firmware_the_ui_or_the_devices() -> None:
    assert [f for p in sources("firmware", "kiosk_ui", "hal") for f in findings(p, SQL)] == []


def test_the_cabinet_database_is_defined_only_by_its_migrations() -> None:
    found = [
        f
        for p in sources("firmware", "kiosk_ui", "hal", "sync_client")
        if str(p.relative_to(ROOT)) not in OWN_DATABASES | {"sync_client/store/migrations.py"}
        for f in findings(p, DDL)
        if ".execute" not in f  # calls are the other test's business; here: table definitions
    ]
    assert found == []
