"""The cabinet and cloud fixtures of the firmware tests, for the updater's tests in a whole cabinet."""

from tests.firmware.cabinet_rig import cabinets
from tests.sync.conftest import site

__all__ = ["cabinets", "site"]
