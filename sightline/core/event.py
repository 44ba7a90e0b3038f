"""The one Event model used on the bus, in storage and in webhook bodies."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sightline.core.event_types import EVENT_TYPES


class BoundingBox(BaseModel):
    """A box in pixels of the analysed frame, with what is in it."""

    model_config = ConfigDict(extra="forbid")

    x1: float
    y1: float
    x2: float
    y2: float
    class_name: str
    confidence: float = Field(ge=0.0, le=1.0)
    track_id: int | None = None


class EventSnapshot(BaseModel):
    """Where the evidence images of an event were written (relative paths)."""

    model_config = ConfigDict(extra="forbid")

    frame: str | None = None
    crop: str | None = None
    preview: str | None = None


class Event(BaseModel):
    """Something a rule saw happen, at a frame's time, on one camera."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    type: str  # code from sightline.core.event_types, e.g. "line.cross"
    rule_id: str
    camera_id: str
    pts: float  # source seconds of the frame that triggered it
    wall_time: float  # UNIX seconds the frame was received
    frame_seq: int = 0
    track_id: int | None = None
    class_name: str | None = None
    confidence: float = Field(default=0.0, ge=0.0, le=1.0)
    boxes: list[BoundingBox] = Field(default_factory=list)
    zone_id: str | None = None
    line_id: str | None = None
    direction: str | None = None  # "in" / "out" for lines, "enter"/"leave" for zones
    attributes: dict[str, Any] = Field(default_factory=dict)
    snapshot: EventSnapshot = Field(default_factory=EventSnapshot)
    frame_size: tuple[int, int] | None = None  # (width, height) of the analysed frame

    @field_validator("type")
    @classmethod
    def _known_type(cls, v: str) -> str:
        if v not in EVENT_TYPES:
            raise ValueError(f"unknown event type {v!r}; known: {sorted(EVENT_TYPES)}")
        return v

    @property
    def type_name_en(self) -> str:
        return EVENT_TYPES[self.type].name_en

    @property
    def type_name_zh(self) -> str:
        return EVENT_TYPES[self.type].name_zh
