"""The README's layering rules, checked on the import statements of the tree (an AST walk, no import
runs): ``kiosk_ui``, ``hal`` and ``sync_client`` know nothing of each other nor of ``firmware`` or
``cloud_stub``; ``firmware`` wires them (and only its simulation wiring starts a local cloud);
``cloud_stub`` imports only the wire contract, ``sync_client.schema`` and ``sync_client.cabinet_config``,
which import nothing else of the cabinet, so nothing the cloud reaches pulls in the cabinet's code."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("kiosk_ui", "hal", "sync_client", "firmware", "cloud_stub")
WIRE_CONTRACT = ("sync_client.schema", "sync_client.cabinet_config")
# Module (or package) -> what of the project it may import; the longest matching name decides.
RULES: dict[str, tuple[str, ...]] = {
    "kiosk_ui": ("kiosk_ui",),
    "hal": ("hal",),
    "sync_client": ("sync_client",),
    "sync_client.schema": WIRE_CONTRACT,
    "sync_client.cabinet_config": WIRE_CONTRACT,
    "firmware": ("firmware", "kiosk_ui", "hal", "sync_client"),
    "firmware.sim": ("firmware", "kiosk_ui", "hal", "sync_client", "cloud_stub"),
    "cloud_stub": ("cloud_stub", *WIRE_CONTRACT),
}


@dataclass(frozen=True)
class Violation:
    path: str  # relative to the tree's root
    line: int
    importer: str
    imported: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.importer} imports {self.imported}"


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _rule(module: str, rules: dict[str, tuple[str, ...]]) -> tuple[str, ...] | None:
    matches = [prefix for prefix in rules if _under(module, prefix)]
    return rules[max(matches, key=len)] if matches else None


def _module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(node: ast.Import | ast.ImportFrom, module: str, is_package: bool, modules: set[str]) -> list[str]:
    """The project modules a statement names: ``from a import b`` is a.b when b is a module, else a."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:  # relative: from the importing module's package, up level - 1 packages
        package = module.split(".") if is_package else module.split(".")[:-1]
        anchor = package[: len(package) - (node.level - 1)]
        base = ".".join([*anchor, *([base] if base else [])])
    return [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]


def check(
    root: Path, rules: dict[str, tuple[str, ...]] = RULES, packages: tuple[str, ...] = PACKAGES
) -> list[Violation]:
    """Every import in ``packages`` under ``root`` of a project package that its rule does not allow."""
    files = [path for package in packages for path in sorted((root / package).rglob("*.py"))]
    modules = {_module_name(root, path) for path in files}
    violations = []
    for path in files:
        module = _module_name(root, path)
        allowed = _rule(module, rules)
        if allowed is None:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            for name in _imported(node, module, path.name == "__init__.py", modules):
                in_project = any(_under(name, package) for package in packages)
                if in_project and not any(_under(name, prefix) for prefix in allowed):
                    violations.append(Violation(str(path.relative_to(root)), node.lineno, module, name))
    return violations


def test_the_tree_follows_the_layering_rules() -> None:
    assert [str(v) for v in check(ROOT)] == []


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_the_checker_finds_each_kind_of_violation_in_a_small_tree(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "hal/__init__.py": "",
            "hal/sim/__init__.py": "",
            "hal/sim/board.py": "import asyncio\nfrom hal.errors import E\nfrom firmware.lockboard import c\n",
            "hal/errors.py": "E = 1\n",
            "kiosk_ui/view.py": "def f():\n    from sync_client.outbox import Outbox\n",
            "sync_client/__init__.py": "",
            "sync_client/schema.py": "from . import outbox\n",
            "sync_client/cabinet_config.py": "from .schema import Event\n",
            "sync_client/outbox.py": "import numpy\n",
            "sync_client/snapshots.py": "from hal.camera import Camera\n",
            "cloud_stub/app.py": "from sync_client import cabinet_config\nfrom sync_client.snapshots import f\n",
            "firmware/__init__.py": "",
            "firmware/runtime.py": "from hal.errors import DeviceFault\nfrom cloud_stub.app import create_app\n",
            "firmware/sim.py": "from cloud_stub.app import create_app\nfrom kiosk_ui.view import Intent\n",
        },
    )
    assert sorted(str(v) for v in check(root)) == [
        "cloud_stub/app.py:2: cloud_stub.app imports sync_client.snapshots",
        "firmware/runtime.py:2: firmware.runtime imports cloud_stub.app",
        "hal/sim/board.py:3: hal.sim.board imports firmware.lockboard",
        "kiosk_ui/view.py:2: kiosk_ui.view imports sync_client.outbox",
        "sync_client/schema.py:1: sync_client.schema imports sync_client.outbox",
        "sync_client/snapshots.py:1: sync_client.snapshots imports hal.camera",
    ]


def test_a_clean_small_tree_passes(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "firmware/cabinet.py": "from hal.lock import Lock\nfrom kiosk_ui.view import Intent\nimport sync_client\n",
            "cloud_stub/store/ingest.py": "from sync_client.schema import Event\nimport aiohttp\n",
            "hal/lock.py": "from .errors import DeviceFault\n",
        },
    )
    assert check(root) == []


def test_every_cloud_module_imports_first_in_a_fresh_interpreter() -> None:
    """A circular import shows only when its module is the first imported (a tool or test that starts there):
    each of the cloud's top-level modules, and each module of its store, is imported alone."""
    import subprocess
    import sys

    modules = sorted(f"cloud_stub.{p.stem}" for p in (ROOT / "cloud_stub").glob("*.py") if p.stem != "__init__")
    store = (ROOT / "cloud_stub" / "store").glob("*.py")
    modules += ["cloud_stub.store", *sorted(f"cloud_stub.store.{p.stem}" for p in store if p.stem != "__init__")]
    script = (
        "import subprocess, sys\n"
        "failed = [m for m in sys.argv[1:] if subprocess.run([sys.executable, '-c', 'import ' + m]).returncode]\n"
        "sys.exit(', '.join(failed) or None)"
    )
    done = subprocess.run([sys.executable, "-c", script, *modules], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, f"fail when imported first: {done.stderr.strip().splitlines()[-1:]}"
