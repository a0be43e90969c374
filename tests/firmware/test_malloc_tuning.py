"""The cabinet's process hands large freed buffers back to the system (issue 13: memory on a Pi).

Run in a fresh interpreter each, as `kiosk run` tunes malloc before anything else allocates."""

import subprocess
import sys

import pytest

SCRIPT = """
import re, sys
from firmware.cli import tune_malloc
if sys.argv[1] == "tuned":
    tune_malloc()
def rss_mb():
    return int(re.search(r"VmRSS:\\s+(\\d+)", open("/proc/self/status").read()).group(1)) / 1024
big = bytearray(8 << 20)  # a decoded picture, freed: glibc would raise its mmap threshold to its size
del big
frames = [bytearray(1 << 20) for _ in range(40)]  # 40 frames of 1 MB, touched (zeroed)
before = rss_mb()
del frames[:-1]  # the view is left: all but the newest frame freed
print(before - rss_mb())
"""


def freed_mb(mode: str) -> float:
    result = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, check=True)
    return float(result.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc and /proc are Linux's")
def test_frames_freed_after_a_large_picture_leave_the_resident_memory():
    assert freed_mb("tuned") >= 35, "39 MB of freed 1 MB buffers stayed resident"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc and /proc are Linux's")
def test_without_the_tuning_glibc_keeps_them_which_is_what_the_tuning_is_for():
    assert freed_mb("untuned") < 10
