"""Signed releases: a TUF repository (python-tuf's Metadata API) of the cabinet's software.

A release is the project's wheel and the lock board's MicroPython files, published as TUF targets under
``<version>/`` with an index, ``releases.json``, naming the newest version and each version's files. The
repository is two static directories, ``metadata/`` and ``targets/``, that any static host can serve (the
cloud serves them under ``/updates/``).

Keys (ed25519, PEM files):
- root: offline, on a USB stick in a safe; used only by ``init`` and ``rotate-root``. It says which keys may
  sign the other roles, so a stolen online key is replaced by signing a new root, not by re-provisioning
  every cabinet.
- targets: the release key, on the machine that cuts releases, not on the cloud server: whoever holds it
  decides what cabinets install, so a compromised cloud server alone cannot publish software.
- timestamp and snapshot: one online key that lives with the cloud, so their short expiry (a day, a week)
  can be renewed by ``refresh`` without a person; holding it only lets one re-sign the existing release set.

Consistent snapshots: metadata is stored as ``N.role.json`` and targets as ``<sha256>.<name>``, so a
cabinet downloading during a release never mixes two of them.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.serialization import load_pem_private_key
from packaging.utils import InvalidWheelFilename, parse_wheel_filename
from packaging.version import InvalidVersion, Version
from securesystemslib.signer import CryptoSigner  # type: ignore[attr-defined]
from tuf.api.metadata import (  # type: ignore[attr-defined]
    Metadata,
    MetaFile,
    Root,
    Signed,
    Snapshot,
    TargetFile,
    Targets,
    Timestamp,
)
from tuf.api.serialization.json import JSONSerializer

INDEX = "releases.json"
WHEELS = "wheels"  # the dependencies' wheels, shared by every release that needs the same file


@dataclass(frozen=True)
class Expiry:
    """How long each role's metadata stays valid: a cabinet refuses metadata past it (a freeze attack)."""

    root: timedelta = timedelta(days=365)
    targets: timedelta = timedelta(days=90)
    snapshot: timedelta = timedelta(days=7)
    timestamp: timedelta = timedelta(days=1)


class ReleaseError(Exception):
    """A release refused, naming the file or value at fault."""


def generate_key(path: Path) -> CryptoSigner:
    """A new ed25519 key written to ``path`` (0600); refuses to overwrite one."""
    signer = CryptoSigner.generate_ed25519()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ReleaseError(f"{path}: a key is already there; not overwritten") from None
    with os.fdopen(fd, "wb") as out:
        out.write(signer.private_bytes)
    return signer


def load_key(path: Path) -> CryptoSigner:
    try:
        return CryptoSigner(load_pem_private_key(path.read_bytes(), password=None))
    except (OSError, ValueError, TypeError) as exc:
        raise ReleaseError(f"{path}: not a readable private key ({exc})") from None


