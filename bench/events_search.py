"""Event search latency on SQLite and PostgreSQL at 100,000 events.

Why: the event center's list page, the dashboards and the API all sit on
``EventStore.search`` and the statistics; this shows whether the indexes in
``sightline/storage/models.py`` keep typical searches flat, and why paging is
keyset-based (a deep page by cursor vs. the same page by OFFSET).

Inserts ``--events`` rows in bulk (20 cameras, 6 types, 30 days, a realistic
status mix: 70 % pending, 15 % true, 10 % false, 5 % ignored), then times
``--queries`` runs of each search through the public API (SQL + mapping rows
to ``EventRecord``) and prints p50/p95 in milliseconds with the ratio of the
p50 to a baseline measured in the same run: a full-table ``count(*)``.

    .venv/bin/python bench/events_search.py [--events 100000] [--queries 200]
        [--postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres] [--no-postgres]

PostgreSQL runs in a scratch database created next to the one in
``--postgres-url`` and dropped afterwards; it is skipped if no server answers.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import OperationalError

from sightline.core.event_types import EVENT_TYPES
from sightline.storage import BlobStore, Database, DatabaseError, EventQuery, EventStore
from sightline.storage.events import EventFilter
from sightline.storage.models import EventRow
from sightline.storage.types import from_unix, utcnow

DAY = 86_400.0
START = 1_717_200_000.0  # 2024-06-01T00:00:00Z
CAMERAS = [f"cam-{i:02d}" for i in range(20)]
TYPES = sorted(EVENT_TYPES)[:6]
STATUSES = ["pending"] * 14 + ["true"] * 3 + ["false"] * 2 + ["ignored"]
PAGE = 50
BOX = {
    "x1": 10.0,
    "y1": 20.0,
    "x2": 80.0,
    "y2": 200.0,
    "class_name": "person",
    "confidence": 0.9,
    "track_id": 1,
}


def make_rows(n: int, rng: random.Random) -> list[dict[str, Any]]:
    rows = []
    now = utcnow()
    # Busy cameras produce more events (a few entrances, many quiet corners).
    weights = [1.0 / (1 + i) for i in range(len(CAMERAS))]
    for _ in range(n):
        wall_time = START + rng.random() * 30 * DAY
        typ = rng.choice(TYPES)
        rows.append(
            {
                "id": uuid.uuid4().hex,
                "type": typ,
                "rule_id": typ.split(".")[0],
                "camera_id": rng.choices(CAMERAS, weights)[0],
                "task_id": None,
                "pts": wall_time - START,
                "wall_time": wall_time,
                "occurred_at": from_unix(wall_time),
                "frame_seq": rng.randrange(1_000_000),
                "track_id": rng.randrange(10_000),
                "class_name": "person",
                "confidence": rng.uniform(0.4, 0.99),
                "zone_id": rng.choice(["yard", "gate", "dock", None]),
                "line_id": None,
                "direction": None,
                "boxes": [BOX],
                "attributes": {"dwell_s": round(rng.uniform(0, 120), 1)},
                "trace": [],
                "status": rng.choice(STATUSES),
                "snapshot_blob": None,
                "crop_blob": None,
                "preview_blob": None,
                "frame_width": 1920,
                "frame_height": 1080,
                "created_at": now,
                "reviewed_at": None,
            }
        )
    return rows


def timed(fn: Callable[[], object], n: int) -> list[float]:
    fn()  # warm caches and the connection pool
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def p95(xs: list[float]) -> float:
    return statistics.quantiles(xs, n=20)[-1]


def bench(db: Database, n_events: int, n_queries: int, seed: int) -> list[tuple[str, list[float]]]:
    rng = random.Random(seed)
    db.upgrade()
    with tempfile.TemporaryDirectory() as tmp:
        store = EventStore(db, BlobStore(Path(tmp), fsync=False))
        rows = make_rows(n_events, rng)
        t0 = time.perf_counter()
        with db.connect() as conn:
            for i in range(0, len(rows), 5000):
                conn.execute(insert(EventRow), rows[i : i + 5000])
        took = time.perf_counter() - t0
        if db.dialect == "postgresql":  # what autovacuum does within a minute of a bulk load
            with db.connect() as conn:
                conn.execute(text("ANALYZE"))
        print(f"  {db.dialect}: bulk insert {n_events:,} events in {took:.1f}s ({n_events / took:,.0f}/s)")

        def count_all() -> None:
            with db.connect() as conn:
                conn.scalar(select(func.count()).select_from(EventRow))

        def camera_time() -> None:
            t = START + rng.random() * 29 * DAY
            store.search(
                EventQuery(camera_ids=[rng.choice(CAMERAS)], time_from=t, time_to=t + DAY, limit=PAGE)
            )

        def type_status() -> None:
            store.search(
                EventQuery(types=[rng.choice(TYPES)], statuses=[rng.choice(["true", "false"])], limit=PAGE)
            )

        def pending_queue() -> None:  # a reviewer's queue: oldest pending of one type first
            store.search(EventQuery(types=[rng.choice(TYPES)], statuses=["pending"], order="asc", limit=PAGE))

        # Cursors of every page of the unfiltered, newest-first list (not timed).
        cursors: list[str] = []
        cursor = None
        while True:
            page = store.search(EventQuery(limit=PAGE, cursor=cursor, with_total=False))
            if page.next_cursor is None:
                break
            cursors.append(page.next_cursor)
            cursor = page.next_cursor
        deep = len(cursors) // 2  # pages from half-way down to the end

        def deep_keyset() -> None:
            i = rng.randrange(deep, len(cursors))
            store.search(EventQuery(limit=PAGE, cursor=cursors[i], with_total=False))

        def deep_offset() -> None:
            i = rng.randrange(deep, len(cursors))
            store.search(EventQuery(limit=PAGE, offset=(i + 1) * PAGE, with_total=False))

        def stats_days() -> None:
            store.stats_by_type_day(EventFilter(camera_ids=[rng.choice(CAMERAS)]), tz_offset_minutes=480)

        def stats_cameras() -> None:
            t = START + rng.random() * 23 * DAY
            store.stats_by_camera(EventFilter(time_from=t, time_to=t + 7 * DAY))

        cases: list[tuple[str, Callable[[], None]]] = [
            ("baseline: count(*) all events", count_all),
            ("camera + 1-day range, page 1 + total", camera_time),
            ("type + status, page 1 + total", type_status),
            ("review queue (type, pending, asc)", pending_queue),
            (f"deep page by cursor (pages {deep}-{len(cursors)})", deep_keyset),
            (f"deep page by OFFSET (pages {deep}-{len(cursors)})", deep_offset),
            ("stats: by type x day, one camera", stats_days),
            ("stats: by camera, 7-day window", stats_cameras),
        ]
        return [(name, timed(fn, n_queries)) for name, fn in cases]


def report(backend: str, results: list[tuple[str, list[float]]]) -> None:
    base = statistics.median(results[0][1])
    print(f"\n{backend}: p50/p95 over {len(results[0][1])} queries each; ratio = p50 / baseline p50")
    print(f"  {'query':<44} {'p50 ms':>8} {'p95 ms':>8} {'ratio':>7}")
    for name, xs in results:
        med = statistics.median(xs)
        print(f"  {name:<44} {med:8.2f} {p95(xs):8.2f} {med / base:7.2f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--no-postgres", action="store_true")
    args = ap.parse_args()
    print(f"{args.events:,} events, {len(CAMERAS)} cameras, {len(TYPES)} types over 30 days")

    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/bench.db")
        report("SQLite (WAL, file in a temp dir)", bench(db, args.events, args.queries, args.seed))
        db.dispose()

    if args.no_postgres:
        return 0
    admin = Database(args.postgres_url)
    name = f"sightline_bench_{uuid.uuid4().hex[:8]}"
    try:
        with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except (DatabaseError, OperationalError) as err:  # no server: SQLite numbers stand alone
        print(f"\nPostgreSQL skipped: {str(err).splitlines()[0]}")
        return 0
    try:
        db = Database(args.postgres_url.rsplit("/", 1)[0] + f"/{name}")
        version = admin.engine.connect().execute(text("SHOW server_version")).scalar()
        report(f"PostgreSQL {version}", bench(db, args.events, args.queries, args.seed))
        db.dispose()
    finally:
        with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
