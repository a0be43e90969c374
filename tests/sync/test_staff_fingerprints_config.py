"""Staff fingerprints in the configuration: which slot of the cabinet's fingerprint module is whose."""

from __future__ import annotations

import pytest

from sync_client.cabinet_config import ConfigInvalid, StaffFingerprint, parse_config
from tests.sync.conftest import GOOD_CONFIG


def with_fingerprints(fingerprints: object) -> dict:
    return {**GOOD_CONFIG, "version": 1, "retailer": {"staff_fingerprints": fingerprints}}


def test_fingerprints_map_slots_to_staff_and_roles():
    access = parse_config(
        with_fingerprints(
            [{"slot": 0, "staff": "Mei (store)", "role": "retailer"}, {"slot": 7, "staff": "Jo", "role": "technician"}]
        )
    ).retailer
    assert access.staff_fingerprints == (
        StaffFingerprint(0, "Mei (store)", "retailer"),
        StaffFingerprint(7, "Jo", "technician"),
    )
    assert access.fingerprint(7) == StaffFingerprint(7, "Jo", "technician") and access.fingerprint(3) is None


def test_bad_fingerprints_are_refused_naming_each_key():
    with pytest.raises(ConfigInvalid) as refused:
        parse_config(
            with_fingerprints(
                [
                    {"slot": 1000, "staff": "A", "role": "retailer"},
                    {"slot": 2, "staff": " ", "role": "boss"},
                    {"slot": 2, "staff": "B", "role": "retailer"},
                    {"slot": True, "staff": "C", "role": "retailer"},
                    {"slot": 3, "staff": "D", "role": "retailer", "finger": "left thumb"},
                    "slot 4",
                ]
            )
        )
    assert refused.value.problems == [
        "retailer.staff_fingerprints[0].slot: expected an integer >= 0 and <= 999, got 1000",
        "retailer.staff_fingerprints[1].staff: must not be empty",
        "retailer.staff_fingerprints[1].role: expected one of retailer, technician, got 'boss'",
        "retailer.staff_fingerprints[2].slot: slot 2 is given to more than one staff member",
        "retailer.staff_fingerprints[3].slot: expected integer, got boolean",
        "retailer.staff_fingerprints[4].finger: unknown key (known: slot, staff, role)",
        "retailer.staff_fingerprints[5]: expected object, got string",
    ]
