"""The footfall settings of the cabinet's TOML file: off by default (and the template says so), each bad value
named by its key."""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware.config import ConfigError, load_config

REPO = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_text(text)
    return path


def test_footfall_is_off_by_default_and_the_template_says_so() -> None:
    assert load_config(None).footfall.enabled is False
    template = REPO / "hardware/rpi/kiosk.toml.template"
    assert load_config(template).footfall.enabled is False
    section = template.read_text().split("[footfall]")[1].split("\n[")[0]
    assert "enabled = false" in section and "Off by default" in section and "never an image" in section


def test_footfall_settings_are_read(tmp_path: Path) -> None:
    config = load_config(
        write(tmp_path, '[footfall]\nenabled = true\nfps = 2.5\nstop_s = 5\nresolution = "320x240"\ncommit_s = 60\n')
    )
    f = config.footfall
    assert (f.enabled, f.fps, f.stop_s, f.resolution, f.commit_s) == (True, 2.5, 5.0, "320x240", 60.0)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("fps = 0", "footfall.fps"),
        ("fps = 30", "footfall.fps"),
        ("stop_s = 0.1", "footfall.stop_s"),
        ('resolution = "640x480"', "footfall.resolution"),
        ('enabled = "yes"', "footfall.enabled"),
        ("commit_s = 1", "footfall.commit_s"),
        ("colour = 1", "footfall.colour"),
    ],
)
def test_a_bad_footfall_value_is_named(tmp_path: Path, text: str, named: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, f"[footfall]\n{text}\n"))
    assert any(named in p for p in err.value.problems), err.value.problems


def test_footfall_without_a_camera_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, '[camera]\nbackend = "none"\n[footfall]\nenabled = true\n'))
    assert any("footfall.enabled: counting people needs a camera" in p for p in err.value.problems)
