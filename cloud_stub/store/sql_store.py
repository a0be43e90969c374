"""``SqlCloudStore``: the ``CloudStore`` on a ``Database``, composed of one mixin per area."""

from __future__ import annotations

from cloud_stub import sqldb
from cloud_stub.sqldb import Database
from cloud_stub.store import migrations
from cloud_stub.store.accounts import AccountsMixin
from cloud_stub.store.alarms import AlarmsMixin
from cloud_stub.store.callbacks import CallbacksMixin
from cloud_stub.store.commands import CommandsMixin
from cloud_stub.store.errors import MigrationsPending
from cloud_stub.store.fleet import FleetMixin
from cloud_stub.store.funnel import FunnelMixin
from cloud_stub.store.ingest import IngestMixin
from cloud_stub.store.media import MediaMixin
from cloud_stub.store.orders import OrdersMixin
from cloud_stub.store.payments import PaymentsMixin
from cloud_stub.store.phone import PhoneMixin
from cloud_stub.store.retention import RetentionMixin
from cloud_stub.store.sales import SalesMixin
from cloud_stub.store.stock import StockMixin
from cloud_stub.store.tickets import TicketsMixin


class SqlCloudStore(
    AccountsMixin,
    IngestMixin,
    OrdersMixin,
    CommandsMixin,
    PaymentsMixin,
    TicketsMixin,
    AlarmsMixin,
    FleetMixin,
    SalesMixin,
    StockMixin,
    MediaMixin,
    PhoneMixin,
    FunnelMixin,
    CallbacksMixin,
    RetentionMixin,
):
    """``CloudStore`` on a ``Database``: SQLite (``SqliteCloudStore``) or PostgreSQL (``PostgresCloudStore``).

    Every method is one transaction. What must happen once when several processes share one PostgreSQL
    rests on the database: unique keys with ``ON CONFLICT``, updates conditioned on the state they change
    (a token or ack spent once), and row locks taken first where a transaction reads before it writes (an
    ingest holds its cabinet's row; see ``store_events``).
    """

    def __init__(self, db: Database, *, migrate: bool = True) -> None:
        """``migrate``: apply pending migrations (a new, empty database is always created at the newest
        version); without it a database that needs them is refused (``MigrationsPending``)."""
        self._db = db
        self.workers = db.workers
        self.readers = db.readers
        try:
            with db.read() as conn:
                new = not sqldb.has_tables(conn)
            todo = sqldb.pending(db, migrations.MIGRATIONS)
            if todo and not (migrate or new):
                raise MigrationsPending(todo)
            self.created = new  # made here, at the newest version
            self.migrated = sqldb.migrate(db, todo)
        except BaseException:
            db.close()
            raise

    def close(self) -> None:
        self._db.close()
