"""Strategy center models (P1–P4): strategies and versions, validation,
back-test requests, effectiveness statistics and the error library.

Why a strategy body accepts ``spec`` *or* ``text``: the UI editor sends what
the operator typed (YAML or JSON, comments and all), scripts send a JSON
object; both go through the same ``parse_spec`` so an error reads the same.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field, model_validator

from sightline.api.schemas.common import IdRef, Note, RequestModel
from sightline.storage.strategies import ErrorLibraryRecord, StrategyRecord, StrategyVersionRecord

MAX_SPEC_TEXT = 200_000


class StrategyIn(RequestModel):
    """A strategy as data: a JSON object in ``spec``, or YAML / JSON text in ``text``."""

    spec: dict[str, Any] | None = Field(default=None, description="the strategy as a JSON object")
    text: str | None = Field(
        default=None, max_length=MAX_SPEC_TEXT, description="the strategy as YAML or JSON text"
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> StrategyIn:
        if (self.spec is None) == (self.text is None):
            raise ValueError("give the strategy either as 'spec' (a JSON object) or as 'text' (YAML/JSON)")
        return self

    def source(self) -> dict[str, Any] | str:
        return self.spec if self.spec is not None else str(self.text)


class ValidationOut(BaseModel):
    valid: bool
    error: str | None = Field(description="why the strategy is invalid, naming the element and the fix")
    spec: dict[str, Any] | None = Field(description="the validated strategy with defaults filled in")


class StrategyVersionOut(BaseModel):
    version: int
    spec: dict[str, Any]
    author: str | None
    created_at: datetime

    @classmethod
    def from_record(cls, r: StrategyVersionRecord) -> StrategyVersionOut:
        return cls(**r.model_dump())


class StrategyOut(BaseModel):
    id: str
    name: str
    cameras: list[str] = Field(description="bound cameras; empty = every camera")
    event_types: list[str] = Field(description="bound event types; empty = every type")
    enabled: bool
    priority: int
    current_version: int
    created_at: datetime
    updated_at: datetime
    spec: dict[str, Any] = Field(description="the running version")
    yaml: str = Field(description="the running version as editable YAML")
    load_error: str | None = Field(
        default=None, description="why the stored spec does not load any more (it is not running then)"
    )

    @classmethod
    def from_record(cls, r: StrategyRecord, yaml_text: str, load_error: str | None = None) -> StrategyOut:
        return cls(**r.model_dump(), yaml=yaml_text, load_error=load_error)


class StrategyDetail(StrategyOut):
    versions: list[StrategyVersionOut] = Field(description="every saved version, newest first")


class BacktestIn(RequestModel):
    """Which stored events to replay: a time range (ISO 8601 or UNIX seconds) and optionally one camera."""

    time_from: str | float | None = Field(default=None, alias="from")
    time_to: str | float | None = Field(default=None, alias="to")
    camera_id: IdRef | None = None


class DraftBacktestIn(BacktestIn):
    """A draft strategy (not saved) and the range to replay it on. When a stored
    strategy has the draft's id, it is the live side of the comparison."""

    spec: dict[str, Any] | None = None
    text: str | None = Field(default=None, max_length=MAX_SPEC_TEXT)

    @model_validator(mode="after")
    def _exactly_one(self) -> DraftBacktestIn:
        if (self.spec is None) == (self.text is None):
            raise ValueError("give the draft either as 'spec' (a JSON object) or as 'text' (YAML/JSON)")
        return self

    def source(self) -> dict[str, Any] | str:
        return self.spec if self.spec is not None else str(self.text)


class EffectivenessCounts(BaseModel):
    raw: int = Field(description="raw events from the rules")
    passed: int = Field(description="events the strategies let out (the output)")
    blocked: int
    pass_ratio: float | None = Field(description="passed / raw; null when raw is 0")
    block_ratio: float | None = Field(description="blocked / raw; null when raw is 0")

    @classmethod
    def of(cls, raw: int, passed: int, blocked: int) -> EffectivenessCounts:
        return cls(
            raw=raw,
            passed=passed,
            blocked=blocked,
            pass_ratio=round(passed / raw, 4) if raw else None,
            block_ratio=round(blocked / raw, 4) if raw else None,
        )


class TypeEffectiveness(EffectivenessCounts):
    type: str
    name_en: str
    name_zh: str


class CameraEffectiveness(EffectivenessCounts):
    camera_id: str
    camera_name: str | None


class DayEffectiveness(EffectivenessCounts):
    day: date = Field(description="local day at tz_offset_minutes")


class EffectivenessCell(EffectivenessCounts):
    day: date
    type: str
    camera_id: str


class EffectivenessOut(BaseModel):
    time_from: datetime | None
    time_to: datetime | None
    tz_offset_minutes: int
    total: EffectivenessCounts
    by_type: list[TypeEffectiveness] = Field(description="most raw events first")
    by_camera: list[CameraEffectiveness] = Field(description="most raw events first")
    by_day: list[DayEffectiveness] = Field(description="oldest day first")
    cells: list[EffectivenessCell] = Field(description="every (day, type, camera) with events")


class ErrorLibraryIn(RequestModel):
    event_id: IdRef = Field(description="the false-positive event whose crop goes into its camera's library")
    note: Note = ""


class ErrorLibraryOut(BaseModel):
    id: str
    camera_id: str
    event_type: str
    event_id: str | None
    fingerprint: str = Field(description="64-bit perceptual hash (pHash) of the crop, hex")
    note: str
    created_by: str | None
    created_at: datetime
    image: str | None = Field(description="URL of the crop image")

    @classmethod
    def from_record(cls, r: ErrorLibraryRecord) -> ErrorLibraryOut:
        data = r.model_dump(exclude={"crop_blob"})
        return cls(**data, image=f"/api/error-library/{r.id}/image" if r.crop_blob else None)
