"""Recording stand-ins for the system commands hardware/rpi/install.sh runs.

Each stub appends one JSON line (command, arguments) to $STUB_LOG and keeps just
enough state to answer the queries install.sh makes, so a second run sees what
the first one did: apt-get records installed packages for dpkg-query, useradd
and friends edit the fake root's passwd and group files, systemctl enable makes
that unit's is-enabled true (disable false again; `Stubs.enable` for what the OS
enabled), and `python3 -m venv` makes a venv whose pip is a stub too.
$STUB_FAIL names commands that exit 1 (to test failure handling).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

COMMON = r"""
import json, os, sys
from pathlib import Path
NAME = os.path.basename(sys.argv[0])
ARGS = sys.argv[1:]
with open(os.environ["STUB_LOG"], "a") as log:
    log.write(json.dumps([NAME, *ARGS]) + "\n")
if NAME in os.environ.get("STUB_FAIL", "").split(","):
    print(f"{NAME}: failing as asked", file=sys.stderr)
    sys.exit(1)
STATE = Path(os.environ["STUB_STATE"])

def option(name, default=""):
    return ARGS[ARGS.index(name) + 1] if name in ARGS else default

def root():
    return Path(option("--root", "/"))

def edit_group(path, group, member=None, gid=None):
    lines = path.read_text().splitlines() if path.exists() else []
    out, found = [], False
    for line in lines:
        fields = line.split(":")
        if fields[0] == group:
            found = True
            members = [m for m in fields[3].split(",") if m]
            if member and member not in members:
                members.append(member)
            fields[3] = ",".join(members)
        out.append(":".join(fields))
    if not found:
        out.append(f"{group}:x:{gid if gid is not None else 900 + len(out)}:{member or ''}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(out) + "\n")
"""

BODIES = {
    "dpkg-query": r"""
installed = (STATE / "installed").read_text().split() if (STATE / "installed").exists() else []
if ARGS[-1] in installed:
    print("install ok installed", end="")
    sys.exit(0)
sys.exit(1)
""",
    "apt-get": r"""
if "install" in ARGS:
    packages = [a for a in ARGS[ARGS.index("install") + 1:] if not a.startswith("-")]
    with open(STATE / "installed", "a") as fh:
        fh.write("".join(p + "\n" for p in packages))
""",
    "groupadd": r"""
edit_group(root() / "etc/group", ARGS[-1])
""",
    "useradd": r"""
name, home = ARGS[-1], option("--home-dir")
uid = int(os.environ["STUB_UID"])
etc = root() / "etc"
etc.mkdir(parents=True, exist_ok=True)
with open(etc / "passwd", "a") as fh:
    fh.write(f"{name}:x:{uid}:{uid}::{home}:{option('--shell')}\n")
edit_group(etc / "group", name, gid=uid)
for group in option("--groups").split(","):
    edit_group(etc / "group", group, member=name)
""",
    "usermod": r"""
edit_group(root() / "etc/group", option("--groups"), member=ARGS[-1])
""",
    "systemctl": r"""
unit = STATE / f"enabled-{ARGS[-1]}"
if "is-enabled" in ARGS:
    sys.exit(0 if unit.exists() else 1)
if "enable" in ARGS:
    unit.touch()
if "disable" in ARGS:
    unit.unlink(missing_ok=True)
""",
    "udevadm": "",
    "pip": r"""
bin_dir = Path(sys.argv[0]).parent
(bin_dir / "kiosk").write_text("#!/bin/sh\nexit 0\n")
(bin_dir / "kiosk").chmod(0o755)
""",
    "python3": r"""
if ARGS[:2] == ["-m", "venv"]:
    venv = Path(ARGS[-1])
    (venv / "bin").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("include-system-site-packages = " +
                                     str("--system-site-packages" in ARGS).lower() + "\n")
    for tool in ("python", "pip"):
        (venv / "bin" / tool).write_text(os.environ["STUB_PIP"])
        (venv / "bin" / tool).chmod(0o755)
""",
}


def script(name: str) -> str:
    return f"#!{sys.executable}\n{COMMON}\n{BODIES[name]}"


@dataclass
class Stubs:
    bin: Path
    log: Path
    state: Path
    uid: int

    def env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            PATH=f"{self.bin}:{os.environ['PATH']}",
            STUB_LOG=str(self.log),
            STUB_STATE=str(self.state),
            STUB_UID=str(self.uid),
            STUB_PIP=script("pip"),
        )
        env.update(extra)
        return env

    def calls(self) -> list[list[str]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def enable(self, unit: str) -> None:
        """A unit the system came with enabled (e.g. Raspberry Pi OS's swap file service)."""
        (self.state / f"enabled-{unit}").touch()

    def clear(self) -> None:
        self.log.unlink(missing_ok=True)


def make_stubs(where: Path) -> Stubs:
    bin_dir, state = where / "bin", where / "state"
    bin_dir.mkdir(parents=True)
    state.mkdir()
    for name in BODIES:
        if name == "pip":
            continue  # made inside the venv by the python3 stub
        path = bin_dir / name
        path.write_text(script(name))
        path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    # As root, a service uid like the real one; otherwise our own, so that chown still works.
    uid = 999 if os.geteuid() == 0 else os.getuid()
    return Stubs(bin_dir, where / "calls.jsonl", state, uid)


def snapshot(root: Path) -> dict[str, tuple]:
    """Every path under root with its type, mode, owner, size, mtime and content."""
    seen: dict[str, tuple] = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        content = path.read_bytes() if path.is_file() and not path.is_symlink() else None
        seen[str(path.relative_to(root))] = (
            stat.S_IFMT(st.st_mode),
            stat.S_IMODE(st.st_mode),
            st.st_uid,
            st.st_gid,
            st.st_mtime_ns,
            content,
        )
    return seen


def run_install(install: Path, root: Path, stubs: Stubs, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(install), "--root", str(root), *args],
        capture_output=True,
        text=True,
        check=False,
        env=stubs.env(**env),
        timeout=60,
    )
