"""PIN hashing and the brute-force guard (which must survive a restart)."""

import pytest

from firmware.attempt_guard import AttemptGuard
from firmware.clock import FakeClock
from firmware.config import ConfigError, parse_config
from sync_client.cabinet_config import hash_secret, verify_secret
from sync_client.outbox import Outbox

FAST = dict(n=2**10, r=8, p=1)


def test_a_pin_verifies_only_against_its_own_hash():
    stored = hash_secret("4321", **FAST)
    assert stored.startswith("scrypt$1024$8$1$") and "4321" not in stored
    assert verify_secret("4321", stored)
    assert not verify_secret("4322", stored)
    assert hash_secret("4321", **FAST) != stored, "salted: the same PIN hashes differently"


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "md5$abc",
        "scrypt$3$8$1$00$00",
        "scrypt$1024$8$1$zz$00",
        "scrypt$1048576000$8$1$0011223344556677$00112233445566778899aabbccddeeff",
    ],
)
def test_malformed_or_abusive_hashes_never_verify(bad):
    assert verify_secret("1", bad) is False


def test_a_malformed_pin_hash_in_the_config_names_the_key():
    with pytest.raises(ConfigError, match=r"retailer.pin_hash: expected scrypt\$n\$r\$p\$salt_hex\$hash_hex"):
        parse_config({"retailer": {"pin_hash": "plain-text-1234"}}, "kiosk.toml")


def test_five_wrong_answers_lock_with_growing_delays_that_survive_a_restart(tmp_path):
    clock = FakeClock()
    outbox = Outbox(tmp_path / "c.db", "cab")
    guard = AttemptGuard(outbox, "pin_pad", free_attempts=5, first_delay_s=30, clock=clock)
    delays = []
    for _ in range(7):
        with outbox.transaction() as tx:
            delays.append(guard.record(tx, ok=False))
    assert delays == [0, 0, 0, 0, 30, 60, 120]
    assert guard.locked_for() == 120
    clock.advance(100)
    outbox.close()
    # The plug was pulled: the next boot's monotonic clock starts again, the wall clock goes on.
    rebooted = FakeClock(now=3.0, wall_at_start=clock.time() + 5)
    reopened = Outbox(tmp_path / "c.db", "cab")
    guard = AttemptGuard(reopened, "pin_pad", clock=rebooted)
    assert guard.failures == 7 and guard.locked_for() == 15
    rebooted.advance(15)
    assert guard.locked_for() == 0
    with reopened.transaction() as tx:
        guard.record(tx, ok=True)
    assert guard.failures == 0 and guard.locked_for() == 0
    reopened.close()
