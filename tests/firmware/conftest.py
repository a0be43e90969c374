"""Fixtures the firmware tests share: a whole cabinet rebuilt across power cuts, and a real cloud stub."""

from tests.firmware.cabinet_rig import cabinets
from tests.sync.conftest import site

__all__ = ["cabinets", "site"]
