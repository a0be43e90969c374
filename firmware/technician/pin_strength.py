"""Which PINs `kiosk pin hash` refuses: the ones a thief tries first.

Five wrong PINs lock the PIN pad (firmware/attempt_guard.py), so a PIN must not be among the first
guesses: one digit repeated, a run up or down the digits, a short block repeated (1212, 123123), a
year (birth years are the commonest 4-digit PINs), or one of the lists' favourites (keypad patterns,
words spelt on the keypad). A lab or bench cabinet may still use one with --force.
"""

from __future__ import annotations

# The most common PINs beyond the rules below, from published analyses of leaked PIN sets
# (DataGenetics 2012; Wang et al., "Understanding Human-chosen PINs", 2017): keypad shapes and words.
COMMON_PINS = frozenset(
    {
        "2580", "0852", "1470", "0741", "3690", "0963", "1379", "1397", "7913", "1590", "7410", "8520",
        "9630", "5683", "1004", "2468", "1357", "13579", "147258", "147258369", "159753", "258456",
        "102030", "520520", "5201314", "7758521", "131420", "112233", "123654", "147852", "963852",
    }
)  # fmt: skip
YEARS = range(1940, 2040)


def weak_pin_reason(pin: str) -> str | None:
    """Why ``pin`` (digits) is among the first guesses, or None when it is not."""
    if len(set(pin)) == 1:
        return "one digit repeated"
    steps = {(int(b) - int(a)) % 10 for a, b in zip(pin, pin[1:], strict=False)}
    if steps in ({1}, {9}):
        return "a run of consecutive digits"
    for size in range(1, len(pin) // 2 + 1):
        if len(pin) % size == 0 and pin[:size] * (len(pin) // size) == pin:
            return f"the block {pin[:size]} repeated"
    if len(pin) == 4 and int(pin) in YEARS:
        return "a year"
    if pin in COMMON_PINS or pin[::-1] in COMMON_PINS:
        return "one of the most common PINs"
    return None
