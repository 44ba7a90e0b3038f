"""Shared test fixtures: the sample video and a real RTSP server.

The RTSP server is ``tests/rtsp_server.py`` run under Debian's
``/usr/bin/python3`` (the venv has no PyGObject); tests that need it skip
with a clear reason when GStreamer's RTSP server library is not installed.
"""

from __future__ import annotations

import os
import selectors
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
SYSTEM_PYTHON = "/usr/bin/python3"
RTSP_SERVER_SCRIPT = Path(__file__).with_name("rtsp_server.py")


def free_tcp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _gst_rtsp_problem() -> str | None:
    """Why the RTSP server cannot run here, or None when it can."""
    if not os.path.exists(SYSTEM_PYTHON):
        return f"{SYSTEM_PYTHON} not found (Debian python3 runs the GStreamer RTSP server)"
    probe = subprocess.run(
        [SYSTEM_PYTHON, "-c", "import gi; gi.require_version('GstRtspServer', '1.0')"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if probe.returncode != 0:
        return (
            "GStreamer RTSP server not available to /usr/bin/python3: apt-get install python3-gi "
            "gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-good gstreamer1.0-plugins-bad "
            "gstreamer1.0-plugins-ugly gstreamer1.0-libav ffmpeg"
        )
    return None


class RtspServer:
    """``tests/rtsp_server.py`` in a child process: a camera you can unplug.

    ``stop()`` kills it (its whole process group, ffmpeg included);
    ``start()`` brings it back on the same port and mount.
    """

    def __init__(
        self,
        video: Path,
        port: int,
        mount: str = "/stream",
        user: str | None = None,
        password: str | None = None,
    ) -> None:
        self.video = video
        self.port = port
        self.mount = mount
        self.user = user
        self.password = password
        self._proc: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        """URL with the credentials, if the server has any."""
        auth = f"{self.user}:{self.password}@" if self.user is not None else ""
        return f"rtsp://{auth}127.0.0.1:{self.port}{self.mount}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float = 20.0) -> RtspServer:
        if self.running:
            return self
        cmd = [SYSTEM_PYTHON, str(RTSP_SERVER_SCRIPT), "--file", str(self.video)]
        cmd += ["--port", str(self.port), "--mount", self.mount]
        if self.user is not None and self.password is not None:
            cmd += ["--user", self.user, "--password", self.password]
        # Own process group: stop() takes ffmpeg down with the server.
        self._proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
        )
        assert self._proc.stdout is not None
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as sel:
            sel.register(self._proc.stdout, selectors.EVENT_READ)
            while time.monotonic() < deadline:
                if sel.select(timeout=max(0.0, deadline - time.monotonic())):
                    line = self._proc.stdout.readline()
                    if line.strip() == "READY":
                        return self
                    if line == "":  # EOF: it died
                        break
        err = self._proc.stderr.read() if self._proc.poll() is not None and self._proc.stderr else ""
        self.stop()
        raise RuntimeError(f"RTSP test server did not become ready on port {self.port}: {err.strip()}")

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        # SIGKILL, like pulling a camera's power: no RTSP TEARDOWN, the
        # kernel just closes the sockets.
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()

    def freeze(self) -> None:
        """SIGSTOP: the connection stays open but no data flows (a hung camera)."""
        assert self._proc is not None
        os.killpg(self._proc.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        assert self._proc is not None
        os.killpg(self._proc.pid, signal.SIGCONT)


@pytest.fixture
def vtest_path() -> Path:
    """OpenCV's sample clip: 768x576, 10 fps, 795 frames, MS-MPEG4 v3 in AVI,
    keyframes at frames 0, 250, 500, 750."""
    if not VTEST.is_file():
        pytest.skip(f"{VTEST} missing: apt-get install opencv-doc")
    return VTEST


@pytest.fixture
def rtsp_server(vtest_path: Path) -> Iterator[Callable[..., RtspServer]]:
    """Factory: ``rtsp_server(user=None, password=None, mount="/stream")``
    starts a server on a free port serving vtest looped in real time as
    H.264 with a keyframe every second; all are killed at teardown."""
    problem = _gst_rtsp_problem()
    if problem is not None:
        pytest.skip(problem)
    servers: list[RtspServer] = []

    def make(user: str | None = None, password: str | None = None, mount: str = "/stream") -> RtspServer:
        server = RtspServer(vtest_path, free_tcp_port(), mount=mount, user=user, password=password)
        servers.append(server)
        return server.start()

    yield make
    for server in servers:
        if server.running:
            server.thaw()  # a SIGSTOPped group ignores nothing but SIGKILL; be tidy anyway
        server.stop()
