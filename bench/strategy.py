"""Strategy center throughput: raw events/s through the full chain on SQLite.

Why: the seed asks for 500 strategy-forwarded events/s; the issue's target is
5,000. This measures the platform's own ingest path, the one every analysis
worker uses (``TaskManager.ingest``): each raw event runs through the
strategy engine (elements, trace), is stored with its outcome (one multi-row
INSERT per batch), and every *passed* event gets its outbox rows (one webhook
subscription matching everything) and is published on the live bus.

Two runs on fresh databases with the same events, in this process:

  baseline    no strategy applies: the events are stored and delivered as is
  strategies  the line-crossing preset chain plus an error library of 50
              entries: confidence filter, minimum size, dedupe per track,
              rate limit per camera; ~40 % of the raw events are blocked
              (stored with their trace, not delivered)

Events come in batches of ``--batch`` per ``ingest`` call; 200 cameras,
``wall_time`` increasing. The batch size matters: each call is one
transaction for the events and one for their outbox rows, so small batches
pay a commit per call (measured on the 2-core dev box, 20,000 events: with
strategies ~6,200 events/s at 50 per call and ~6,900 at 200; baseline ~9,200
and ~14,300). Evidence images
are left out (blob writes are the blob store's benchmark, and identical in
both runs). Prints events/s of each run and the ratio.

    .venv/bin/python bench/strategy.py [--events 20000] [--batch 200] [--repeat 3]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

from sightline.api.context import AppContext
from sightline.core.event import BoundingBox, Event
from sightline.delivery.bus import EventBus
from sightline.delivery.hooks import on_events_stored
from sightline.delivery.store import SubscriptionStore
from sightline.service.strategies import start_strategies
from sightline.service.tasks import TaskManager
from sightline.storage.models import Delivery, EventRow

T0 = 1_714_521_600.0
CAMERAS = 200

STRATEGY = """
id: bench-line
name: Bench line crossing
event_types: [line.cross]
elements:
  - {id: confident, type: sightline/confidence-filter@v1, min_confidence: 0.5}
  - {id: big-enough, type: sightline/min-size@v1, unit: px, min_width: 12, min_height: 24}
  - {id: known-false, type: sightline/error-library@v1}
  - {id: once-per-track, type: sightline/dedupe@v1, window_s: 30, by_zone: true, by_track: true}
  - {id: camera-cap, type: sightline/rate-limit@v1, max_events: 600, window_s: 60}
"""


def make_events(n: int, seed: int = 7) -> list[Event]:
    rng = random.Random(seed)
    events = []
    for i in range(n):
        track = rng.randrange(1, 400)
        conf = round(rng.uniform(0.3, 1.0), 3)
        w, h = rng.uniform(8, 80), rng.uniform(16, 160)
        events.append(
            Event(
                id=f"bench-{seed}-{i:07d}",
                type="line.cross",
                rule_id="door",
                camera_id=f"cam-{i % CAMERAS:03d}",
                pts=i * 0.04,
                wall_time=T0 + i * 0.01,
                frame_seq=i,
                track_id=track,
                class_name="person",
                confidence=conf,
                boxes=[
                    BoundingBox(x1=100, y1=100, x2=100 + w, y2=100 + h, class_name="person", confidence=conf)
                ],
                line_id="door",
                direction="in",
                frame_size=(1280, 720),
            )
        )
    return events


def run(events: list[Event], batch: int, with_strategies: bool) -> tuple[float, int, int, int]:
    """Seconds for the whole ingest, and the rows it left: events, blocked, deliveries."""
    with tempfile.TemporaryDirectory() as tmp:
        ctx = AppContext.open(Path(tmp) / "data", f"sqlite:///{tmp}/bench.db")
        ctx.bus = EventBus()
        SubscriptionStore(ctx.db).create(name="everything", kind="webhook", url="http://127.0.0.1:9/hook")
        center = start_strategies(ctx, seed=False)
        if with_strategies:
            center.store.create({"id": "bench-line", **_yaml(STRATEGY)}, author="bench")
            for k in range(50):  # library entries of other cameras' scenes: matched, never similar
                center.library.add(f"lib-{k}", f"cam-{k:03d}", "line.cross", f"{random.getrandbits(64):016x}")
            center.reload()
        manager = TaskManager(ctx)
        manager.after_store_many.append(lambda events: on_events_stored(ctx, events))
        start = time.perf_counter()
        for i in range(0, len(events), batch):
            manager.ingest("bench", [(e, {}) for e in events[i : i + batch]])
        elapsed = time.perf_counter() - start
        with ctx.db.session() as s:
            stored = s.query(EventRow).count()
            blocked = s.query(EventRow).filter(EventRow.outcome == "blocked").count()
            deliveries = s.query(Delivery).count()
        ctx.db.dispose()
        return elapsed, stored, blocked, deliveries


def _yaml(text: str) -> dict:  # type: ignore[type-arg]
    import yaml

    data = yaml.safe_load(text)
    data.pop("id", None)
    return dict(data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=200, help="events handed over per ingest call")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs each")
    args = parser.parse_args(argv)
    events = make_events(args.events)
    results = {}
    for name, with_strategies in (("baseline", False), ("strategies", True)):
        best = None
        for _ in range(args.repeat):
            outcome = run(events, args.batch, with_strategies)
            if best is None or outcome[0] < best[0]:
                best = outcome
        assert best is not None
        results[name] = best
        elapsed, stored, blocked, deliveries = best
        print(
            f"{name:<11} {args.events / elapsed:>9,.0f} raw events/s  "
            f"({args.events} events in {elapsed:.2f} s; stored {stored}, blocked {blocked}, "
            f"outbox rows {deliveries})"
        )
    ratio = results["baseline"][0] / results["strategies"][0]
    rate = args.events / results["strategies"][0]
    print(
        f"ratio strategies / baseline: {ratio:.2f}x  "
        f"(target >= 5,000 events/s: {'met' if rate >= 5000 else 'NOT met'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
