"""A worker process for the ``kill -9`` test: ingests events as fast as it can
through the same path as the analysis tasks (``TaskManager._store``: blobs,
event row, outbox rows) while its dispatcher delivers them, and appends each
event id to ``--acked`` (fsynced) once the store call has returned, i.e.
after the event and its outbox rows were committed.

    python -m tests.faults.ingest_child --data DIR --db URL --acked FILE [--prefix P]

Runs until killed. Prints ``READY`` once the dispatcher runs.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from sightline.api.context import AppContext
from sightline.core.event import BoundingBox, Event
from sightline.delivery import DeliverySettings, RetryPolicy, on_event_stored, start_delivery
from sightline.service.tasks import TaskManager

# Short lease and back-off so the restart in the test needs seconds, not minutes.
SETTINGS = DeliverySettings(
    concurrency=8,
    timeout_s=2.0,
    lease_s=3.0,
    poll_interval_s=0.05,
    pause_cap_s=0.2,
    retry=RetryPolicy(base_s=0.05, cap_s=0.5, max_attempts=10_000),
)


def jpeg(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    ok, buf = cv2.imencode(".jpg", rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))
    assert ok
    return bytes(buf.tobytes())


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True, type=Path)
    p.add_argument("--db", required=True)
    p.add_argument("--acked", required=True, type=Path)
    p.add_argument("--prefix", default="k9")
    args = p.parse_args()
    ctx = AppContext.open(args.data, args.db)
    start_delivery(ctx, SETTINGS)
    manager = TaskManager(ctx)
    manager.after_store.append(lambda e: on_event_stored(ctx, e))
    fd = os.open(args.acked, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    print("READY", flush=True)
    i = 0
    while True:
        event = Event(
            id=f"{args.prefix}-{i:06d}",
            type="line.cross",
            rule_id="gate",
            camera_id=f"cam{i % 4}",
            pts=float(i),
            wall_time=time.time(),
            track_id=i,
            class_name="person",
            confidence=0.9,
            boxes=[BoundingBox(x1=1, y1=2, x2=30, y2=40, class_name="person", confidence=0.9, track_id=i)],
            line_id="gate-line",
            direction="in",
        )
        manager._store("t-ingest", [(event, {"frame": jpeg(i)})])
        os.write(fd, f"{event.id}\n".encode())
        os.fsync(fd)
        i += 1


if __name__ == "__main__":
    sys.exit(main())
