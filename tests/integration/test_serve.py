"""`sightline serve`: the real service process, first start on an empty data
folder, as the README's run command does it."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Service:
    def __init__(self, base: str, output: list[str]) -> None:
        self.base = base
        self.output = output

    def admin_password(self) -> str:
        for line in self.output:
            m = re.search(r"created user 'admin' with password (\S+)", line)
            if m:
                return m.group(1)
        raise AssertionError("no first-run admin password printed:\n" + "".join(self.output[-30:]))


@pytest.fixture
def service(tmp_path: Path, model_path: Path, vtest_path: Path) -> Iterator[Service]:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sightline.cli",
            "serve",
            "--port",
            str(port),
            "--data",
            str(tmp_path / "data"),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    threading.Thread(target=lambda: output.extend(iter(proc.stdout.readline, "")), daemon=True).start()  # type: ignore[union-attr]
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
            if proc.poll() is not None:
                break
        else:
            pytest.fail("service did not start:\n" + "".join(output[-40:]))
        assert proc.poll() is None, "".join(output[-40:])
        yield Service(base, output)
    finally:
        proc.terminate()
        proc.wait(15)


def test_first_start_shows_demo_events_to_the_admin(service: Service) -> None:
    anonymous = httpx.get(f"{service.base}/api/events")
    assert anonymous.status_code == 401
    login = httpx.post(
        f"{service.base}/api/auth/login", json={"username": "admin", "password": service.admin_password()}
    )
    assert login.status_code == 200, login.text
    headers = {"Authorization": f"Bearer {login.json()['token']}"}
    deadline = time.monotonic() + 60
    items: list[dict] = []
    while time.monotonic() < deadline and not items:
        items = httpx.get(f"{service.base}/api/events?limit=5", headers=headers).json()["items"]
        time.sleep(0.5)
    assert items, "no demo event within 60 s of start"
    e = items[0]
    assert e["camera_id"] == "vtest" and e["type"] in ("line.cross", "zone.enter", "zone.loiter")
    img = httpx.get(f"{service.base}/api/events/{e['id']}/image/preview", headers=headers)
    assert img.status_code == 200 and img.content[:2] == b"\xff\xd8"
    cams = httpx.get(f"{service.base}/api/cameras", headers=headers).json()["items"]
    assert [c["id"] for c in cams] == ["vtest"] and cams[0]["status"] == "online"


def test_wrong_password_is_refused(service: Service) -> None:
    bad = httpx.post(f"{service.base}/api/auth/login", json={"username": "admin", "password": "nope-nope-1"})
    assert bad.status_code == 401


def test_refuses_non_loopback_host_without_opt_in(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "sightline.cli", "serve", "--host", "0.0.0.0", "--data", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and "--allow-remote" in proc.stderr
