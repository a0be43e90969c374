"""The footfall counter on generated scenes with a known number of people (hal/sim/footfall_scene.py: textured
background, drifting light, sensor noise, upright figures of random size, colour and speed crossing the view,
some standing, some entering together so that their outlines overlap).

Tolerance: over several scenes, passers-by within 15 % of the truth (people who enter together may merge into
one blob for good) and stoppers within one of it; a scene without anyone counts nobody."""

from __future__ import annotations

import numpy as np
import pytest

from hal.footfall import Counts, FootfallCounter, FootfallSettings
from hal.sim.footfall_scene import WARM_UP_S, Scene, Walker, random_scene
from hal.sim.scene import colour_bars

FPS = 4.0
SIZE = (160, 120)  # the frames given to the counter: its working size (the benchmark feeds 640x480)


def count(scene: Scene, settings: FootfallSettings | None = None) -> Counts:
    counter = FootfallCounter(settings, fps=FPS)
    for t, frame in scene.frames(SIZE, FPS):
        counter.feed(frame, t)
    return counter.total


def walker(enter_s: float, *, stop_s: float = 0.0, from_left: bool = True, speed: float = 0.3) -> Walker:
    return Walker(
        enter_s=enter_s,
        from_left=from_left,
        speed=speed,
        height=0.7,
        colour=(200, 40, 40),
        skin=(200, 160, 130),
        stop_at=0.5,
        stop_s=stop_s,
    )


def test_counts_passers_and_stoppers_in_generated_scenes_within_tolerance() -> None:
    scenes = [random_scene(seed, people=8, stoppers=3, overlaps=1, noise=3.0 + 3 * (seed % 2)) for seed in (11, 12, 13)]
    true_passers = sum(s.passers() for s in scenes)
    true_stoppers = sum(s.stoppers(3.0) for s in scenes)
    got = [count(s) for s in scenes]
    passers, stoppers = sum(c.passers for c in got), sum(c.stoppers for c in got)
    assert true_passers == 24 and true_stoppers == 9  # the scenes are what this test says
    assert abs(passers - true_passers) <= 0.15 * true_passers, (passers, got)
    assert abs(stoppers - true_stoppers) <= 1, (stoppers, got)


def test_a_person_standing_shorter_than_the_dwell_passes_and_one_standing_longer_stops() -> None:
    scene = Scene((walker(WARM_UP_S, stop_s=1.0), walker(WARM_UP_S + 12, stop_s=8.0, from_left=False)), 45.0)
    assert count(scene, FootfallSettings(stop_s=3.0)) == Counts(passers=2, stoppers=1)


def test_the_dwell_is_the_configured_one() -> None:
    scene = Scene((walker(WARM_UP_S, stop_s=5.0),), 35.0)
    assert count(scene, FootfallSettings(stop_s=3.0)).stoppers == 1
    assert count(scene, FootfallSettings(stop_s=8.0)).stoppers == 0


def test_an_empty_scene_with_drifting_light_and_noise_counts_nobody() -> None:
    assert count(Scene((), 60.0, seed=5, noise=6.0, drift=0.12)) == Counts(0, 0)


def test_a_crowd_walking_one_after_another_is_counted_one_by_one() -> None:
    scene = Scene(tuple(walker(WARM_UP_S + 5 * i, from_left=bool(i % 2), speed=0.4) for i in range(6)), 50.0)
    assert count(scene) == Counts(passers=6, stoppers=0)


def test_feed_returns_only_the_people_newly_counted() -> None:
    counter = FootfallCounter(fps=FPS)
    news = [counter.feed(frame, t) for t, frame in Scene((walker(WARM_UP_S),), 20.0).frames(SIZE, FPS)]
    assert sum(n.passers for n in news) == 1 and counter.total == Counts(1, 0)
    assert [n for n in news if n != Counts()] == [Counts(1, 0)]


def test_no_frame_is_kept_after_it_was_counted() -> None:
    """What stays between frames is the background model (inside OpenCV) and a few numbers per track: no
    attribute holds a frame or a part of one."""
    counter = FootfallCounter(fps=FPS)
    for t, frame in Scene((walker(WARM_UP_S, stop_s=4.0),), 20.0).frames(SIZE, FPS):
        counter.feed(frame, t)
    kept = [v for v in vars(counter).values() if isinstance(v, np.ndarray) and v.size > 64]
    assert kept == []
    for track in counter._tracks:
        assert all(isinstance(v, (int, float)) for at in track.recent for v in at)


@pytest.mark.parametrize("size", [(8, 8), (4000, 120)])
def test_a_working_size_out_of_range_is_refused_by_name(size: tuple[int, int]) -> None:
    with pytest.raises(ValueError, match="size"):
        FootfallSettings(size=size)


def test_a_sudden_change_of_the_whole_view_is_learnt_afresh_and_people_after_it_are_counted() -> None:
    """The simulated camera's test card, then a street (as the lights going on): not a crowd, and the next
    person is counted as usual."""
    counter = FootfallCounter(fps=FPS)
    card = colour_bars(SIZE)
    for i in range(40):
        counter.feed(card, i / FPS)
    for t, frame in Scene((walker(WARM_UP_S),), 25.0, seed=2, drift=0.0).frames(SIZE, FPS):
        counter.feed(frame, 10.0 + t)
    assert counter.total == Counts(passers=1, stoppers=0)
