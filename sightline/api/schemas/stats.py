"""Statistics models (E3, C3): what a dashboard draws without post-processing.

Counts by type carry both type names so a chart legend needs no second call;
camera counts always list every status (zeros included) so a dashboard tile
never has to guess whether a missing key means zero.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from sightline.storage.events import CameraStats


class TypeCount(BaseModel):
    type: str
    name_en: str
    name_zh: str
    count: int


class TypeDay(BaseModel):
    day: date = Field(description="local day at tz_offset_minutes")
    type: str
    count: int


class CameraCount(CameraStats):
    camera_name: str | None


class EventStatsOut(BaseModel):
    time_from: datetime | None
    time_to: datetime | None
    tz_offset_minutes: int
    total: int
    by_type: list[TypeCount]
    by_type_day: list[TypeDay]
    by_camera: list[CameraCount]


class CameraStatsOut(BaseModel):
    total: int
    enabled: int
    by_status: dict[str, int] = Field(
        description="online, degraded, connecting, offline, error, idle (no running task)"
    )
