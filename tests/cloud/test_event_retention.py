"""Raw events by month and their retention, on SQLite and on a real PostgreSQL: on PostgreSQL each month is a
partition (its analytics and its records apart, the coming months made ahead, a default one for the rest);
an event id is stored once whichever month it comes in; the retention deletes raw analytics after their days
and money after its years, and what the retailer reads (sales, funnel, stock, alarms) stays the same."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from cloud_stub import cli, event_partitions, sqldb
from cloud_stub.event_partitions import ANALYTICS_EVENTS, RetentionPolicy, month_partitions
from cloud_stub.server import start_cloud
from cloud_stub.sqldb import POSTGRESQL, SQLITE
from cloud_stub.store import MIGRATIONS, SqlCloudStore, migrations, open_store
from sync_client.schema import Event, event_from_json, new_event_id, parse_utc_iso, utc_iso
from tests.cloud.test_funnel_store import session, visit
from tests.pg_server import PgServer
from tests.polling import until

DAY_S = 86400.0
NOW = time.time()  # the migration made this month's partitions and the next ones from the real clock
CAB = "cab-1"


def event(seq: int, kind: str, payload: dict[str, Any], at: float, event_id: str | None = None) -> Event:
    return event_from_json(
        {
            "id": event_id or new_event_id(),
            "cabinet_id": CAB,
            "seq": seq,
            "type": kind,
            "schema_version": 1,
            "wall_time": utc_iso(at),
            "mono_time": float(seq),
            "payload": payload,
        }
    )


def day_of(at: float) -> str:
    return utc_iso(at)[:10]


def a_day(seq: int, at: float, sale_id: str) -> list[Event]:
    """A day of one cabinet: analytics (heartbeat, ad plays, a session, footfall) and records (a sale, its
    payment, the count after it, an alarm)."""
    iso = utc_iso(at)
    money = {"sale_id": sale_id, "sku": "SCOOT-S1", "amount_cents": 49900, "currency": "EUR"}
    plays = [{"ad_id": "ad-1", "count": 40, "shown_s": 6, "first_at": iso, "last_at": iso}]
    paid = [visit("SCOOT-S1", 12.5, checkout=True, payment="approved")]
    return [
        event(seq, "heartbeat", {}, at),
        event(seq + 1, "ad.plays", {"plays": plays}, at),
        event(seq + 2, "session.ended", {**session("paid", paid, "thanks"), "started_at": iso, "ended_at": iso}, at),
        event(seq + 3, "footfall.counted", {"started_at": iso, "ended_at": iso, "passers": 9, "stoppers": 3}, at),
        event(seq + 4, "payment.approved", {**money, "method": "terminal", "receipt_no": "1", "trace_no": "1"}, at),
        event(seq + 5, "sale.completed", {**money, "door_opened_at": iso, "door_closed_at": iso}, at),
        event(seq + 6, "stock.changed", {"sku": "SCOOT-S1", "count": 4, "reason": "sale"}, at),
        event(seq + 7, "alarm", {"kind": "door_forced", "detail": "opened without a sale"}, at),
    ]


def store_at(store: SqlCloudStore, events: list[Event], at: float) -> None:
    result = store.store_events(CAB, events, now=at)
    assert result.stored == len(events), result


def rows(store: SqlCloudStore, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
    with store._db.read() as conn:
        return [tuple(r) for r in conn.execute(sql, params).fetchall()]


def stored_ids(store: SqlCloudStore) -> set[str]:
    return {r[0] for r in rows(store, "SELECT id FROM events")}


def figures(store: SqlCloudStore, since: float, until: float) -> dict[str, Any]:
    """What the retailer reads: the sales page, the funnel, the stock, the alarms and the fleet's row."""
    span = {"since_day": day_of(since), "until_day": day_of(until)}
    alarms = [(a["id"], a["kind"], a["acknowledged_by"]) for a in store.alarms_of("shop-a")]
    return {
        "sales": store.sales_summary("shop-a", **span),
        "funnel": store.funnel("shop-a", **span),
        "stock": store.stock_of("shop-a"),
        "alarms": alarms,
        "fleet": store.fleet_page("shop-a", online_since=utc_iso(NOW - 600)),
    }


