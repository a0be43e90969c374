"""Footfall: people passing in front of the cabinet and people who stop, counted from low-resolution frames.

Frames in, counts out, nothing else kept: each frame is shrunk to grey at the working size, given to the
background model, and dropped; what stays between frames is the background model (a statistical average of
the empty scene, not a picture of anyone) and a few numbers per track (positions of blob centres for the
last few seconds). Only the counts leave this module.

The method, chosen by ``benchmarks/bench_footfall.py``:
1. background subtraction (OpenCV's MOG2, no shadow detection) on a 160x120 (or 320x240) grey frame; the
   mask is opened (noise specks go) and closed with a tall kernel (a head, a torso and legs become one blob);
2. blobs of at least ``min_area`` of the frame, by connected components;
3. a centroid tracker: each track predicts its next position from its velocity, blobs go to the nearest
   predicted track within ``max_jump`` (greedy, nearest pairs first), a track unmatched for ``lost_s`` ends;
   two people merged into one blob keep their tracks, the one that lost its blob coasts on its prediction
   until they part;
4. a track is a passer-by once its centre has moved ``min_travel`` of the frame's width from where it was
   first seen (a person crossing the view; a flicker or a "ghost" left where someone stood does not travel),
   and a stopper once it is a passer-by and its centre stayed within ``still_radius`` for ``stop_s``.

Frame differencing (``method="diff"``) is the cheaper alternative the benchmark compares: it sees only
motion, so a person who stops vanishes from the mask.
"""

from __future__ import annotations

import collections
import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

Method = Literal["mog2", "diff"]
GAP = 0.05  # of the width: parts of the foreground closer than this side by side are one person
RELEARN = 0.6  # of the frame: foreground over this much is a change of the scene, not people
EDGE = 0.12  # of the width: a track last seen this near the side it walked to has left


@dataclass(frozen=True)
class FootfallSettings:
    size: tuple[int, int] = (160, 120)  # the working frame (width, height): the camera's frame is shrunk to it
    stop_s: float = 3.0  # standing this long in view: a stopper
    method: Method = "mog2"
    min_area: float = 0.008  # a blob covers at least this share of the frame
    min_travel: float = 0.25  # of the width: moved this far from where first seen, a passer-by
    still_radius: float = 0.06  # of the width: a centre that stays within this is standing still
    max_jump: float = 0.3  # of the width: how far a person's centre may be from its prediction between frames
    lost_s: float = 4.0  # a track not seen this long has left
    history_s: float = 300.0  # MOG2: how long the background remembers (someone standing is learnt much later)
    var_threshold: float = 25.0  # MOG2: squared distance from the background that is foreground
    diff_threshold: int = 18  # frame differencing: grey levels of change that are motion

    def __post_init__(self) -> None:
        w, h = self.size
        if not (16 <= w <= 1920 and 16 <= h <= 1080):
            raise ValueError(f"size: expected 16x16 to 1920x1080, got {w}x{h}")
        if self.stop_s <= 0 or self.lost_s <= 0 or self.history_s <= 0:
            raise ValueError("stop_s, lost_s and history_s must be positive seconds")


@dataclass(frozen=True)
class Counts:
    passers: int = 0
    stoppers: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.passers + other.passers, self.stoppers + other.stoppers)


@dataclass
class Track:
    first: tuple[float, float]
    pos: tuple[float, float]
    seen_t: float
    velocity: tuple[float, float] = (0.0, 0.0)  # pixels per second
    recent: collections.deque[tuple[float, float, float]] = field(default_factory=collections.deque)  # (t, x, y)
    passer: bool = False
    stopper: bool = False

    def predicted(self, t: float) -> tuple[float, float]:
        dt = min(t - self.seen_t, 1.0)  # a coasting track does not fly off
        return self.pos[0] + self.velocity[0] * dt, self.pos[1] + self.velocity[1] * dt


