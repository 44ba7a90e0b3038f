"""``kill -9`` during heavy event ingestion, then a restart: no acknowledged
event and no delivery is lost, on SQLite and on PostgreSQL.

The child (``ingest_child.py``) stores events as fast as it can through the
tasks' path and logs each id, fsynced, after its store call returned (the
event and its outbox rows are committed: "acknowledged"). Its dispatcher is
delivering to a real webhook receiver here when SIGKILL lands. The restart is
a fresh AppContext and dispatcher on the same database and blob folder, as
``sightline serve`` does at start-up.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sightline.api.context import AppContext
from sightline.delivery import SubscriptionStore, start_delivery
from sightline.storage.models import Delivery, EventRow
from sightline.storage.types import from_unix
from tests.faults.ingest_child import SETTINGS
from tests.integration.delivery.helpers import SECRET
from tests.integration.delivery.servers import Receiver, ReceiverState
from tests.polling import wait_for

REPO = Path(__file__).resolve().parents[2]
MIN_ACKED = 150


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(ReceiverState(SECRET)).start()
    yield r
    r.stop()


def start_child(data: Path, db_url: str, acked: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.faults.ingest_child",
            "--data",
            str(data),
            "--db",
            db_url,
            "--acked",
            str(acked),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout=60) or proc.stdout.readline().strip() != "READY":
            proc.kill()
            pytest.fail(f"ingest child did not start (exit code {proc.poll()})")
    return proc


def acked_ids(path: Path) -> list[str]:
    text = path.read_text() if path.exists() else ""
    lines = text.split("\n")
    return [line for line in lines[:-1] if line]  # the last piece may be a torn write


@pytest.mark.slow
def test_kill_9_during_ingestion_loses_no_acknowledged_event_or_delivery(
    crash_db_url: str, tmp_path: Path, receiver: Receiver, measure: Callable[..., None]
) -> None:
    data = tmp_path / "data"
    setup = AppContext.open(data, crash_db_url)
    sub, _ = SubscriptionStore(setup.db).create(
        name="hook", kind="webhook", url=receiver.url, secret=SECRET, now=from_unix(time.time() - 60)
    )
    setup.db.dispose()
    acked_file = tmp_path / "acked.log"
    state = receiver.state

    child = start_child(data, crash_db_url, acked_file)
    try:
        ok = wait_for(lambda: len(acked_ids(acked_file)) >= MIN_ACKED and len(state.processed) >= 20, 60)
        assert ok, (
            f"child acknowledged {len(acked_ids(acked_file))} events, receiver got {len(state.processed)}"
        )
        os.kill(child.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
    acked = acked_ids(acked_file)
    delivered_before = len(state.processed)

    ctx = AppContext.open(data, crash_db_url)
    dispatcher = start_delivery(ctx, SETTINGS)
    try:
        with ctx.db.session() as s:
            stored = {r for (r,) in s.query(EventRow.id)}
        expected_keys = {f"{e}:{sub.id}" for e in stored}

        def statuses() -> dict[str, str]:
            with ctx.db.session() as s:
                return {d.event_id: d.status for d in s.query(Delivery)}

        everything = wait_for(lambda: expected_keys <= set(state.processed), 60)
        recovered_s = time.monotonic() - killed_at
        # The receiver has them all; the dispatcher records "delivered" right after.
        recorded = wait_for(lambda: set(statuses().values()) == {"delivered"}, 10)
        final = statuses()
        missing_blobs = [e for e in acked if not _frame_ok(ctx, e)]
    finally:
        dispatcher.stop()
        ctx.db.dispose()

    backend = crash_db_url.split(":", 1)[0].split("+", 1)[0]
    measure(f"{backend}_acked_before_kill", len(acked))
    measure(f"{backend}_delivered_before_kill", delivered_before)
    measure(f"{backend}_all_delivered_after_kill_s", recovered_s, "(incl. restart and 3 s lease)")
    measure(f"{backend}_sent_twice", sum(1 for n in state.raw.values() if n > 1), "(at-least-once; deduped)")
    lost = sorted(set(acked) - stored)
    assert not lost, f"{len(lost)} acknowledged events are gone after kill -9: {lost[:5]}"
    assert not missing_blobs, f"acknowledged events without a readable snapshot: {missing_blobs[:5]}"
    assert everything, f"{len(expected_keys - set(state.processed))} deliveries never arrived"
    assert recorded and set(final) == stored, {v: list(final.values()).count(v) for v in set(final.values())}
    assert state.conflicts == []  # every repeat of a key carried the same event
    assert set(state.processed) == expected_keys  # nothing delivered for an event that was not stored
    assert state.rejected == 0


def _frame_ok(ctx: AppContext, event_id: str) -> bool:
    record = ctx.events.get(event_id)
    if record is None or record.snapshot.frame is None:
        return False
    data = ctx.blobs.get(record.snapshot.frame)
    return data[:2] == b"\xff\xd8" and ctx.blobs.key_for(data, "image/jpeg") == record.snapshot.frame
