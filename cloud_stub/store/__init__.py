"""The cloud's storage: retailers and their cabinets, the events cabinets sent, the nonces
they used, configuration documents, pickup orders, queued commands, scan-to-pay payments,
repair tickets (from the cabinets' events and the retailers' updates) and door snapshots.

``CloudStore`` (``protocol.py``) is the interface the web app uses. ``SqlCloudStore`` (``sql_store.py``)
implements it once, on either database through ``cloud_stub/sqldb.py``'s thin connection adapter:
``SqliteCloudStore`` (the default, one file, one writer thread) and ``PostgresCloudStore``
(``postgresql://…``, a connection pool; several ``kiosk-cloud serve`` nodes may share it), both in
``backends.py``. The SQL sticks to what both engines share (``?`` placeholders, ``INSERT … ON CONFLICT``,
partial indexes, no rowid, no SQLite-only functions: times and days are computed in Python); lists of ids
travel as one JSON parameter read with ``json_each`` (``jsonb_array_elements_text`` in PostgreSQL).

``SqlCloudStore`` is composed of one mixin per area, each in the module named after it, beside the
helpers that write that area's read models at ingest:

- ``ingest.py``: ``store_events`` (one transaction per batch, which also keeps the read models below),
  request nonces, raw events read back;
- ``accounts.py``: retailers, cabinets, enrollment and keys; console users, sessions, API tokens;
- ``orders.py``: configuration documents and pickup orders; ``stock.py``: storefronts, stock levels,
  restock lines;
- ``commands.py``: queued commands and rollouts; ``payments.py``: scan-to-pay;
- ``sales.py``: the ``sales`` read model (written at ingest) and the console's sales and refunds;
  ``counters.py``: the day-by-day counters (``_Tally``), fleet shards and the sales roll-ups;
- ``fleet.py``: the ``cabinet_status`` read model and the fleet pages; ``funnel.py``: the shopper funnel;
- ``tickets.py``: repair tickets; ``alarms.py``: alarms and door snapshots; ``media.py``: uploaded media;
- ``phone.py``: the consumer pages (links, scans, phone forms, receipts, notifications);
  ``callbacks.py``: call-backs; ``retention.py``: the raw events' retention.

Shared pieces: ``errors.py``, ``records.py`` (records and states), ``base.py`` (``StoreBase``: the database
and helpers several areas call). The schema's history is ``MIGRATIONS`` in ``migrations.py`` (the baseline's
text in ``schema.py``): a change is a new migration appended there.
"""

from cloud_stub.store.backends import (
    SQLITE_READERS,
    PostgresCloudStore,
    SqliteCloudStore,
    open_store,
    pending_migrations,
    printable,
)
from cloud_stub.store.counters import FLEET, FLEET_SHARDS, fleet_key, fleet_shard
from cloud_stub.store.errors import (
    CabinetExistsError,
    CloudStoreError,
    Conflict,
    InvalidToken,
    MigrationsPending,
    NonceUsed,
    NotFound,
    WeakKey,
)
from cloud_stub.store.migrations import MIGRATIONS
from cloud_stub.store.protocol import CloudStore
from cloud_stub.store.records import (
    ALARM_STATES,
    CALLBACK_STATES,
    DEFAULT_STOCK_THRESHOLD,
    FLEET_STATES,
    ORDER_ENDINGS,
    ORDER_STATES,
    ROLLOUT_REPORT_WITHIN_S,
    TICKET_STATUSES,
    Admission,
    StoreResult,
)
from cloud_stub.store.sales import week_of
from cloud_stub.store.sql_store import SqlCloudStore

__all__ = [
    "ALARM_STATES",
    "CALLBACK_STATES",
    "DEFAULT_STOCK_THRESHOLD",
    "FLEET",
    "FLEET_SHARDS",
    "FLEET_STATES",
    "MIGRATIONS",
    "ORDER_ENDINGS",
    "ORDER_STATES",
    "ROLLOUT_REPORT_WITHIN_S",
    "SQLITE_READERS",
    "TICKET_STATUSES",
    "Admission",
    "CabinetExistsError",
    "CloudStore",
    "CloudStoreError",
    "Conflict",
    "InvalidToken",
    "MigrationsPending",
    "NonceUsed",
    "NotFound",
    "PostgresCloudStore",
    "SqlCloudStore",
    "SqliteCloudStore",
    "StoreResult",
    "WeakKey",
    "fleet_key",
    "fleet_shard",
    "open_store",
    "pending_migrations",
    "printable",
    "week_of",
]