@pytest.fixture
def shop(store: SqlCloudStore) -> SqlCloudStore:
    store.add_retailer("shop-a")
    store.add_cabinet(CAB, "shop-a")
    return store


def month_start(at: float, ahead: int = 0) -> str:
    """The first instant of ``at``'s month, or of the ``ahead``-th month after it."""
    year, month = int(utc_iso(at)[:4]), int(utc_iso(at)[5:7]) + ahead
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return f"{year:04d}-{month:02d}-01T00:00:00.000Z"


def month_name(at: float, ahead: int = 0) -> str:
    """The partition of ``at``'s month, or of the ``ahead``-th month after it."""
    return f"events_{month_start(at, ahead)[:7].replace('-', '_')}"


def test_events_go_to_their_months_partition_and_the_coming_months_exist(shop: SqlCloudStore) -> None:
    # The moment the migration made the partitions (its clock was the real one: NOW may be in the month before,
    # when the run crosses a month's end).
    with shop._db.read() as conn:
        made = conn.execute("SELECT applied_at FROM schema_migrations WHERE version = 2").fetchone()[0]
    at = parse_utc_iso(made, "applied_at")
    day = a_day(1, at, new_event_id())
    store_at(shop, day, at)
    assert stored_ids(shop) == {e.id for e in day}
    if shop._db.dialect == SQLITE:
        assert shop.maintain_events(now=at) == [], "one table: no partition to make"
        return
    with shop._db.read() as conn:
        months = month_partitions(conn)
    this = month_name(at)
    assert {month_name(at, ahead) for ahead in range(4)} <= set(months), months
    analytics = {e.id for e in day if e.type in ANALYTICS_EVENTS}
    assert {r[0] for r in rows(shop, f"SELECT id FROM {this}_analytics")} == analytics
    assert {r[0] for r in rows(shop, f"SELECT id FROM {this}_records")} == {e.id for e in day} - analytics
    assert rows(shop, "SELECT COUNT(*) FROM events_default") == [(0,)]
    assert {r[0] for r in rows(shop, "SELECT id FROM event_ids")} == {e.id for e in day}


def test_the_maintenance_makes_next_months_partition_and_its_events_go_there(shop: SqlCloudStore) -> None:
    later = NOW + 200 * DAY_S  # past the months the migration made
    made = shop.maintain_events(now=later)
    assert shop.maintain_events(now=later) == [], "made once"
    heartbeat = event(1, "heartbeat", {}, later + 31 * DAY_S)
    store_at(shop, [heartbeat], later + 31 * DAY_S)
    assert stored_ids(shop) == {heartbeat.id}
    if shop._db.dialect == SQLITE:
        assert made == []
        return
    assert made == [month_name(later, ahead) for ahead in range(4)]
    assert rows(shop, f"SELECT id FROM {month_name(later + 31 * DAY_S)}_analytics") == [(heartbeat.id,)]


def test_an_event_held_by_the_default_partition_moves_to_its_month_when_made(shop: SqlCloudStore) -> None:
    later = NOW + 400 * DAY_S
    heartbeat = event(1, "heartbeat", {}, later)
    store_at(shop, [heartbeat], later)  # no month made for it yet
    if shop._db.dialect == POSTGRESQL:
        assert rows(shop, "SELECT id FROM events_default") == [(heartbeat.id,)]
        assert month_name(later) in shop.maintain_events(now=later)
        assert rows(shop, "SELECT id FROM events_default") == []
        assert rows(shop, f"SELECT id FROM {month_name(later)}_analytics") == [(heartbeat.id,)]
    assert stored_ids(shop) == {heartbeat.id}


