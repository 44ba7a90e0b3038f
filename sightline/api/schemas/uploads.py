"""Request and response models of the upload routes: videos (recorded-file
analysis) and pictures (image analysis)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from sightline.api.schemas.common import Label, RequestModel
from sightline.config.analysis import AnalysisConfig


class VideoAnalysisOut(BaseModel):
    """One analysis run of a video: a task on the video's file camera."""

    task_id: str
    camera_id: str
    name: str
    status: str = Field(description="created, running, finished, stopped or error")
    error: str | None = None
    frames_done: int = Field(description="frames decoded so far")
    frames_total: int = Field(description="frames in the file")
    progress: float = Field(ge=0, le=1, description="frames_done / frames_total; 1 when finished")
    events: int = Field(description="events stored from this run")
    created_at: datetime


class VideoOut(BaseModel):
    id: str = Field(description="sha256 of the file, hex")
    filename: str
    content_type: str
    size_bytes: int
    container: str
    codec: str
    width: int
    height: int
    fps: float | None
    frames: int
    duration_s: float
    department: str | None
    uploaded_by: str | None
    created_at: datetime
    camera_id: str = Field(description="the file camera analyses of this video run on")
    analyses: list[VideoAnalysisOut]


class VideoList(BaseModel):
    items: list[VideoOut]
    total: int


class VideoAnalyzeIn(RequestModel):
    """What to run over the video; every field is optional."""

    name: Label | None = Field(default=None, description="task name; default 'Analysis of <file>'")
    config: AnalysisConfig | None = Field(
        default=None,
        description="zones, lines, rules, detector and sampling as for any task (coordinates "
        "normalised 0..1); default: the people demo config (examples/vtest.yaml)",
    )


class DetectionOut(BaseModel):
    class_name: str
    confidence: float
    box: tuple[float, float, float, float] = Field(description="x1, y1, x2, y2 in the picture's pixels")


class ImageAnalysisOut(BaseModel):
    width: int
    height: int
    format: str = Field(description="the content type the bytes really are")
    detections: list[DetectionOut]
