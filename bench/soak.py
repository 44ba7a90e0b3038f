"""Soak: the platform under steady load for a while, with its resource use
at the start and the end (issue 5).

Runs ``start_platform`` on a temporary folder (or ``--data``): the demo
camera plus ``--cameras`` more cameras looping vtest.avi as file sources in
real time (each with the demo's people task at ``--fps``), a webhook
subscription to a receiver on 127.0.0.1, synthetic event bursts stored
through the same path as the tasks (``TaskManager._store``: blobs, row,
outbox, live bus), and API clients reading over real HTTP (uvicorn) in a
loop: events search, one event, statistics. Every 30 s it prints a progress
line; at the end: events/s stored, deliveries/s, API requests/s, p50/p95
latencies (API and frame-to-store), RSS and open file descriptors at start
and end (from /proc/self).

    .venv/bin/python bench/soak.py [--minutes 10] [--cameras 3] [--burst 20] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sightline.api.threaded import ThreadedServer  # noqa: E402
from sightline.core.event import BoundingBox, Event  # noqa: E402
from sightline.delivery import SubscriptionStore  # noqa: E402
from sightline.service.demo import DEMO_TASK_ID, DEMO_VIDEO  # noqa: E402
from sightline.service.platform import Platform, start_platform  # noqa: E402
from sightline.storage.models import Camera, Task  # noqa: E402


def rss_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Receiver:
    """A webhook receiver answering 200 to everything; counts what arrived."""

    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    receiver.count += 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"


def add_cameras(platform: Platform, n: int, fps: float) -> list[str]:
    """``n`` more cameras looping the demo video, each with the demo's task at ``fps``."""
    ctx = platform.ctx
    ids = []
    with ctx.db.session() as s:
        demo = s.get(Task, DEMO_TASK_ID)
        if demo is None:
            raise SystemExit("the demo task is missing: run on a fresh --data folder")
        config = dict(demo.config)
        config["sampling"] = {**config.get("sampling", {}), "fps": fps}
        for i in range(n):
            cam_id, task_id = f"soak-cam-{i}", f"soak-task-{i}"
            s.add(Camera(id=cam_id, name=cam_id, url=str(DEMO_VIDEO), source_options={"loop": True}))
            s.flush()
            s.add(
                Task(
                    id=task_id,
                    camera_id=cam_id,
                    name=f"soak {i}",
                    algorithm=demo.algorithm,
                    config=config,
                    desired_state="running",
                    status="created",
                )
            )
            ids.append(task_id)
    for task_id in ids:
        platform.tasks.apply(task_id)
    return ids


class Load:
    """The synthetic load: bursts of events and API readers, with their figures."""

    def __init__(self, platform: Platform, base_url: str, token: str, burst: int, every_s: float) -> None:
        self.platform = platform
        self.base_url = base_url
        self.headers = {"Authorization": f"Bearer {token}"}
        self.burst = burst
        self.every_s = every_s
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.stored = 0
        self.synthetic = 0
        self.frame_to_store_ms: list[float] = []
        self.api_ms: dict[str, list[float]] = {}
        self.api_errors = 0
        self.image = self._jpeg()

    @staticmethod
    def _jpeg() -> bytes:
        rng = np.random.default_rng(1)
        ok, buf = cv2.imencode(".jpg", rng.integers(0, 255, (96, 128, 3), dtype=np.uint8))
        assert ok
        return bytes(buf.tobytes())

    def on_stored(self, event: Event) -> None:
        with self.lock:
            self.stored += 1
            if not event.id.startswith("soak-"):
                self.frame_to_store_ms.append((time.time() - event.wall_time) * 1000)

    def bursts(self) -> None:
        n = 0
        while not self.stop.wait(self.every_s):
            items = []
            for _ in range(self.burst):
                items.append((self._event(n), {"frame": self.image}))
                n += 1
            self.platform.tasks._store("soak-synthetic", items)
            with self.lock:
                self.synthetic += len(items)

    @staticmethod
    def _event(n: int) -> Event:
        box = BoundingBox(x1=10, y1=20, x2=60, y2=140, class_name="person", confidence=0.8, track_id=n)
        return Event(
            id=f"soak-{n:09d}",
            type="zone.enter" if n % 2 else "line.cross",
            rule_id="soak",
            camera_id=f"soak-cam-{n % 3}",
            pts=float(n),
            wall_time=time.time(),
            track_id=n,
            class_name="person",
            confidence=0.8,
            boxes=[box],
            zone_id="lawn" if n % 2 else None,
            line_id=None if n % 2 else "crossing",
            direction=None if n % 2 else "in",
        )

    def reader(self) -> None:
        with httpx.Client(base_url=self.base_url, headers=self.headers, timeout=30) as client:
            i = 0
            while not self.stop.is_set():
                name, path, params = self._request(i, client)
                t0 = time.perf_counter()
                try:
                    ok = client.get(path, params=params).status_code == 200
                except httpx.HTTPError:
                    ok = False
                ms = (time.perf_counter() - t0) * 1000
                with self.lock:
                    self.api_ms.setdefault(name, []).append(ms)
                    self.api_errors += 0 if ok else 1
                i += 1

    def _request(self, i: int, client: httpx.Client) -> tuple[str, str, dict[str, Any]]:
        kind = i % 4
        if kind == 0:
            return "events search", "/api/events", {"limit": 50}
        if kind == 1:
            return "events by camera+type", "/api/events", {"camera_id": "soak-cam-1", "type": "zone.enter"}
        if kind == 2:
            return "stats", "/api/stats/events", {}
        page = client.get("/api/events", params={"limit": 1}).json().get("items") or [{"id": "none"}]
        return "one event", f"/api/events/{page[0]['id']}", {}