class Repository:
    """The repository in ``root_dir`` (``metadata/`` and ``targets/``); ``now`` is injectable for tests."""

    def __init__(self, root_dir: Path, expiry: Expiry = Expiry(), now: datetime | None = None) -> None:
        self.metadata_dir = root_dir / "metadata"
        self.targets_dir = root_dir / "targets"
        self.expiry = expiry
        self._now = now

    def now(self) -> datetime:
        return (self._now or datetime.now(UTC)).replace(microsecond=0)

    # --- creating and rotating -------------------------------------------------------------
    def init(self, root_key: CryptoSigner, targets_key: CryptoSigner, online_key: CryptoSigner) -> None:
        """A new repository: root v1 naming the three keys, empty targets, snapshot and timestamp."""
        if (self.metadata_dir / "1.root.json").exists():
            raise ReleaseError(f"{self.metadata_dir}: a repository is already there (rotate-root changes its keys)")
        self.metadata_dir.mkdir(parents=True, exist_ok=True)
        self.targets_dir.mkdir(parents=True, exist_ok=True)
        root = Root(expires=self.now() + self.expiry.root, consistent_snapshot=True)
        for role, key in (("root", root_key), ("targets", targets_key), ("snapshot", online_key)):
            root.add_key(key.public_key, role)
        root.add_key(online_key.public_key, "timestamp")
        self._write(Metadata(root), [root_key])
        targets = Targets(expires=self.now() + self.expiry.targets)
        self._write(Metadata(targets), [targets_key])
        self._snapshot_and_timestamp(online_key)

    def rotate_root(
        self, old_root_key: CryptoSigner, new_keys: dict[str, CryptoSigner], online_key: CryptoSigner | None = None
    ) -> int:
        """Root N+1 signed by the old and the new root key, replacing the keys of the roles in ``new_keys``
        (``root``, ``targets``, ``timestamp``, ``snapshot``); cabinets walk the chain of roots. The roles whose
        key changed are signed again with it at once (targets, then snapshot and timestamp with the new online
        key or ``online_key``), so that the repository never serves metadata the new root refuses. Returns N+1."""
        online = new_keys.get("timestamp") or online_key
        if online is None:
            raise ReleaseError("rotate-root: the online key (current or new) is needed to sign the new snapshot")
        current = self._load("root", Root)
        root = current.signed
        for role, key in new_keys.items():
            if role not in ("root", "targets", "timestamp", "snapshot"):
                raise ReleaseError(f"rotate-root: unknown role {role!r}")
            for keyid in list(root.roles[role].keyids):
                root.revoke_key(keyid, role)
            root.add_key(key.public_key, role)
        root.version += 1
        root.expires = self.now() + self.expiry.root
        signers = [old_root_key, *([new_keys["root"]] if "root" in new_keys else [])]
        self._write(Metadata(root), signers)
        if "targets" in new_keys:
            targets = self._load("targets", Targets)
            targets.signed.version += 1
            self._write(targets, [new_keys["targets"]])
        self._snapshot_and_timestamp(online)
        return int(root.version)

    # --- releasing -------------------------------------------------------------------------
    def add_release(
        self,
        version: str,
        wheel: Path,
        lockboard_files: Iterable[Path],
        targets_key: CryptoSigner,
        online_key: CryptoSigner,
        wheelhouse: Iterable[Path] = (),
    ) -> int:
        """Publish ``version``: its files as targets, the index pointing at it; returns the targets' version.
        A version not newer than every published one is refused (cabinets never go back). ``wheelhouse``: the
        wheels of its dependencies (for the cabinet's platform), each the target ``wheels/<file>``, so a wheel
        two releases share is one target, which a cabinet that has it already does not download again."""
        try:
            new = Version(version)
        except InvalidVersion:
            raise ReleaseError(f"version: {version!r} is not a version number (e.g. 1.4.0)") from None
        if not wheel.is_file() or wheel.suffix != ".whl":
            raise ReleaseError(f"{wheel}: not a wheel file (build one with: pip wheel --no-deps -w dist .)")
        boards = sorted(lockboard_files)
        if not boards:
            raise ReleaseError("lockboard: no lock board files given")
        md = self._load("targets", Targets)
        index = self.index()
        published = [Version(v) for v in index["releases"]]
        if published and new <= max(published):
            raise ReleaseError(f"version: {version} is not newer than the latest release {max(published)}")
        targets = md.signed
        entry: dict[str, object] = {"wheel": self._add_target(targets, f"{version}/{wheel.name}", wheel.read_bytes())}
        entry["lockboard"] = [
            self._add_target(targets, f"{version}/lockboard/{p.name}", p.read_bytes()) for p in boards
        ]
        entry["wheels"] = [self._add_dependency(targets, p) for p in sorted(wheelhouse) if p.name != wheel.name]
        index["releases"][version] = entry
        index["latest"] = version
        self._add_target(targets, INDEX, json.dumps(index, sort_keys=True, indent=1).encode())
        targets.version += 1
        targets.expires = self.now() + self.expiry.targets
        self._write(md, [targets_key])
        self._snapshot_and_timestamp(online_key)
        return int(targets.version)

    def refresh(self, online_key: CryptoSigner) -> None:
        """New snapshot and timestamp (their expiry renewed) over the same targets: run it daily."""
        self._snapshot_and_timestamp(online_key)

    def index(self) -> dict[str, Any]:
        """The release index as last published ({"latest": None, "releases": {}} before the first)."""
        targets = self._load("targets", Targets).signed
        info = targets.targets.get(INDEX)
        if info is None:
            return {"latest": None, "releases": {}}
        index: dict[str, Any] = json.loads(self._target_path(info).read_bytes())
        return index

    # --- files -----------------------------------------------------------------------------
    def _add_dependency(self, targets: Targets, wheel: Path) -> str:
        try:
            parse_wheel_filename(wheel.name)
        except InvalidWheelFilename as exc:
            raise ReleaseError(f"{wheel}: not a wheel ({exc})") from None
        data = wheel.read_bytes()
        name = f"{WHEELS}/{wheel.name}"
        known = targets.targets.get(name)
        if known is not None and known.hashes["sha256"] != hashlib.sha256(data).hexdigest():
            raise ReleaseError(
                f"{wheel}: a different file of this name was published before; a wheel's name must say what is in "
                "it (give the rebuild a new version or build number)"
            )
        return self._add_target(targets, name, data)

    def _add_target(self, targets: Targets, name: str, data: bytes) -> str:
        info = TargetFile(length=len(data), hashes={"sha256": hashlib.sha256(data).hexdigest()}, path=name)
        path = self._target_path(info)
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_atomic(path, data)
        targets.targets[name] = info
        return name

    def _target_path(self, info: TargetFile) -> Path:
        directory, _, base = info.path.rpartition("/")
        return self.targets_dir / directory / f"{info.hashes['sha256']}.{base}"

    def _snapshot_and_timestamp(self, online_key: CryptoSigner) -> None:
        targets = self._load("targets", Targets).signed
        snapshot = self._load_optional("snapshot", Snapshot)
        snap = snapshot.signed if snapshot else Snapshot()
        snap.meta = {"targets.json": MetaFile(version=targets.version)}
        snap.version += 1 if snapshot else 0
        snap.expires = self.now() + self.expiry.snapshot
        self._write(Metadata(snap), [online_key])
        stamp_md = self._load_optional("timestamp", Timestamp)
        stamp = stamp_md.signed if stamp_md else Timestamp()
        stamp.snapshot_meta = MetaFile(version=snap.version)
        stamp.version += 1 if stamp_md else 0
        stamp.expires = self.now() + self.expiry.timestamp
        self._write(Metadata(stamp), [online_key])

    def _write(self, md: Metadata[Any], signers: list[CryptoSigner]) -> None:
        md.signatures.clear()
        for signer in signers:
            md.sign(signer, append=True)
        data = md.to_bytes(JSONSerializer(compact=False))
        role = md.signed.type
        if role == Timestamp.type:
            _write_atomic(self.metadata_dir / "timestamp.json", data)
            return
        _write_atomic(self.metadata_dir / f"{md.signed.version}.{role}.json", data)
        # the newest under its plain name too: what the release tool reads back next time
        _write_atomic(self.metadata_dir / f"{role}.json", data)

    def _load(self, role: str, kind: type[Signed]) -> Metadata[Any]:
        md = self._load_optional(role, kind)
        if md is None:
            raise ReleaseError(f"{self.metadata_dir}/{role}.json: no repository here (run: kiosk-cloud release init)")
        return md

    def _load_optional(self, role: str, kind: type[Signed]) -> Metadata[Any] | None:
        path = self.metadata_dir / f"{role}.json"
        if not path.exists():
            return None
        md = Metadata.from_file(str(path))
        if not isinstance(md.signed, kind):
            raise ReleaseError(f"{path}: holds {md.signed.type} metadata, expected {role}")
        return md


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