def test_an_event_id_sent_again_months_later_is_stored_once(shop: SqlCloudStore) -> None:
    shop.add_cabinet("cab-2", "shop-a")
    sale = a_day(1, NOW, new_event_id())[5]
    store_at(shop, [sale], NOW)
    later = NOW + 62 * DAY_S  # another month, so another partition on PostgreSQL
    again = shop.store_events(CAB, [sale], now=later)
    assert (again.acked, again.stored) == ([sale.id], 0)
    stranger = Event(sale.id, "cab-2", 1, sale.type, sale.wall_time, sale.mono_time, sale.payload)
    other = shop.store_events("cab-2", [stranger], now=later)
    assert (other.stored, other.conflicts) == (0, [sale.id])
    assert rows(shop, "SELECT id, received_at FROM events") == [(sale.id, utc_iso(NOW))]
    assert shop.sales_summary("shop-a", since_day=day_of(NOW), until_day=day_of(NOW))["periods"][0]["count"] == 1
    if shop._db.dialect == POSTGRESQL:  # the key that holds it across partitions refuses a second row
        with pytest.raises(sqldb.integrity_errors()), shop._db.write() as conn:
            event_partitions.add_event_ids(conn, [sale.id])


def test_retention_deletes_only_what_is_due_keeps_money_and_the_figures(
    shop: SqlCloudStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(event_partitions, "BATCH", 3)  # several batches of what no partition drop takes
    old, older, recent = NOW - 200 * DAY_S, NOW - 500 * DAY_S, NOW - 10 * DAY_S
    shop.maintain_events(now=old)  # PostgreSQL: old's month a partition of its own; older's rows in the default
    days = {at: a_day(1 + i * 10, at, new_event_id()) for i, at in enumerate((older, old, recent))}
    for at, day in days.items():
        store_at(shop, day, at)
    alarm = days[old][7].id
    shop.handle_alarm("shop-a", alarm, "acknowledge", "boss@example.com", now=old)
    before = figures(shop, older, NOW)
    expired = {e.id for at in (older, old) for e in days[at] if e.type in ANALYTICS_EVENTS}

    policy = RetentionPolicy(keep_analytics_days=90, keep_money_years=10)
    dry = shop.purge_events(policy, now=NOW, dry_run=True)
    assert (dry.analytics, dry.money) == (len(expired), 0)
    assert len(stored_ids(shop)) == 24, "a dry run deletes nothing"

    done = shop.purge_events(policy, now=NOW)
    assert (done.analytics, done.money) == (len(expired), 0)
    assert stored_ids(shop) == {e.id for day in days.values() for e in day} - expired
    assert figures(shop, older, NOW) == before, "the retailer's figures were counted at ingest"
    if shop._db.dialect == POSTGRESQL:
        # old's month and the (empty) ones made after it that ended 90 days ago: their analytics dropped whole
        ended = [a for a in range(4) if month_start(old, a + 1) <= utc_iso(NOW - 90 * DAY_S)]
        assert done.dropped == [f"{month_name(old, a)}_analytics" for a in ended] and ended[0] == 0
        assert rows(shop, f"SELECT COUNT(*) FROM {month_name(old)}_records") == [(4,)]
        assert rows(shop, "SELECT COUNT(*) FROM event_ids") == [(24 - len(expired),)]
    assert shop.purge_events(policy, now=NOW).analytics == 0, "nothing left to delete"

    ten_years_on = NOW + (10 * 366 + 1) * DAY_S - 200 * DAY_S  # old's money is past its years, recent's not
    late = shop.purge_events(policy, now=ten_years_on)
    assert late.money == 8 and {e.id for e in days[recent]} - stored_ids(shop) == {
        e.id for e in days[recent] if e.type in ANALYTICS_EVENTS
    }
    assert shop.sales_summary("shop-a", since_day=day_of(older), until_day=day_of(NOW)) == before["sales"]
    assert rows(shop, "SELECT COUNT(*) FROM alarm_handling") == [(0,)], "the deleted alarm's handling with it"


@pytest.mark.parametrize("where", ["sqlite", "postgresql"])
def test_a_migrated_database_keeps_every_event_in_its_month(
    where: str, tmp_path: Path, pg_server: PgServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database at migration 1 with events over three months (one 14 months old, an alarm handled), then
    migration 2: every row kept as it was, in its month's partition on PostgreSQL."""
    if where == "sqlite":
        _migrate_events(str(tmp_path / "c.db"), monkeypatch)
    else:
        with pg_server.empty_database() as url:
            _migrate_events(url, monkeypatch)


def _migrate_events(target: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as before_partitions:
        before_partitions.setattr(migrations, "MIGRATIONS", MIGRATIONS[:1])
        baseline = open_store(target)
    baseline.add_retailer("shop-a")
    baseline.add_cabinet(CAB, "shop-a")
    ats = (NOW - 430 * DAY_S, NOW - 40 * DAY_S, NOW)
    with baseline._db.write() as conn:  # as migration 1's store_events wrote them (no event_ids yet)
        for i, at in enumerate(ats):
            conn.executemany(
                "INSERT INTO events (id, cabinet_id, seq, type, schema_version, wall_time, mono_time, payload, "
                "received_at) VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?)",
                [
                    (e.id, CAB, e.seq, e.type, e.wall_time, e.mono_time, json.dumps(e.payload), utc_iso(at))
                    for e in a_day(1 + 10 * i, at, new_event_id())
                ],
            )
    alarm = rows(baseline, "SELECT id FROM events WHERE type = 'alarm' ORDER BY seq")[0][0]
    baseline.handle_alarm("shop-a", alarm, "acknowledge", "boss@example.com", now=ats[0])
    everything = "SELECT * FROM events ORDER BY id"
    before = rows(baseline, everything)
    baseline.close()

    migrated = open_store(target)
    try:
        assert [m.version for m in migrated.migrated] == [m.version for m in MIGRATIONS[1:]]  # 2 and later
        assert rows(migrated, everything) == before and len(before) == 24
        if migrated._db.dialect == POSTGRESQL:
            assert rows(migrated, "SELECT id FROM event_ids ORDER BY id") == [(r[0],) for r in before]
            assert rows(migrated, "SELECT COUNT(*) FROM events_default") == [(0,)]
            for at in ats:
                assert len(rows(migrated, f"SELECT id FROM {month_name(at)}")) == 8
        assert [a["id"] for a in migrated.alarms_of("shop-a", state="acknowledged")] == [alarm]
    finally:
        migrated.close()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_retention_command_says_what_it_would_delete_then_deletes_it(
    cloud_target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    store = open_store(cloud_target)
    store.add_retailer("shop-a")
    store.add_cabinet(CAB, "shop-a")
    old = NOW - 40 * DAY_S
    store_at(store, a_day(1, old, new_event_id()), old)
    store.close()
    as_of = utc_iso(NOW)
    argv = ("retention", "--db", cloud_target, "--as-of", as_of, "--keep-analytics-days", "30")
    code, out, err = run(capsys, *argv, "--dry-run")
    assert (code, err) == (0, "") and out.startswith("would delete 4 analytics events and 0 other events")
    code, out, err = run(capsys, *argv)
    assert (code, err) == (0, "") and out.startswith("deleted 4 analytics events and 0 other events")
    assert run(capsys, *argv)[1].startswith("deleted 0 analytics events")
    code, _, err = run(capsys, "retention", "--db", cloud_target, "--keep-analytics-days", "0")
    assert code == 2 and "--keep-analytics-days: 0 is below 1" in err
    code, _, err = run(capsys, "retention", "--db", cloud_target, "--as-of", "yesterday")
    assert code == 1 and "--as-of" in err
    code, out, _ = run(capsys, "maintain", "--db", cloud_target, "--as-of", utc_iso(NOW + 150 * DAY_S))
    if sqldb.is_postgresql_url(cloud_target):
        assert code == 0 and month_name(NOW + 150 * DAY_S, 3) in out
    else:
        assert (code, out) == (0, "no partition to make\n")


async def test_serve_deletes_expired_analytics_while_it_runs(
    shop: SqlCloudStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(event_partitions, "BATCH", 1)  # one event a step, each its own call on the store's threads
    old = NOW - 100 * DAY_S
    day = a_day(1, old, new_event_id())
    store_at(shop, day, old)
    runner, _url = await start_cloud(shop, now=lambda: NOW, event_retention=RetentionPolicy(keep_analytics_days=90))
    try:
        kept = {e.id for e in day if e.type not in ANALYTICS_EVENTS}
        await until(lambda: stored_ids(shop) == kept, what="the expired analytics deleted")
    finally:
        await runner.cleanup()


def test_a_policy_refuses_a_retention_below_a_day() -> None:
    with pytest.raises(ValueError, match="keep_analytics_days"):
        RetentionPolicy(keep_analytics_days=0)
