"""`sightline serve`: the real service process on the demo video."""

from __future__ import annotations

import socket
import subprocess
import sys
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


@pytest.fixture
def service(tmp_path: Path, model_path: Path, vtest_path: Path) -> Iterator[str]:
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
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        else:
            proc.kill()
            pytest.fail(f"service did not start: {proc.communicate()[0][-2000:]}")
        yield base
    finally:
        proc.terminate()
        proc.wait(10)


def test_demo_events_arrive_with_snapshots(service: str) -> None:
    deadline = time.monotonic() + 60
    events: list[dict] = []
    while time.monotonic() < deadline and not events:
        events = httpx.get(f"{service}/api/events?limit=5").json()
        time.sleep(0.5)
    assert events, "no event within 60 s of start"
    e = events[0]
    assert e["camera_id"] == "vtest" and e["type"] in ("line.cross", "zone.enter", "zone.loiter")
    img = httpx.get(f"{service}/media/{e['snapshot']['preview']}")
    assert img.status_code == 200 and img.content[:2] == b"\xff\xd8"  # a JPEG
    assert httpx.get(f"{service}/api/events/{e['id']}").json()["id"] == e["id"]
    cams = httpx.get(f"{service}/api/cameras").json()
    assert cams[0]["camera_id"] == "vtest" and cams[0]["state"] == "online"
    assert cams[0]["width"] == 768 and cams[0]["height"] == 576


def test_page_language_and_safety(service: str) -> None:
    zh = httpx.get(f"{service}/?lang=zh-CN").text
    assert '<html lang="zh-CN">' in zh and "摄像机" in zh and "越线" in zh
    en = httpx.get(f"{service}/", headers={"accept-language": "en-GB,en;q=0.9"}).text
    assert '<html lang="en">' in en and "Line crossing" in en
    assert httpx.get(f"{service}/media/../events.jsonl").status_code == 404
    assert httpx.get(f"{service}/media/snapshots/..%2F..%2Fetc%2Fpasswd").status_code == 404
    assert httpx.get(f"{service}/api/events?type=nope").status_code == 422
    assert httpx.get(f"{service}/api/events/unknown").status_code == 404


def test_refuses_non_loopback_host(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "sightline.cli", "serve", "--host", "0.0.0.0", "--data", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and "127.0.0.1 only" in proc.stderr