@dataclass
class Blob:
    """A part of the foreground: its bounding box."""

    left: int
    right: int
    top: float
    bottom: float

    @property
    def area(self) -> float:
        return (self.right - self.left) * (self.bottom - self.top)

    @property
    def centre(self) -> tuple[float, float]:
        return (self.left + self.right) / 2, (self.top + self.bottom) / 2


def merge_columns(parts: list[Blob], gap: float) -> list[Blob]:
    """Parts that share most of a column, or stand side by side less than ``gap`` pixels apart, are one
    person (upright: a head, a torso or two legs the mask split apart): their boxes are joined."""
    merged: list[Blob] = []
    for part in sorted(parts, key=lambda b: b.left):
        for other in merged:
            if _one_person(part, other, gap):
                other.left, other.right = min(other.left, part.left), max(other.right, part.right)
                other.top, other.bottom = min(other.top, part.top), max(other.bottom, part.bottom)
                break
        else:
            merged.append(part)
    return merged


def _one_person(a: Blob, b: Blob, gap: float) -> bool:
    shared = min(a.right, b.right) - max(a.left, b.left)  # negative: the gap between them
    if shared >= 0.5 * min(a.right - a.left, b.right - b.left):
        return True
    beside = min(a.bottom, b.bottom) - max(a.top, b.top)
    return shared >= -gap and beside >= 0.5 * min(a.bottom - a.top, b.bottom - b.top)


