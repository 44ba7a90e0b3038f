"""Task request and response models (T1): camera × algorithm × config × schedule.

Why ``config`` is the real :class:`~sightline.config.analysis.AnalysisConfig`
and not a free dict: the runner validates it again when it starts the task,
and a config that fails there fails silently on a server nobody watches. By
validating with the same model at the door, a bad zone polygon or a rule that
names a missing line is a 422 whose ``loc`` points into the body
(``["body", "config", "zones", 0]``), with the geometry module's message.

The schedule is data the runner interprets; :meth:`Schedule.is_active` is the
one definition of "inside the schedule" so the runner and the UI agree.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, field_validator, model_validator

from sightline.api.schemas.common import IdRef, Label, RequestModel, Slug, check_storable
from sightline.config.analysis import AnalysisConfig

DEFAULT_ALGORITHM = "sightline/people@v1"
#: Built-in algorithms a task may run, with what they do (the warehouse, W1, extends this).
ALGORITHMS: dict[str, str] = {
    DEFAULT_ALGORITHM: (
        "COCO object detector + ByteTrack tracker + zone/line/dwell/crowd rules from the config"
    ),
}
_HHMM = r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$"


def check_algorithm(value: str) -> str:
    if value not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {value!r}; available: {', '.join(sorted(ALGORITHMS))}")
    return value


def _parse_hhmm(value: str) -> int:
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


class TimeWindow(RequestModel):
    """``start`` to ``end`` local time, ``HH:MM``; an end before the start runs past midnight."""

    start: str = Field(pattern=_HHMM, examples=["08:00"])
    end: str = Field(pattern=_HHMM, examples=["18:30"])

    @model_validator(mode="after")
    def _not_empty(self) -> TimeWindow:
        if self.start == "24:00":
            raise ValueError("a window starts at 00:00 at the latest; 24:00 is only an end")
        if _parse_hhmm(self.start) % 1440 == _parse_hhmm(self.end) % 1440:
            raise ValueError(f"window {self.start}-{self.end} is empty; for all day leave 'windows' empty")
        return self

    def contains(self, minute_of_day: int) -> tuple[bool, bool]:
        """(inside today's part, inside the part carried over from yesterday)."""
        start, end = _parse_hhmm(self.start), _parse_hhmm(self.end)
        if start < end:
            return start <= minute_of_day < end, False
        return minute_of_day >= start, minute_of_day < end


class Schedule(RequestModel):
    """When a running task analyses: on ``weekdays`` (ISO, 1 = Monday ... 7 =
    Sunday), inside any of ``windows`` (all day when empty), in ``timezone``."""

    timezone: str = Field(default="UTC", max_length=64, examples=["Asia/Shanghai"])
    weekdays: list[int] = Field(default_factory=lambda: [1, 2, 3, 4, 5, 6, 7], min_length=1, max_length=7)
    windows: list[TimeWindow] = Field(default_factory=list, max_length=24)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {v!r}; use an IANA name such as 'Asia/Shanghai' or 'UTC'"
            ) from None
        return v

    @field_validator("weekdays")
    @classmethod
    def _days(cls, v: list[int]) -> list[int]:
        bad = [d for d in v if not 1 <= d <= 7]
        if bad:
            raise ValueError(f"weekdays {bad} out of range: use 1 (Monday) to 7 (Sunday)")
        return sorted(set(v))

    def is_active(self, at: datetime) -> bool:
        """True when ``at`` (an aware datetime) falls inside the schedule."""
        local = at.astimezone(ZoneInfo(self.timezone))
        weekday = local.isoweekday()
        if not self.windows:
            return weekday in self.weekdays
        minute = local.hour * 60 + local.minute
        yesterday = 7 if weekday == 1 else weekday - 1
        for window in self.windows:
            today_part, carried = window.contains(minute)
            if (today_part and weekday in self.weekdays) or (carried and yesterday in self.weekdays):
                return True
        return False


class TaskCreate(RequestModel):
    id: Slug | None = None
    camera_id: IdRef
    name: Label
    algorithm: str = Field(default=DEFAULT_ALGORITHM, max_length=200, description="see GET /api/algorithms")
    config: AnalysisConfig = Field(default_factory=AnalysisConfig)
    schedule: Schedule | None = Field(default=None, description="null = always")
    start: bool = Field(default=False, description="start the task right away")

    @field_validator("algorithm")
    @classmethod
    def _algorithm(cls, v: str) -> str:
        return check_algorithm(v)

    @field_validator("config")
    @classmethod
    def _finite(cls, v: AnalysisConfig) -> AnalysisConfig:
        check_storable(v.model_dump())
        return v


class TaskUpdate(RequestModel):
    """A partial update; a running task is restarted with the new settings."""

    camera_id: IdRef | None = None
    name: Label | None = None
    algorithm: str | None = Field(default=None, max_length=200)
    config: AnalysisConfig | None = None
    schedule: Schedule | None = Field(default=None, description="null = always")

    @field_validator("algorithm")
    @classmethod
    def _algorithm(cls, v: str | None) -> str | None:
        return None if v is None else check_algorithm(v)

    @field_validator("config")
    @classmethod
    def _finite(cls, v: AnalysisConfig | None) -> AnalysisConfig | None:
        if v is not None:
            check_storable(v.model_dump())
        return v

    @model_validator(mode="after")
    def _not_null(self) -> TaskUpdate:
        for key in ("camera_id", "name", "algorithm", "config"):
            if key in self.model_fields_set and getattr(self, key) is None:
                raise ValueError(f"{key} cannot be null; leave it out to keep the current value")
        return self


class TaskOut(BaseModel):
    id: str
    camera_id: str
    name: str
    algorithm: str
    config: dict[str, Any]
    schedule: dict[str, Any] | None
    desired_state: Literal["running", "stopped"]
    status: str = Field(description="live state from the runner when it knows the task, else the stored one")
    error: str | None
    live: dict[str, Any] | None = Field(description="runner status: state, error, fps, frames, events")
    created_at: datetime
    updated_at: datetime


class TaskList(BaseModel):
    items: list[TaskOut]
    total: int


class AlgorithmOut(BaseModel):
    id: str
    description: str
