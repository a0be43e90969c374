"""What a commit costs the SD card: the money commit has exactly one fsync and never a checkpoint; other
commits have none; checkpoints happen only when the firmware asks (off the event loop).

The fsyncs are counted by the kernel's own view: the commit runs in a child process under
``strace -f -e trace=fsync,fdatasync`` (strace is in hardware/system-packages.txt for the tests and benchmarks).
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

from sync_client.outbox import MAX_ACKS_IN_MEMORY, PAGE_SIZE, Outbox

SALE = {
    "sale_id": "s-1",
    "sku": "BIKE-C7",
    "amount_cents": 49900,
    "currency": "EUR",
    "method": "terminal",
    "receipt_no": "1",
    "trace_no": "2",
}

# The child: a store with history (so a checkpoint would have work to do), then markers written to
# /dev/null around the commit under test, so the trace shows which fsyncs fall inside it.
CHILD = textwrap.dedent(
    """
    import json, os, sys
    from sync_client.outbox import MAX_ACKS_IN_MEMORY, PAGE_SIZE, Outbox
    path, mode, sale = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    outbox = Outbox(path, "cab-1")
    for i in range(300):  # a WAL past SQLite's automatic checkpoint threshold (1000 pages) had it been on
        outbox.append("heartbeat", {"n": i, "pad": "x" * 600})
    if mode == "after-checkpoint":
        outbox.checkpoint()
    marker = os.open("/dev/null", os.O_WRONLY)
    os.write(marker, b"COMMIT-BEGIN")
    if mode == "normal":
        outbox.append("heartbeat", {})
    else:
        with outbox.transaction(durable=True) as tx:
            tx.append("payment.approved", sale)
    os.write(marker, b"COMMIT-END")
    """
)


def syncs_in_commit(tmp_path: Path, mode: str) -> list[str]:
    """The fsync/fdatasync calls the child made between its two markers."""
    import json

    # Not a skip: the setup installs strace (hardware/system-packages.txt), and without it the one-fsync rule
    # of the money commit would go unchecked.
    assert shutil.which("strace"), "strace is needed to count a commit's fsyncs: apt-get install strace"

    trace = tmp_path / "trace.txt"
    subprocess.run(
        [
            "strace",
            "-f",
            "-qq",
            "-e",
            "trace=fsync,fdatasync,write",
            "-o",
            str(trace),
            sys.executable,
            "-c",
            CHILD,
            str(tmp_path / "cabinet.db"),
            mode,
            json.dumps(SALE),
        ],
        check=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    lines = trace.read_text().splitlines()
    begin = next(i for i, line in enumerate(lines) if "COMMIT-BEGIN" in line)
    end = next(i for i, line in enumerate(lines) if "COMMIT-END" in line)
    return [line for line in lines[begin + 1 : end] if "sync(" in line]


def test_the_money_commit_has_exactly_one_fsync(tmp_path):
    syncs = syncs_in_commit(tmp_path, "money")
    assert len(syncs) == 1, syncs


def test_the_money_commit_right_after_a_checkpoint_still_has_one_fsync(tmp_path):
    """The checkpoint restarted the WAL with its own write: the money commit does not pay the new header's sync."""
    syncs = syncs_in_commit(tmp_path, "after-checkpoint")
    assert len(syncs) == 1, syncs


def test_an_ordinary_commit_has_no_fsync(tmp_path):
    assert syncs_in_commit(tmp_path, "normal") == []


def test_the_money_commit_never_checkpoints(tmp_path):
    """The money commit that takes the WAL past the size at which SQLite would checkpoint by itself (1000
    pages) only appends to the WAL: the database file is byte for byte the same, and the WAL grew."""
    outbox = Outbox(tmp_path / "cabinet.db", "cab-1")
    page = outbox.db.conn.execute("PRAGMA page_size").fetchone()[0]
    while (outbox.wal_bytes() - 32) // (page + 24) < 990:
        outbox.append("heartbeat", {"pad": "x" * 600})
    db_before = hashlib.sha256((tmp_path / "cabinet.db").read_bytes()).hexdigest()
    wal_before = outbox.wal_bytes()
    with outbox.transaction(durable=True) as tx:
        tx.append("payment.approved", {**SALE, "notes": ["y" * page] * 40})  # 40 pages: past 1000
    assert (outbox.wal_bytes() - 32) // (page + 24) > 1000
    assert hashlib.sha256((tmp_path / "cabinet.db").read_bytes()).hexdigest() == db_before
    assert outbox.wal_bytes() > wal_before
    outbox.close()


def test_a_checkpoint_copies_the_wal_and_the_next_commit_starts_it_again(tmp_path):
    outbox = Outbox(tmp_path / "cabinet.db", "cab-1")
    for i in range(50):
        outbox.append("heartbeat", {"n": i})
    before = outbox.wal_bytes()
    done = outbox.checkpoint()
    assert done.restarted and done.copied_frames == done.wal_frames > 0 and done.wal_bytes_before == before
    page = outbox.db.conn.execute("PRAGMA page_size").fetchone()[0]
    assert outbox.wal_bytes() <= 32 + 4 * (page + 24), "restarted by the checkpoint's own write, and cut back"
    outbox.append("heartbeat", {})
    assert outbox.wal_bytes() < before / 4, "the next commit writes the WAL from its start"
    assert len(outbox.events("heartbeat")) == 51
    outbox.close()
    again = Outbox(tmp_path / "cabinet.db", "cab-1")
    assert len(again.events("heartbeat")) == 51
    again.close()


