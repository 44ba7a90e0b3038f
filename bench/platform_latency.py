"""Platform latencies an operator feels (issue 3): the events-search API at
100,000 stored events, and frame-to-webhook on the running demo.

1. **API search**: loads ``--events`` rows (same generator as
   ``bench/events_search.py``), serves the real app with uvicorn on 127.0.0.1,
   signs in, and times ``GET /api/events`` over HTTP (camera + one-day range,
   type + status, review queue, deep cursor page) — p50/p95 in ms, with the
   ratio to ``GET /healthz`` measured in the same run (the HTTP floor).
2. **Frame to webhook**: starts the platform (demo camera looping vtest.avi in
   real time, the default INT8 detector) with a webhook subscription to a real
   HTTP receiver on 127.0.0.1 and runs ``--seconds``. For every event it takes
   ``event.wall_time`` (when the frame left the decoder) and the receiver's
   clock at arrival; the baseline is frame-to-stored (the after-store hook),
   so the ratio shows what delivery adds.

    .venv/bin/python bench/platform_latency.py [--events 100000] [--queries 200] [--seconds 90]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert

from sightline.api.context import AppContext
from sightline.api.factory import build_app
from sightline.api.threaded import ThreadedServer
from sightline.auth.users import ensure_first_admin
from sightline.core.event import Event
from sightline.delivery.store import SubscriptionStore
from sightline.service.platform import start_platform
from sightline.storage.models import EventRow

HERE = Path(__file__).resolve().parent
ADMIN_PASSWORD = "bench-admin-password-1"


def _events_search_module() -> Any:
    """Reuse the row generator of bench/events_search.py (bench/ is not a package)."""
    spec = importlib.util.spec_from_file_location("events_search", HERE / "events_search.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def login(client: httpx.Client) -> None:
    r = client.post("/api/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD})
    r.raise_for_status()
    client.headers["Authorization"] = f"Bearer {r.json()['token']}"


def api_search(n_events: int, n_queries: int, seed: int) -> None:
    es = _events_search_module()
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        ctx = AppContext.open(Path(tmp))
        ensure_first_admin(ctx.db, "admin", ADMIN_PASSWORD, actor="bench")
        rows = es.make_rows(n_events, rng)
        with ctx.db.connect() as conn:
            for i in range(0, len(rows), 5000):
                conn.execute(insert(EventRow), rows[i : i + 5000])
        with ThreadedServer(build_app(ctx)) as url, httpx.Client(base_url=url, timeout=30) as client:
            login(client)
            page = client.get("/api/events", params={"limit": es.PAGE, "with_total": "false"}).json()
            cursors = []
            for _ in range(200):  # the cursors of the first 200 pages, to jump deep
                if not page.get("next_cursor"):
                    break
                cursors.append(page["next_cursor"])
                page = client.get(
                    "/api/events", params={"limit": es.PAGE, "cursor": cursors[-1], "with_total": "false"}
                ).json()

            def get(params: Callable[[], dict[str, Any]]) -> Callable[[], None]:
                def call() -> None:
                    client.get("/api/events", params=params()).raise_for_status()

                return call

            def camera_day() -> dict[str, Any]:
                t = es.START + rng.random() * 29 * es.DAY
                return {"camera_id": rng.choice(es.CAMERAS), "from": t, "to": t + es.DAY, "limit": es.PAGE}

            def type_status() -> dict[str, Any]:
                status = rng.choice(["true", "false"])
                return {"type": rng.choice(es.TYPES), "status": status, "limit": es.PAGE}

            def queue() -> dict[str, Any]:
                return {"type": rng.choice(es.TYPES), "status": "pending", "sort": "asc", "limit": es.PAGE}

            def deep() -> dict[str, Any]:
                cursor = rng.choice(cursors[len(cursors) // 2 :])
                return {"cursor": cursor, "limit": es.PAGE, "with_total": False}

            cases: list[tuple[str, Callable[[], None]]] = [
                ("baseline: GET /healthz", lambda: client.get("/healthz").raise_for_status()),
                ("camera + 1-day range, page 1 + total", get(camera_day)),
                ("type + status, page 1 + total", get(type_status)),
                ("review queue (type, pending, asc) + total", get(queue)),
                (f"deep page by cursor (pages {len(cursors) // 2}-{len(cursors)})", get(deep)),
            ]
            results = [(name, es.timed(fn, n_queries)) for name, fn in cases]
        ctx.db.dispose()
    es.report(f"GET /api/events over HTTP at {n_events:,} stored events (SQLite)", results)


class Arrivals:
    """A real webhook receiver that notes when each event arrives."""

    def __init__(self) -> None:
        self.latency_ms: dict[str, float] = {}
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                arrived = time.time()
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
                event = body["event"]
                with outer.lock:
                    outer.latency_ms.setdefault(event["id"], (arrived - event["wall_time"]) * 1000)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def frame_to_webhook(seconds: float) -> None:
    receiver = Arrivals()
    stored_ms: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        platform = start_platform(Path(tmp), demo=True, realtime=True)
        try:
            SubscriptionStore(platform.ctx.db).create(name="bench", kind="webhook", url=receiver.url)

            def note_stored(event: Event) -> None:
                stored_ms[event.id] = (time.time() - event.wall_time) * 1000

            platform.tasks.after_store.insert(0, note_stored)
            t_end = time.monotonic() + seconds
            while time.monotonic() < t_end:
                time.sleep(1)
                print(f"\r  running the demo: {len(stored_ms)} events stored", end="", flush=True)
            time.sleep(3)  # let the last deliveries land
        finally:
            platform.stop()
            receiver.server.shutdown()
    print()
    delivered = [receiver.latency_ms[i] for i in stored_ms if i in receiver.latency_ms]
    if len(delivered) < 3:
        print(f"frame-to-webhook: only {len(delivered)} events in {seconds:.0f}s; run longer")
        return
    _events_search_module().report(
        f"frame to webhook on the demo ({len(delivered)} of {len(stored_ms)} events delivered)",
        [
            ("baseline: frame -> event stored", list(stored_ms.values())),
            ("frame -> webhook received", delivered),
        ],
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=90.0)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--skip-api", action="store_true")
    ap.add_argument("--skip-webhook", action="store_true")
    args = ap.parse_args()
    if not args.skip_api:
        api_search(args.events, args.queries, args.seed)
    if not args.skip_webhook:
        frame_to_webhook(args.seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