def run(args: argparse.Namespace) -> dict[str, Any]:
    password = secrets.token_urlsafe(16) + "-Aa1"
    os.environ.setdefault("SIGHTLINE_ADMIN_USER", "soak-admin")
    os.environ.setdefault("SIGHTLINE_ADMIN_PASSWORD", password)
    data = Path(args.data) if args.data else Path(tempfile.mkdtemp(prefix="sightline-soak-"))
    rss0, fds0 = rss_mib(), open_fds()
    platform = start_platform(data, args.database_url, demo=True, realtime=True)
    receiver = Receiver()
    SubscriptionStore(platform.ctx.db).create(name="soak", kind="webhook", url=receiver.url)
    add_cameras(platform, args.cameras, args.fps)
    api = ThreadedServer(platform.app)
    base_url = api.start()
    r = httpx.post(
        f"{base_url}/api/auth/login",
        json={
            "username": os.environ["SIGHTLINE_ADMIN_USER"],
            "password": os.environ["SIGHTLINE_ADMIN_PASSWORD"],
        },
    )
    r.raise_for_status()
    load = Load(platform, base_url, r.json()["token"], args.burst, args.burst_every)
    platform.tasks.after_store.insert(0, load.on_stored)
    threads = [threading.Thread(target=load.bursts, daemon=True)]
    threads += [threading.Thread(target=load.reader, daemon=True) for _ in range(args.readers)]
    time.sleep(5)  # let the cameras connect before the first figures
    rss_start, fds_start = rss_mib(), open_fds()
    started = time.monotonic()
    for t in threads:
        t.start()
    end = started + args.minutes * 60
    try:
        while time.monotonic() < end:
            time.sleep(min(30.0, max(0.0, end - time.monotonic())))
            with load.lock:
                n_api = sum(len(v) for v in load.api_ms.values())
                stored = load.stored
            print(
                f"[{time.monotonic() - started:5.0f} s] stored {stored} events, {receiver.count} delivered, "
                f"{n_api} API requests, RSS {rss_mib():.0f} MiB, {open_fds()} fds",
                file=sys.stderr,
                flush=True,
            )
    finally:
        load.stop.set()
        for t in threads:
            t.join(30)
        elapsed = time.monotonic() - started
        rss_end, fds_end = rss_mib(), open_fds()
        tasks = {tid: platform.tasks.status(tid).get("state") for tid in [DEMO_TASK_ID, *_task_ids(args)]}
        dispatcher = platform.dispatcher.stats()
        api.stop()
        platform.stop()
        receiver.server.shutdown()
    all_api = [ms for v in load.api_ms.values() for ms in v]
    return {
        "minutes": round(elapsed / 60, 2),
        "cameras": 1 + args.cameras,
        "events_stored": load.stored,
        "events_stored_per_s": round(load.stored / elapsed, 1),
        "synthetic_events": load.synthetic,
        "pipeline_events": load.stored - load.synthetic,
        "webhooks_delivered": receiver.count,
        "webhooks_per_s": round(receiver.count / elapsed, 1),
        "dispatcher": dispatcher,
        "api_requests": len(all_api),
        "api_requests_per_s": round(len(all_api) / elapsed, 1),
        "api_errors": load.api_errors,
        "api_p50_ms": round(pct(all_api, 0.5), 1),
        "api_p95_ms": round(pct(all_api, 0.95), 1),
        "api_p95_ms_by_request": {k: round(pct(v, 0.95), 1) for k, v in load.api_ms.items()},
        "frame_to_store_p50_ms": round(pct(load.frame_to_store_ms, 0.5), 1),
        "frame_to_store_p95_ms": round(pct(load.frame_to_store_ms, 0.95), 1),
        "rss_mib": {
            "before_platform": round(rss0, 1),
            "start": round(rss_start, 1),
            "end": round(rss_end, 1),
        },
        "open_fds": {"before_platform": fds0, "start": fds_start, "end": fds_end},
        "task_states_at_end": tasks,
        "data_dir": str(data),
        "mean_api_ms": round(statistics.fmean(all_api), 1) if all_api else None,
    }


def _task_ids(args: argparse.Namespace) -> list[str]:
    return [f"soak-task-{i}" for i in range(args.cameras)]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--cameras", type=int, default=3, help="cameras besides the demo (vtest.avi looped)")
    p.add_argument("--fps", type=float, default=2.0, help="analysis fps of the extra cameras")
    p.add_argument("--burst", type=int, default=20, help="synthetic events per burst")
    p.add_argument("--burst-every", type=float, default=1.0, help="seconds between bursts")
    p.add_argument("--readers", type=int, default=2, help="API client threads")
    p.add_argument("--data", help="data folder (default: a new temporary one)")
    p.add_argument("--database-url", help="default: SQLite in the data folder")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = p.parse_args()
    if not DEMO_VIDEO.exists():
        print(f"soak: {DEMO_VIDEO} is missing: apt-get install opencv-doc", file=sys.stderr)
        return 2
    figures = run(args)
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        width = max(len(k) for k in figures)
        for key, value in figures.items():
            print(f"{key:<{width}}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
