"""Camera faults: an RTSP server that dies and comes back, and cameras that
answer with garbage or never finish their handshake.

Real sockets on 127.0.0.1 only: the GStreamer RTSP test server
(``tests/rtsp_server.py``, killed with SIGKILL like a camera losing power)
and small TCP servers from ``conftest.py``. Reconnect back-off and timeouts
are the production defaults; only FFmpeg's stream probing is shortened to
1 s (``analyzeduration``), as operators do for single-stream cameras.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sightline.sources import AvSource, SourceConfig, SourceHealth, SourceReader
from tests.faults.conftest import (
    BadCamera,
    FrameLog,
    never_answer,
    send_garbage,
    trickle_headers,
)
from tests.polling import wait_for

FAST_OPEN = {"analyzeduration": "1000000"}
RESUME_LIMIT_S = 10.0
OUTAGE_S = 13.0  # long enough for the back-off to reach its 5 s cap


def rtsp_reader(camera_id: str, url: str, **kw: Any) -> SourceReader:
    cfg = SourceConfig(camera_id=camera_id, url=url, resize_width=384, ffmpeg_options=FAST_OPEN, **kw)
    return SourceReader(AvSource(cfg), maxsize=8)


class HealthWatch:
    """Samples each reader's health every 100 ms; keeps every state seen."""

    def __init__(self, readers: list[SourceReader]) -> None:
        self.readers = readers
        self.states: dict[str, set[str]] = {r.source.config.camera_id: set() for r in readers}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            for r in self.readers:
                self.states[r.source.config.camera_id].add(r.health.state)

    def __enter__(self) -> HealthWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(2)


@pytest.mark.rtsp
@pytest.mark.slow
def test_rtsp_server_dies_and_returns_each_stream_resumes_within_10_s(
    rtsp_server: Callable[..., Any], measure: Callable[..., None]
) -> None:
    affected_server = rtsp_server(mount="/a")
    other_server = rtsp_server(mount="/b")
    affected = [rtsp_reader(f"cam-a{i}", affected_server.url) for i in (1, 2)]
    other = rtsp_reader("cam-b", other_server.url)
    readers = [*affected, other]
    for r in readers:
        r.start()
    log = FrameLog(readers).start()
    try:
        assert wait_for(lambda: all(log.count(r.source.config.camera_id) >= 5 for r in readers), 30), {
            r.source.config.camera_id: r.health for r in readers
        }
        with HealthWatch([other]) as watch:
            killed = time.monotonic()
            affected_server.stop()  # SIGKILL: no TEARDOWN, sockets just close
            assert wait_for(lambda: all(r.health.state in ("offline", "connecting") for r in affected), 10)
            down_errors = [r.health.error for r in affected]
            time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - killed)))
            affected_server.start()
            back = time.monotonic()
            assert wait_for(
                lambda: all(log.first_after(r.source.config.camera_id, back) for r in affected),
                RESUME_LIMIT_S + 5,
            ), {r.source.config.camera_id: r.health for r in affected}
            resumed = time.monotonic()
        other_gap = log.max_gap("cam-b", killed, resumed)
        other_health = other.health
    finally:
        log.stop()
        for r in readers:
            r.stop(timeout=5)

    for r in affected:
        cam = r.source.config.camera_id
        first = log.first_after(cam, back)
        assert first is not None
        resume_s = first - back
        measure(f"{cam}_resume_s", resume_s, "s after the server listened again")
        assert resume_s < RESUME_LIMIT_S, f"{cam} resumed after {resume_s:.1f} s"
        assert r.health.reconnects >= 1
        pts = log.pts[cam]
        assert all(b > a for a, b in zip(pts, pts[1:], strict=False)), "pts went backwards across the outage"
    for error in down_errors:
        assert error is not None and "hunter2" not in error and "cam-a" in error
    measure("unaffected_max_gap_s", other_gap, f"over the {resumed - killed:.0f} s outage")
    assert other_gap < 2.5, f"cam-b stalled for {other_gap:.1f} s while cam-a's server was down"
    assert watch.states["cam-b"] == {"online"}, watch.states
    assert other_health.reconnects == 0 and other_health.error is None


BEHAVIOURS = {
    "garbage": (send_garbage, "rtsp"),
    "garbage-http": (send_garbage, "http"),
    "silent-handshake": (never_answer, "rtsp"),
    "endless-handshake": (trickle_headers, "rtsp"),
}


@pytest.mark.slow
def test_garbage_and_endless_handshakes_are_cut_off_without_blocking_others(
    bad_camera: Callable[..., BadCamera], vtest_path: Path, measure: Callable[..., None]
) -> None:
    open_timeout = 3.0
    cams = {name: bad_camera(behave) for name, (behave, _) in BEHAVIOURS.items()}
    bad = [
        SourceReader(
            AvSource(
                SourceConfig(
                    camera_id=name,
                    url=cams[name].url(scheme),
                    open_timeout_s=open_timeout,
                    read_timeout_s=2.0,
                )
            )
        )
        for name, (_, scheme) in BEHAVIOURS.items()
    ]
    good = SourceReader(
        AvSource(SourceConfig(camera_id="good", url=str(vtest_path), loop=True, keyframes_only=True)),
        maxsize=4,
    )
    readers = [*bad, good]
    started = time.monotonic()
    for r in readers:
        r.start()
    log = FrameLog(readers).start()
    try:
        reported: dict[str, float] = {}

        def all_reported() -> bool:
            for r in bad:
                if r.source.config.camera_id not in reported and r.health.error is not None:
                    reported[r.source.config.camera_id] = time.monotonic() - started
            return len(reported) == len(bad)

        assert wait_for(all_reported, open_timeout + 5, interval=0.02), {
            r.source.config.camera_id: r.health for r in bad
        }
        healths: dict[str, SourceHealth] = {r.source.config.camera_id: r.health for r in bad}
        # Each keeps retrying (a camera may be fixed), each try bounded by the timeout.
        assert wait_for(lambda: all(c.connections >= 2 for c in cams.values()), open_timeout + 8)
        window_end = time.monotonic()
        good_gap = log.max_gap("good", started + 1.0, window_end)
        t0 = time.monotonic()
        stopped = [r.stop(timeout=open_timeout + 1) for r in bad]
        stop_s = time.monotonic() - t0
    finally:
        log.stop()
        for r in readers:
            r.stop(timeout=5)

    for name, seconds in reported.items():
        measure(f"{name}_cut_off_s", seconds, f"(open timeout {open_timeout:g} s)")
        assert seconds < open_timeout + 2, f"{name}: error reported after {seconds:.1f} s"
    for name, health in healths.items():
        error = health.error or ""
        assert health.state in ("offline", "connecting") and health.frames == 0, health
        assert f"camera {name!r}" in error and "hunter2" not in error, error
        assert "127.0.0.1" in error
    for name in ("silent-handshake", "endless-handshake"):
        assert f"within {open_timeout:g} s" in (healths[name].error or "")
    assert "(or no valid RTSP reply)" in (healths["endless-handshake"].error or "")
    assert "not a stream FFmpeg can play" in (healths["garbage-http"].error or "") or "HTTP" in (
        healths["garbage-http"].error or ""
    )
    assert all(stopped) and stop_s < open_timeout + 1
    measure("healthy_source_max_gap_s", good_gap, "while four bad cameras were failing")
    assert log.count("good") > 20
    assert good_gap < 1.5, f"the healthy file source stalled {good_gap:.2f} s"  # 0.01 s when quiet
