"""Bad input: wrong content types, malformed and huge bodies on every route
that takes a body, broken media as camera sources, and config files with
every kind of error.

Broken media as camera sources are tested here; uploaded media (malformed
images, truncated videos, huge uploads to the upload routes) in
test_bad_uploads.py. The upload-style attacks (wrong content type, huge or
broken bodies) run on every route that accepts a request body, the upload
routes included. Each must answer a clear 4xx and store nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from sightline.api.context import AppContext
from sightline.api.deps import current_principal
from sightline.api.factory import build_app
from sightline.api.limits import DEFAULT_MAX_BODY_BYTES
from sightline.sources import AvSource, SourceConfig
from sightline.storage.models import Base
from tests.integration.api.api_helpers import PRINCIPALS, FakeTasks, add_users

# Tables a refused request may still write to: the audit trail of the attempt.
AUDIT_TABLES = {"audit_records", "audit_log", "login_attempts"}


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[AppContext]:
    context = AppContext.open(tmp_path / "data", f"sqlite:///{tmp_path / 'sightline.db'}")
    add_users(context)
    context.tasks = FakeTasks()
    yield context
    context.db.dispose()


@pytest.fixture
def client(ctx: AppContext) -> Iterator[TestClient]:
    app = build_app(ctx)
    app.dependency_overrides[current_principal] = lambda: PRINCIPALS["admin"]
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def body_routes(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path) of every operation that takes a JSON request body."""
    routes = []
    for path, item in app.openapi()["paths"].items():
        for method, op in item.items():
            if "requestBody" in op:
                concrete = path.replace("{", "x").replace("}", "")  # any id: the body is checked first
                routes.append((method.upper(), concrete))
    return routes


def row_counts(ctx: AppContext) -> dict[str, int]:
    with ctx.db.session() as s:
        return {
            t.name: int(s.scalar(select(func.count()).select_from(t)) or 0)
            for t in Base.metadata.sorted_tables
            if t.name not in AUDIT_TABLES
        }


BAD_BODIES = {
    "text/plain": (b"camera_id=1&url=rtsp://x", "text/plain"),
    "multipart": (
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="x.jpg"\r\n\r\n'
        b"\xff\xd8junk\r\n--b--\r\n",
        "multipart/form-data; boundary=b",
    ),
    "xml": (b"<camera><id>1</id></camera>", "application/xml"),
    "malformed json": (b'{"name": "cam", "url": ', "application/json"),
    "invalid utf-8": (b'{"name": "\xff\xfe"}', "application/json"),
    "json array": (b"[1, 2, 3]", "application/json"),
    "deep nesting": (b"[" * 5000 + b"]" * 5000, "application/json"),
    "nan": (b'{"name": NaN, "fps": Infinity}', "application/json"),
}


def test_every_body_route_refuses_bad_bodies_with_4xx_and_stores_nothing(
    ctx: AppContext, client: TestClient
) -> None:
    routes = body_routes(client.app)  # type: ignore[arg-type]
    assert len(routes) >= 15, routes
    before = row_counts(ctx)
    bad: list[str] = []
    for method, path in routes:
        for name, (body, content_type) in BAD_BODIES.items():
            r = client.request(method, path, content=body, headers={"Content-Type": content_type})
            detail = (
                r.json().get("detail")
                if r.headers.get("content-type", "").startswith("application/json")
                else None
            )
            if not (400 <= r.status_code < 500) or not detail:
                bad.append(f"{method} {path} [{name}] -> {r.status_code} {r.text[:120]}")
    assert not bad, "\n".join(bad)
    assert row_counts(ctx) == before, "a refused request stored something"


def test_huge_bodies_are_refused_before_they_are_read(ctx: AppContext, client: TestClient) -> None:
    routes = body_routes(client.app)  # type: ignore[arg-type]
    before = row_counts(ctx)
    huge = json.dumps({"name": "x" * (DEFAULT_MAX_BODY_BYTES + 10)}).encode()
    for method, path in routes:
        r = client.request(method, path, content=huge, headers={"Content-Type": "application/json"})
        assert r.status_code == 413, (method, path, r.status_code)
        assert (
            "request body too large" in r.json()["detail"]
            and str(DEFAULT_MAX_BODY_BYTES) in r.json()["detail"]
        )

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
        yield b'{"name": "'
        for _ in range(40):
            yield b"x" * 65536
        yield b'"}'

    r = client.post("/api/cameras", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and "more than" in r.json()["detail"]
    assert row_counts(ctx) == before, "a refused request stored something"
    assert client.post("/api/cameras", json={"name": "ok"}).status_code != 413  # small bodies pass


# -- broken media as sources ---------------------------------------------------------------


def test_truncated_video_plays_what_is_there_then_reports_clearly(vtest_path: Path, tmp_path: Path) -> None:
    truncated = tmp_path / "truncated.avi"
    data = vtest_path.read_bytes()
    truncated.write_bytes(data[: len(data) // 3])
    source = AvSource(SourceConfig(camera_id="cut", url=str(truncated)))
    frames = sum(1 for _ in source.frames())
    health = source.health
    assert 100 < frames < 795  # the part that is there, not the whole clip
    assert health.state in ("ended", "offline")
    if health.state == "offline":
        assert health.error is not None and "'cut'" in health.error


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("random.jpg", bytes(range(256)) * 64),
        ("empty.mp4", b""),
        ("header-only.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"),
        ("text.avi", b"this is not a video\n" * 100),
    ],
)
def test_malformed_media_stops_with_one_clear_error(tmp_path: Path, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    source = AvSource(SourceConfig(camera_id="bad", url=str(path), loop=True))
    assert list(source.frames()) == []
    health = source.health
    assert health.state == "offline", health
    error = health.error or ""
    assert "camera 'bad'" in error and str(path) in error
    assert any(
        hint in error for hint in ("not a video FFmpeg can read", "no video stream", "produced no frame")
    ), error