class FootfallCounter:
    """Feed frames with their times; ``feed`` answers who was newly counted in that frame."""

    def __init__(self, settings: FootfallSettings | None = None, *, fps: float = 4.0) -> None:
        import cv2  # a cabinet without footfall never loads OpenCV for it

        self.settings = s = settings or FootfallSettings()
        self._cv2: Any = cv2
        self._tracks: list[Track] = []
        self._previous: np.ndarray | None = None  # frame differencing's last frame (grey, working size)
        w, h = s.size
        self._history = max(10, int(s.history_s * fps))
        self._frames = 0
        self._mog2: Any = cv2.createBackgroundSubtractorMOG2(self._history, s.var_threshold, False)
        self._open = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
        # Tall: a figure's head, body and legs, split by a thin background gap, are one blob.
        self._close = cv2.getStructuringElement(cv2.MORPH_RECT, (max(3, w // 40), max(5, h // 12)))
        self._min_area = s.min_area * w * h
        self.total = Counts()

    def feed(self, frame: np.ndarray, t: float) -> Counts:
        """One frame (RGB or grey, any size) seen at ``t`` seconds: the people newly counted in it. The frame
        is not kept."""
        blobs = self._blobs(self._grey(frame))
        counted = self._track(blobs, t)
        self.total += counted
        return counted

    def _grey(self, frame: np.ndarray) -> np.ndarray:
        cv2 = self._cv2
        grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY) if frame.ndim == 3 else frame
        if grey.shape[1::-1] != self.settings.size:
            grey = cv2.resize(grey, self.settings.size, interpolation=cv2.INTER_AREA)
        small: np.ndarray = grey
        return small

    def _mask(self, grey: np.ndarray) -> np.ndarray:
        cv2, s = self._cv2, self.settings
        if s.method == "mog2":
            # At its own pace MOG2 learns the first frames fast (1/frames seen): someone standing in front of a
            # cabinet that just started would fade into the background in a second or two. A fixed rate after
            # the first frame keeps them in the foreground for about a tenth of the history.
            rate = 1.0 if self._frames == 0 else 1.0 / self._history
            self._frames += 1
            mask: np.ndarray = self._mog2.apply(grey, learningRate=rate)
            if cv2.countNonZero(mask) > RELEARN * mask.size:
                # Most of the view changed at once (the lights, the camera moved): no crowd looks like that.
                # The background is learnt afresh from this frame rather than over the next minutes.
                self._mog2.apply(grey, learningRate=1.0)
                return np.zeros_like(mask)
            return mask
        previous, self._previous = self._previous, cv2.GaussianBlur(grey, (3, 3), 0)
        if previous is None:
            return np.zeros_like(grey)
        _, mask = cv2.threshold(cv2.absdiff(self._previous, previous), s.diff_threshold, 255, cv2.THRESH_BINARY)
        return mask

    def _blobs(self, grey: np.ndarray) -> list[tuple[float, float]]:
        cv2 = self._cv2
        mask = cv2.morphologyEx(self._mask(grey), cv2.MORPH_OPEN, self._open)
        mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, self._close)
        n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        parts = [
            Blob(int(stats[i, 0]), int(stats[i, 0] + stats[i, 2]), float(stats[i, 1]), float(stats[i, 1] + stats[i, 3]))
            for i in range(1, n)
            if stats[i, cv2.CC_STAT_AREA] >= self._min_area / 4
        ]
        return [b.centre for b in merge_columns(parts, GAP * self.settings.size[0]) if b.area >= self._min_area]

    def _track(self, blobs: list[tuple[float, float]], t: float) -> Counts:
        s = self.settings
        width = s.size[0]
        pairs = sorted(
            (math.dist(track.predicted(t), blob), ti, bi)
            for ti, track in enumerate(self._tracks)
            for bi, blob in enumerate(blobs)
        )
        taken_tracks: set[int] = set()
        taken_blobs: set[int] = set()
        for distance, ti, bi in pairs:
            if distance > s.max_jump * width or ti in taken_tracks or bi in taken_blobs:
                continue
            taken_tracks.add(ti)
            taken_blobs.add(bi)
            self._moved(self._tracks[ti], blobs[bi], t)
        for bi, blob in enumerate(blobs):
            if bi not in taken_blobs:
                self._tracks.append(Track(first=blob, pos=blob, seen_t=t, recent=collections.deque([(t, *blob)])))
        self._tracks = [track for track in self._tracks if not self._gone(track, t)]
        return self._judge(t)

    def _gone(self, track: Track, t: float) -> bool:
        """Not seen for ``lost_s``, or not seen and last seen at the edge it was heading for (left the view: a
        track that lingered there would take the next person to come in)."""
        if track.seen_t == t:
            return False
        width, edge = self.settings.size[0], EDGE * self.settings.size[0]
        leaving = (track.pos[0] < edge and track.velocity[0] < 0) or (
            track.pos[0] > width - edge and track.velocity[0] > 0
        )
        return leaving or t - track.seen_t > self.settings.lost_s

    def _moved(self, track: Track, blob: tuple[float, float], t: float) -> None:
        dt = t - track.seen_t
        if dt > 0:
            vx, vy = (blob[0] - track.pos[0]) / dt, (blob[1] - track.pos[1]) / dt
            # Smoothed: a blob's centre jumps when legs swing or another person touches it.
            track.velocity = (0.5 * track.velocity[0] + 0.5 * vx, 0.5 * track.velocity[1] + 0.5 * vy)
        track.pos, track.seen_t = blob, t
        track.recent.append((t, *blob))
        while track.recent and track.recent[0][0] < t - self.settings.stop_s - 1.0:
            track.recent.popleft()

    def _judge(self, t: float) -> Counts:
        s = self.settings
        width = s.size[0]
        passers = stoppers = 0
        for track in self._tracks:
            if not track.passer and math.dist(track.first, track.pos) >= s.min_travel * width:
                track.passer = True
                passers += 1
            if track.passer and not track.stopper and self._stood(track, t):
                track.stopper = True
                stoppers += 1
        return Counts(passers, stoppers)

    def _stood(self, track: Track, t: float) -> bool:
        """Whether the track's centre stayed within ``still_radius`` over the last ``stop_s`` (seen at least
        at both ends of that time)."""
        s = self.settings
        window = [(x, y) for (at, x, y) in track.recent if at >= t - s.stop_s]
        if track.seen_t != t or track.recent[0][0] > t - s.stop_s or len(window) < 2:
            return False
        cx = sum(x for x, _ in window) / len(window)
        cy = sum(y for _, y in window) / len(window)
        return max(math.dist((cx, cy), p) for p in window) <= s.still_radius * s.size[0]
