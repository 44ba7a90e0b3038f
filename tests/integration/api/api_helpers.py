"""Helpers for the REST API tests (imported, not collected).

Callers are :class:`Principal` objects put in place of the real
authentication (``app.dependency_overrides[current_principal]``): sign-in is
tested with the auth package; here each test acts as a role. Every principal
is also a row in ``users`` so reviews and comments can name their author.

``FakeTasks`` stands in for the task runner behind our own ``TaskControl``
protocol: it records the calls and answers what the test configured.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
from sqlalchemy import select

from sightline.api.context import AppContext
from sightline.api.deps import Principal
from sightline.core.event import BoundingBox, Event
from sightline.storage.models import AuditRecord, User

PRINCIPALS: dict[str, Principal] = {
    "admin": Principal("u-admin", "Ada Admin", "admin"),
    "operator": Principal("u-operator", "Otto Operator", "operator"),
    "reviewer": Principal("u-reviewer", "Rita Reviewer", "reviewer"),
    "viewer": Principal("u-viewer", "Vic Viewer", "viewer"),
    "east_viewer": Principal("u-east-viewer", "Eve East", "viewer", departments=("east",)),
    "east_operator": Principal("u-east-operator", "Oscar East", "operator", departments=("east",)),
}
ROLES = ("admin", "operator", "reviewer", "viewer")
BASE_TIME = 1_714_521_600.0  # 2024-05-01T00:00:00Z


def add_users(ctx: AppContext) -> None:
    with ctx.db.session() as session:
        for key, p in PRINCIPALS.items():
            session.add(
                User(
                    id=p.subject,
                    username=key,
                    display_name=p.name,
                    password_hash="not-used",
                    role=p.role,
                    departments=list(p.departments),
                )
            )


@dataclass
class FakeTasks:
    """A TaskControl that records calls and answers configured values."""

    calls: list[tuple[str, str]] = field(default_factory=list)
    statuses: dict[str, dict[str, Any]] = field(default_factory=dict)
    health: dict[str, dict[str, Any]] = field(default_factory=dict)
    frames: dict[str, bytes] = field(default_factory=dict)

    def apply(self, task_id: str) -> None:
        self.calls.append(("apply", task_id))

    def remove(self, task_id: str) -> None:
        self.calls.append(("remove", task_id))

    def status(self, task_id: str) -> dict[str, Any]:
        return self.statuses.get(task_id, {"state": "unknown"})

    def camera_health(self, camera_id: str) -> dict[str, Any] | None:
        return self.health.get(camera_id)

    def latest_frame_jpeg(self, camera_id: str) -> bytes | None:
        return self.frames.get(camera_id)


def jpeg(seed: int = 0, width: int = 64, height: int = 48) -> bytes:
    """A real JPEG: a gradient that differs per seed (so blobs differ)."""
    img = np.zeros((height, width, 3), dtype=np.uint8)
    img[:, :, 0] = (np.arange(width) * 4 + seed) % 256
    img[:, :, 1] = seed % 256
    ok, buf = cv2.imencode(".jpg", img)
    assert ok
    return bytes(buf.tobytes())


def png(seed: int = 0) -> bytes:
    img = np.full((16, 16, 3), seed % 256, dtype=np.uint8)
    ok, buf = cv2.imencode(".png", img)
    assert ok
    return bytes(buf.tobytes())


def make_event(
    i: int,
    *,
    camera_id: str = "gate-1",
    type: str = "line.cross",
    wall_time: float | None = None,
    zone_id: str | None = None,
    line_id: str | None = "door",
    direction: str | None = "in",
) -> Event:
    return Event(
        id=f"ev-{i:04d}",
        type=type,
        rule_id="r1",
        camera_id=camera_id,
        pts=float(i),
        wall_time=BASE_TIME + 60.0 * i if wall_time is None else wall_time,
        frame_seq=i,
        track_id=i % 7 + 1,
        class_name="person",
        confidence=round(0.5 + (i % 5) / 10, 2),
        boxes=[
            BoundingBox(x1=1, y1=2, x2=30, y2=40, class_name="person", confidence=0.9, track_id=i % 7 + 1)
        ],
        zone_id=zone_id,
        line_id=line_id if type == "line.cross" else None,
        direction=direction if type == "line.cross" else None,
        frame_size=(64, 48),
    )


def store_event(ctx: AppContext, event: Event, *, crop: bool = True, trace: bool = True) -> None:
    seed = zlib.crc32(event.id.encode()) % 251
    images = {"frame": jpeg(seed)}
    if crop:
        images["crop"] = png(seed)
    steps = [{"element": "dedupe", "passed": True, "reason": "first in 10 s"}] if trace else []
    assert ctx.events.add(event, images, task_id="t-1", trace=steps)


def audit_actions(ctx: AppContext) -> list[tuple[str, str | None]]:
    with ctx.db.session() as session:
        rows = session.execute(select(AuditRecord.action, AuditRecord.target).order_by(AuditRecord.id))
        return [(a, t) for a, t in rows]


def audit_text(ctx: AppContext) -> str:
    with ctx.db.session() as session:
        return repr([(r.actor, r.action, r.target, r.details) for r in session.scalars(select(AuditRecord))])


def close(a: float, b: float, tol: float = 1e-6) -> bool:
    return math.isclose(a, b, abs_tol=tol)
