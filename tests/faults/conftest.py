"""Shared helpers for the fault tests: misbehaving cameras on 127.0.0.1,
bounded polling, process memory and file descriptors from ``/proc``, and a
summary of every measured recovery time at the end of the run.

Each fault test records what it measured with the ``measure`` fixture; the
figures are printed under "fault measurements" in pytest's terminal summary
(and stored as junit properties), so CI logs carry the recovery times that
docs/operations.md quotes.
"""

from __future__ import annotations

import contextlib
import errno
import os
import random
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from sightline.sources import SourceReader

_MEASUREMENTS: list[str] = []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _MEASUREMENTS:
        terminalreporter.section("fault measurements")
        for line in _MEASUREMENTS:
            terminalreporter.write_line(line)


@pytest.fixture
def measure(
    request: pytest.FixtureRequest, record_property: Callable[[str, object], None]
) -> Callable[..., None]:
    """``measure("resume_s", 3.2)``: print now and list it in the terminal summary."""

    def record(name: str, value: float | int | str, unit: str = "") -> None:
        shown = f"{value:.2f}" if isinstance(value, float) else str(value)
        line = f"{request.node.name}: {name} = {shown}{(' ' + unit) if unit else ''}"
        _MEASUREMENTS.append(line)
        record_property(name, value)
        print(line)

    return record


# -- process figures ------------------------------------------------------------------


