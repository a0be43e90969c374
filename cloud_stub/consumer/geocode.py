"""Turning a typed address into a position for the locator. There is no geocoding service built in: a
deployment that wants address search passes an implementation of ``Geocoder`` to ``create_app``; without one
the locator takes positions only (the phone's, or typed coordinates)."""

from __future__ import annotations

from typing import Protocol


class Geocoder(Protocol):
    async def locate(self, address: str) -> tuple[float, float] | None:
        """The address's latitude and longitude (WGS 84), or None when it is not found."""
        ...
