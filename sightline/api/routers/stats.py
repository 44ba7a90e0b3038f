"""Statistics routes (E3, C3): events by type, by type × day and by camera;
cameras by live status.

Why days take ``tz_offset_minutes``: operators count days in local time (a
park in China means 00:00–24:00 at UTC+8, i.e. 480), and the event store
groups by ``floor((wall_time + offset) / 86400)`` on every backend. The
filters are the events search's own (``from``, ``to``, ``camera_id``,
``type``, ``status``, ``zone_id``, ``region``), so a chart and the list
behind it always agree. Department scoping applies as everywhere.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select

from sightline.api.routers.cameras import camera_statuses, visible
from sightline.api.routers.events import event_filter, scoped
from sightline.api.routers.system import CAMERA_STATUSES
from sightline.api.schemas.common import Ctx, Viewer
from sightline.api.schemas.stats import CameraCount, CameraStatsOut, EventStatsOut, TypeCount, TypeDay
from sightline.core.event_types import EVENT_TYPES
from sightline.storage import EventFilter
from sightline.storage.models import Camera

router = APIRouter(tags=["statistics"])


@router.get("/api/stats/events", response_model=EventStatsOut, summary="Event counts (viewer)")
def event_stats(
    *,
    f: Annotated[EventFilter, Depends(event_filter)],
    tz_offset_minutes: Annotated[int, Query(ge=-720, le=840, description="local days: 480 for UTC+8")] = 0,
    ctx: Ctx,
    principal: Viewer,
) -> EventStatsOut:
    f = scoped(f, principal)
    by_day = ctx.events.stats_by_type_day(f, tz_offset_minutes=tz_offset_minutes)
    by_camera = ctx.events.stats_by_camera(f)
    totals: dict[str, int] = {}
    for row in by_day:
        totals[row.type] = totals.get(row.type, 0) + row.count
    by_type = []
    for code, count in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0])):
        et = EVENT_TYPES.get(code)
        by_type.append(
            TypeCount(
                type=code, name_en=et.name_en if et else code, name_zh=et.name_zh if et else code, count=count
            )
        )
    with ctx.db.session() as session:
        ids = [c.camera_id for c in by_camera]
        rows = session.execute(select(Camera.id, Camera.name).where(Camera.id.in_(ids)))
        names = {camera_id: name for camera_id, name in rows}
    return EventStatsOut(
        time_from=None if f.time_from is None else datetime.fromtimestamp(f.time_from, UTC),
        time_to=None if f.time_to is None else datetime.fromtimestamp(f.time_to, UTC),
        tz_offset_minutes=tz_offset_minutes,
        total=sum(totals.values()),
        by_type=by_type,
        by_type_day=[TypeDay(day=r.day, type=r.type, count=r.count) for r in by_day],
        by_camera=[CameraCount(**c.model_dump(), camera_name=names.get(c.camera_id)) for c in by_camera],
    )


@router.get("/api/stats/cameras", response_model=CameraStatsOut, summary="Cameras by live status (viewer)")
def camera_stats(
    *,
    ctx: Ctx,
    principal: Viewer,
) -> CameraStatsOut:
    stmt = select(Camera)
    scope = visible(principal)
    if scope is not None:
        stmt = stmt.where(scope)
    with ctx.db.session() as session:
        cameras = list(session.scalars(stmt))
    counts = dict.fromkeys(CAMERA_STATUSES, 0)
    for status, _health in camera_statuses(ctx, cameras).values():
        counts[status] += 1
    return CameraStatsOut(total=len(cameras), enabled=sum(1 for c in cameras if c.enabled), by_status=counts)
