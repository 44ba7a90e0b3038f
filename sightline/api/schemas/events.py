"""Event, review and export models (E1–E3).

Why a separate ``EventOut`` rather than returning the core ``Event``: the
core model refuses unknown type codes, and stored evidence must stay readable
after a type is retired; the API also adds what a client should not have to
look up itself — the type's names in English and Chinese, the event time as
ISO 8601, and the URLs of its images.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from sightline.api.schemas.common import Note, RequestModel
from sightline.core.event_types import EVENT_TYPES
from sightline.storage.events import EventRecord, ReviewRecord

ImageKind = Literal["frame", "crop", "preview"]
ReviewStatus = Literal["pending", "true", "false", "ignored"]
Outcome = Literal["passed", "blocked"]
OutcomeQuery = Literal["passed", "blocked", "all"]

#: Columns of the CSV export, in order.
CSV_COLUMNS = (
    "id",
    "time",
    "type",
    "type_name_en",
    "type_name_zh",
    "camera_id",
    "zone_id",
    "line_id",
    "direction",
    "track_id",
    "class_name",
    "confidence",
    "status",
)


class EventOut(BaseModel):
    id: str
    type: str
    type_number: int | None
    type_name_en: str
    type_name_zh: str
    rule_id: str
    camera_id: str
    task_id: str | None
    time: datetime = Field(description="when the frame was received, UTC")
    wall_time: float = Field(description="the same instant in UNIX seconds")
    pts: float
    frame_seq: int
    track_id: int | None
    class_name: str | None
    confidence: float
    boxes: list[dict[str, Any]]
    zone_id: str | None
    line_id: str | None
    direction: str | None
    attributes: dict[str, Any]
    frame_size: tuple[int, int] | None
    status: ReviewStatus
    reviewed_at: datetime | None
    outcome: Outcome = Field(description="what the strategy chain decided (P2)")
    blocked_by: str | None = Field(description="id of the element that blocked it; null when passed")
    strategy_id: str | None = Field(description="the strategy that judged it; null when none applied")
    strategy_version: int | None
    images: dict[str, str] = Field(description="kind -> URL of the image, only kinds the event has")

    @classmethod
    def from_record(cls, r: EventRecord) -> EventOut:
        et = EVENT_TYPES.get(r.type)
        images = {
            kind: f"/api/events/{r.id}/image/{kind}"
            for kind in ("frame", "crop", "preview")
            if getattr(r.snapshot, kind)
        }
        return cls(
            id=r.id,
            type=r.type,
            type_number=et.number if et else None,
            type_name_en=et.name_en if et else r.type,
            type_name_zh=et.name_zh if et else r.type,
            rule_id=r.rule_id,
            camera_id=r.camera_id,
            task_id=r.task_id,
            time=datetime.fromtimestamp(r.wall_time, UTC),
            wall_time=r.wall_time,
            pts=r.pts,
            frame_seq=r.frame_seq,
            track_id=r.track_id,
            class_name=r.class_name,
            confidence=r.confidence,
            boxes=[b.model_dump(mode="json") for b in r.boxes],
            zone_id=r.zone_id,
            line_id=r.line_id,
            direction=r.direction,
            attributes=r.attributes,
            frame_size=r.frame_size,
            status=r.status,
            reviewed_at=r.reviewed_at,
            outcome=r.outcome,
            blocked_by=r.blocked_by,
            strategy_id=r.strategy_id,
            strategy_version=r.strategy_version,
            images=images,
        )

    def csv_row(self) -> list[str]:
        values: dict[str, Any] = self.model_dump(include=set(CSV_COLUMNS))
        values["time"] = self.time.isoformat().replace("+00:00", "Z")
        return ["" if values[c] is None else str(values[c]) for c in CSV_COLUMNS]


class EventPage(BaseModel):
    items: list[EventOut]
    total: int | None
    next_cursor: str | None = Field(description="pass as cursor= for the next page; null on the last page")


class ReviewIn(RequestModel):
    status: ReviewStatus = Field(description="true = real event, false = false alarm, pending = reopen")
    note: Note = ""
    add_to_error_library: bool = Field(
        default=False,
        description="with status 'false': also put the event's crop into its camera's error library, "
        "so similar events are blocked from now on",
    )


class ReviewOut(BaseModel):
    id: int
    event_id: str
    status: ReviewStatus
    reviewer_id: str | None
    reviewer_name: str | None
    note: str
    created_at: datetime
    error_library_entry_id: str | None = Field(
        default=None, description="the error-library entry made by add_to_error_library"
    )

    @classmethod
    def from_record(cls, r: ReviewRecord, names: dict[str, str]) -> ReviewOut:
        return cls(
            **r.model_dump(),
            reviewer_name=names.get(r.reviewer_id) if r.reviewer_id else None,
        )


class HazardRef(BaseModel):
    id: str
    state: str


class EventDetail(EventOut):
    trace: list[dict[str, Any]] = Field(description="strategy steps that passed or blocked the event (P2)")
    reviews: list[ReviewOut] = Field(description="review history, oldest first")
    hazard: HazardRef | None = Field(description="the hazard ticket raised from this event, if any")


class EventTypeOut(BaseModel):
    code: str
    number: int
    name_en: str
    name_zh: str