def test_new_stores_use_small_pages(tmp_path):
    outbox = Outbox(tmp_path / "cabinet.db", "cab-1")
    assert outbox.db.conn.execute("PRAGMA page_size").fetchone()[0] == PAGE_SIZE < 4096
    assert outbox.db.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
    outbox.close()


def test_an_acknowledgement_costs_no_commit_of_its_own_and_never_rides_in_a_money_commit(tmp_path):
    path = tmp_path / "cabinet.db"
    outbox = Outbox(path, "cab-1")
    first = outbox.append("heartbeat", {})
    wal = outbox.wal_bytes()
    assert outbox.mark_sent([first.id]) == 1
    assert outbox.wal_bytes() == wal, "nothing written for the acknowledgement itself"
    assert outbox.pending_count() == 0 and outbox.pending(10) == [] and outbox.pending_json(10, 10_000) == []

    def sent_on_disk() -> list[int]:
        other = sqlite3.connect(path)
        try:
            return [seq for (seq,) in other.execute("SELECT seq FROM events WHERE sent_at IS NOT NULL")]
        finally:
            other.close()

    with outbox.transaction(durable=True) as tx:
        approved = tx.append("payment.approved", SALE)
    assert sent_on_disk() == [], "the money commit carries only the money"
    second = outbox.append("heartbeat", {})
    assert sent_on_disk() == [first.seq], "it rode along with the next ordinary commit"
    outbox.mark_sent([second.id])
    # A power cut now: the next start finds the second event unsent, and sends it again (the cloud keeps it once).
    after_cut = Outbox(path, "cab-1")
    assert [e.id for e in after_cut.pending(10)] == [approved.id, second.id]
    after_cut.close()
    outbox.close()  # a clean stop writes what is kept in memory
    reopened = Outbox(path, "cab-1")
    assert [e.id for e in reopened.pending(10)] == [approved.id]
    reopened.close()


def test_a_draining_backlog_writes_its_acknowledgements_batch_by_batch(tmp_path):
    outbox = Outbox(tmp_path / "cabinet.db", "cab-1")
    with outbox.transaction() as tx:
        events = [tx.append("heartbeat", {}) for _ in range(MAX_ACKS_IN_MEMORY + 10)]
    outbox.mark_sent([e.id for e in events[:10]])
    assert outbox.acks_waiting_s() > 0, "a few: kept in memory"
    outbox.mark_sent([e.id for e in events[10:]])
    assert outbox.acks_waiting_s() == 0, "past the bound: written at once"
    assert outbox.pending(10) == [] and outbox.pending_count() == 0
    outbox.close()


CLOSE_DURING_CHECKPOINTS = """
import sys, threading
from pathlib import Path
from sync_client.outbox import Outbox
for round in range(30):
    outbox = Outbox(Path(sys.argv[1]) / f"cabinet-{round}.db", "cab-1")
    outbox.checkpoint()  # its own connection is open
    with outbox.transaction() as tx:
        for i in range(3000):
            tx.append("heartbeat", {"pad": "x" * 200})
    started = threading.Event()
    def checkpoints():
        started.set()
        try:
            while True:
                outbox.checkpoint()
        except Exception:  # closed under it: refused, not a crash
            pass
    worker = threading.Thread(target=checkpoints)
    worker.start()
    started.wait()
    outbox.close()  # the cabinet stopping while a checkpoint runs on its worker thread
    worker.join()
print("ok")
"""


def test_closing_the_store_while_a_checkpoint_runs_waits_for_it_instead_of_crashing(tmp_path):
    # In a child process: closing a connection SQLite is using on another thread kills the process.
    run = subprocess.run(
        [sys.executable, "-c", CLOSE_DURING_CHECKPOINTS, str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0 and run.stdout.strip() == "ok", (run.returncode, run.stderr[-2000:])


def test_an_event_in_its_own_commit_writes_three_pages_to_the_wal_at_most(tmp_path):
    """The events table, its sequence and the database header: no page of an index on the event's random id
    (that index made it five and a half)."""
    outbox = Outbox(tmp_path / "cabinet.db", "cab-1")
    for i in range(200):  # a table several levels deep, as a cabinet's is
        outbox.append("door.opened", {"authorized": True, "sale_id": f"{i:036d}"})
    outbox.checkpoint()
    outbox.append("door.opened", {"authorized": True, "sale_id": "x" * 36})  # restarts the WAL
    before = outbox.wal_bytes()
    for i in range(100):
        outbox.append("door.opened", {"authorized": True, "sale_id": f"{i:036d}"})
    frames = (outbox.wal_bytes() - before) / (24 + PAGE_SIZE)
    assert frames / 100 <= 3.0, frames / 100
    outbox.close()