def rss_bytes(pid: int | str = "self") -> int:
    """Resident set size from /proc/<pid>/status (VmRSS)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc status")


def open_fds(pid: int | str = "self") -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


# -- misbehaving cameras ------------------------------------------------------------------


class BadCamera:
    """A TCP server on 127.0.0.1 that accepts every connection and hands it
    to ``behave(conn, stop)`` on its own thread: the camera's misbehaviour.
    ``connections`` counts accepted connections (each reconnect attempt)."""

    def __init__(self, behave: Callable[[socket.socket, threading.Event], None]) -> None:
        self._behave = behave
        self._stop = threading.Event()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.1)
        self.port = int(self._sock.getsockname()[1])
        self.connections = 0
        self._threads: list[threading.Thread] = []
        self._accept = threading.Thread(target=self._serve, daemon=True)

    def url(self, scheme: str = "rtsp", path: str = "/live") -> str:
        return f"{scheme}://admin:hunter2@127.0.0.1:{self.port}{path}"

    def start(self) -> BadCamera:
        self._accept.start()
        return self

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            t = threading.Thread(target=self._handle, args=(conn,), daemon=True)
            self._threads.append(t)
            t.start()

    def _handle(self, conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            self._behave(conn, self._stop)

    def close(self) -> None:
        self._stop.set()
        self._accept.join(2)
        self._sock.close()
        for t in self._threads:
            t.join(2)


def send_garbage(conn: socket.socket, stop: threading.Event) -> None:
    """Random bytes, 16 KiB every 20 ms, until the client hangs up."""
    rng = random.Random(5)
    while not stop.is_set():
        conn.sendall(rng.randbytes(16 * 1024))
        stop.wait(0.02)


def never_answer(conn: socket.socket, stop: threading.Event) -> None:
    """Accept, read whatever the client sends, never say a word."""
    conn.settimeout(0.1)
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            if conn.recv(4096) == b"":
                return


def trickle_headers(conn: socket.socket, stop: threading.Event) -> None:
    """A handshake that never ends: a valid RTSP status line, then one header
    byte every 100 ms forever (data keeps arriving, so an idle timeout alone
    would never fire)."""
    conn.sendall(b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nX-Padding: ")
    while not stop.is_set():
        conn.sendall(b"a")
        stop.wait(0.1)


@pytest.fixture
def bad_camera() -> Iterator[Callable[[Callable[[socket.socket, threading.Event], None]], BadCamera]]:
    made: list[BadCamera] = []

    def make(behave: Callable[[socket.socket, threading.Event], None]) -> BadCamera:
        cam = BadCamera(behave).start()
        made.append(cam)
        return cam

    yield make
    for cam in made:
        cam.close()


# -- frame arrival log --------------------------------------------------------------------


@dataclass
class FrameLog:
    """Drains several readers on one thread, noting when each frame arrived
    (monotonic seconds), so tests can measure gaps and resume times."""

    readers: list[SourceReader]
    arrivals: dict[str, list[float]] = field(default_factory=dict)
    pts: dict[str, list[float]] = field(default_factory=dict)  # frame times (no images kept)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> FrameLog:
        for r in self.readers:
            self.arrivals[r.source.config.camera_id] = []
            self.pts[r.source.config.camera_id] = []
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()
        return self

    def _drain(self) -> None:
        while not self._stop.is_set():
            got = False
            for r in self.readers:
                frame = r.get(timeout=0)
                if frame is not None:
                    got = True
                    with self._lock:
                        self.arrivals[frame.camera_id].append(time.monotonic())
                        self.pts[frame.camera_id].append(frame.pts)
            if not got:
                time.sleep(0.005)

    def count(self, camera_id: str) -> int:
        with self._lock:
            return len(self.arrivals[camera_id])

    def first_after(self, camera_id: str, t: float) -> float | None:
        with self._lock:
            return next((a for a in self.arrivals[camera_id] if a > t), None)

    def max_gap(self, camera_id: str, start: float, end: float) -> float:
        """Longest time without a frame from ``camera_id`` within [start, end]."""
        with self._lock:
            times = [start, *(a for a in self.arrivals[camera_id] if start < a < end), end]
        return max(b - a for a, b in zip(times, times[1:], strict=False))

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)


# -- databases ----------------------------------------------------------------------------
# The storage tests' PostgreSQL fixtures (find or start a real server; skip, or
# fail under $CI, without one), re-exported for the crash tests.
from tests.integration.storage.conftest import make_pg_database, postgres_server  # noqa: E402

__all__ = ["make_pg_database", "postgres_server"]


@pytest.fixture(params=["sqlite", "postgresql"])
def crash_db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A new, empty database URL on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('crash') / 'sightline.db'}"
    make: Callable[[], str] = request.getfixturevalue("make_pg_database")
    return make()


# -- a small disk for blobs -----------------------------------------------------------------


class _FullDiskOs:
    """Stands in for the ``os`` module inside ``sightline.storage.blobs`` when
    no tmpfs can be mounted: writes through files opened with ``fdopen`` fail
    with ENOSPC once the files under ``root`` would exceed ``size`` bytes, like
    a full volume. Usage is what lies on disk, so deleting files frees space
    just as on the real tmpfs."""

    def __init__(self, root: Path, size: int) -> None:
        self.root, self.size = root, size

    def __getattr__(self, name: str) -> object:
        return getattr(os, name)

    def _used(self) -> int:
        return sum(p.stat().st_size for p in self.root.rglob("*") if p.is_file())

    def fdopen(self, fd: int, mode: str = "r", *args: object, **kw: object) -> object:
        f = os.fdopen(fd, mode, *args, **kw)  # type: ignore[call-overload]
        disk = self
        real_write = f.write

        def write(data: bytes) -> int:
            f.flush()  # so this file's own bytes so far are counted on disk
            if disk._used() + len(data) > disk.size:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return int(real_write(data))

        f.write = write
        return f


@contextlib.contextmanager
def small_disk(path: Path, size_bytes: int, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Make ``path`` a volume of ``size_bytes``: a real tmpfs mounted there when
    this process may mount (root in a container with CAP_SYS_ADMIN), else a
    simulation that patches ``os`` at the BlobStore boundary so writes past the
    budget fail with ENOSPC (the error a full disk gives). Yields which."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = False
    if os.geteuid() == 0 and shutil.which("mount"):
        proc = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size_bytes},mode=0700", "tmpfs", str(path)],
            capture_output=True,
            timeout=10,
        )
        mounted = proc.returncode == 0
    if not mounted:
        # SIMULATED: no tmpfs could be mounted here; ENOSPC comes from a patched os.fdopen.
        monkeypatch.setattr("sightline.storage.blobs.os", _FullDiskOs(path, size_bytes))
    try:
        yield "tmpfs" if mounted else "simulated ENOSPC"
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=10)
