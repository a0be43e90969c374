"""The store's exceptions."""

from __future__ import annotations

from collections.abc import Sequence

from cloud_stub import sqldb


class CloudStoreError(Exception):
    """The store cannot do what was asked; the message says why."""


class CabinetExistsError(CloudStoreError):
    """``add_cabinet`` for an id that is already registered."""


class InvalidToken(CloudStoreError):
    pass


class WeakKey(ValueError):
    """A cabinet key too short or too regular to be a random one."""


class NotFound(CloudStoreError):
    """The record asked for does not exist (for this cabinet or retailer)."""


class Conflict(CloudStoreError):
    """The request contradicts what is stored (e.g. the same sale id with another amount)."""


class NonceUsed(CloudStoreError):
    """``store_events`` with a request nonce the cabinet used already: a replay; nothing was stored."""


class MigrationsPending(CloudStoreError):
    def __init__(self, todo: Sequence[sqldb.Migration]) -> None:
        names = ", ".join(f"{m.version} ({m.name})" for m in todo)
        super().__init__(f"the database needs migrations {names}: run `kiosk-cloud migrate` (or serve --migrate)")
        self.todo = list(todo)
