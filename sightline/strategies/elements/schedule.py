"""Time schedule: pass events inside (or outside) weekly time ranges."""

from __future__ import annotations

import re
from datetime import datetime
from functools import cached_property
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from sightline.strategies.base import RawEvent, Step
from sightline.strategies.elements.base import Element, ElementConfigBase

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]|24):([0-5]\d)$")
MINUTES_PER_DAY = 24 * 60


def parse_range(text: str) -> tuple[int, int]:
    """``"HH:MM-HH:MM"`` as (start, end) minutes of the day; end may be 24:00."""
    m = _RANGE.match(text.strip())
    if m is None:
        raise ValueError(f"time range {text!r} must look like 08:30-17:45 (24-hour HH:MM-HH:MM)")
    start = int(m[1]) * 60 + int(m[2])
    end = int(m[3]) * 60 + int(m[4])
    if end > MINUTES_PER_DAY:
        raise ValueError(f"time range {text!r} ends after 24:00")
    if start == end:
        raise ValueError(f"time range {text!r} is empty; use 00:00-24:00 for the whole day")
    return start, end


class ScheduleConfig(ElementConfigBase):
    type: Literal["sightline/schedule@v1"] = "sightline/schedule@v1"
    weekdays: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS), min_length=1)
    ranges: list[str] = Field(
        default_factory=lambda: ["00:00-24:00"],
        min_length=1,
        description=(
            "HH:MM-HH:MM ranges, start included, end excluded. A range over midnight (22:00-06:00) "
            "belongs to the weekday it starts on."
        ),
    )
    timezone: str = Field(default="Asia/Shanghai", description="IANA time zone the ranges are in.")
    mode: Literal["active", "quiet"] = Field(
        default="active",
        description="active: pass events inside the schedule; quiet: block events inside it.",
    )

    @field_validator("ranges")
    @classmethod
    def _ranges(cls, ranges: list[str]) -> list[str]:
        for text in ranges:
            parse_range(text)
        return ranges

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {name!r}; use an IANA name such as Asia/Shanghai") from None
        return name


class Schedule(Element[ScheduleConfig]):
    @cached_property
    def _zone(self) -> ZoneInfo:
        return ZoneInfo(self.config.timezone)

    @cached_property
    def _ranges(self) -> list[tuple[int, int]]:
        return [parse_range(text) for text in self.config.ranges]

    @cached_property
    def _days(self) -> frozenset[int]:
        return frozenset(WEEKDAYS.index(day) for day in self.config.weekdays)

    def in_schedule(self, weekday: int, minute: int) -> str | None:
        """The range containing local (weekday, minute of day), or None."""
        yesterday = (weekday - 1) % 7
        for (start, end), text in zip(self._ranges, self.config.ranges, strict=True):
            if start < end:
                if weekday in self._days and start <= minute < end:
                    return text
            elif (weekday in self._days and minute >= start) or (yesterday in self._days and minute < end):
                return text
        return None

    def check(self, candidate: RawEvent) -> Step:
        local = datetime.fromtimestamp(candidate.event.wall_time, self._zone)
        weekday, minute = local.weekday(), local.hour * 60 + local.minute
        hit = self.in_schedule(weekday, minute)
        when = f"{WEEKDAYS[weekday]} {local:%H:%M} {self.config.timezone}"
        values = {"local_time": local.isoformat(timespec="seconds"), "range": hit, "mode": self.config.mode}
        if self.config.mode == "active":
            if hit is not None:
                return self.passed(f"{when} is within {hit}", **values)
            return self.blocked(f"{when} is outside the schedule", **values)
        if hit is not None:
            return self.blocked(f"{when} is within quiet range {hit}", **values)
        return self.passed(f"{when} is outside the quiet ranges", **values)
