"""Camera request and response models (C1).

Why the checks live here: a camera row is read by the task runner long after
the request that wrote it, so a URL it cannot open or a zone it cannot use
must be refused at the door, with the field and the fix named.

- **URL**: ``rtsp://``/``rtsps://`` streams, ``http(s)://`` JPEG snapshot or
  MJPEG URLs, or a local file (an absolute path or ``file://``). Anything else
  is refused with the list of accepted forms.
- **Credentials** in the URL are never returned: responses carry
  :func:`~sightline.sources.config.redact_url` of it. A client that edits a
  camera sends back what it got (``rtsp://***@host/...``); the router then
  keeps the stored user and password (see ``merge_redacted_url``).
- **Tags** are paths of up to four levels, ``"site/building/floor/room"``.
- **source_options** are the per-camera :class:`SourceConfig` knobs (RTSP
  transport, timeouts, back-off, FFmpeg options, ``loop`` for files); the
  sampling knobs belong to tasks and are refused here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_core import to_jsonable_python

from sightline.api.schemas.common import Label, OptionalLabel, RequestModel, Slug, check_storable
from sightline.core.geometry import Line, Zone
from sightline.sources.config import SourceConfig, url_scheme

NETWORK_SCHEMES = ("rtsp", "rtsps", "http", "https")
MAX_TAG_DEPTH = 4
CameraStatus = Literal["online", "degraded", "connecting", "offline", "error", "idle"]
#: SourceConfig fields a camera may set; sampling (fps, keyframes, resize) is per task.
SOURCE_OPTION_KEYS = frozenset(SourceConfig.model_fields) - {
    "camera_id",
    "url",
    "target_fps",
    "keyframes_only",
    "resize_width",
}
URL_HELP = (
    "use rtsp://[user:password@]host[:port]/path, rtsps://..., http(s)://host/snapshot.jpg or an MJPEG URL, "
    "or a local file as an absolute path (/data/video.mp4) or file:///data/video.mp4"
)


def check_camera_url(url: str) -> str:
    """The URL stripped, or ``ValueError`` saying what is wrong and what is accepted."""
    url = url.strip()
    if not url:
        raise ValueError(f"url must not be blank; {URL_HELP}")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise ValueError(
            "url must not contain spaces or control characters (percent-encode them: ' ' as %20)"
        )
    scheme = url_scheme(url)
    if scheme == "":
        if ":" in url.split("/", 1)[0] and not url.startswith("/"):
            prefix = url.split(":", 1)[0]
            raise ValueError(
                f"malformed or unsupported URL (scheme {prefix!r} followed by '://'?); {URL_HELP}"
            )
        if not url.startswith("/"):
            raise ValueError(f"a local file must be an absolute path (starting with /); {URL_HELP}")
        return url
    if scheme == "file":
        if not urlsplit(url).path.startswith("/"):
            raise ValueError(f"file URL without an absolute path; {URL_HELP}")
        return url
    if scheme not in NETWORK_SCHEMES:
        raise ValueError(f"unsupported URL scheme {scheme!r}; {URL_HELP}")
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError on a bad port
    except ValueError as err:
        raise ValueError(f"cannot parse the URL ({err}); {URL_HELP}") from None
    if not parts.hostname:
        raise ValueError(f"{scheme} URL without a host; {URL_HELP}")
    if port == 0:
        raise ValueError("port 0 is not a valid port; RTSP cameras usually listen on 554")
    return url


def check_tags(tags: list[str]) -> list[str]:
    """Tags stripped and de-duplicated, each a path of 1 to 4 non-empty levels."""
    out: list[str] = []
    for tag in tags:
        levels = [level.strip() for level in tag.strip().strip("/").split("/")]
        if not tag.strip() or any(not level for level in levels):
            raise ValueError(
                f"tag {tag!r} has an empty level; write levels separated by '/', e.g. 'site/gate'"
            )
        if len(levels) > MAX_TAG_DEPTH:
            raise ValueError(f"tag {tag!r} has {len(levels)} levels; tag trees have at most {MAX_TAG_DEPTH}")
        if any(len(level) > 50 for level in levels):
            raise ValueError(f"tag {tag!r}: each level is at most 50 characters")
        if any(ord(ch) < 32 for ch in tag):
            raise ValueError(f"tag {tag!r} contains control characters")
        norm = "/".join(levels)
        if norm not in out:
            out.append(norm)
    return out


def check_source_options(options: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(options) - SOURCE_OPTION_KEYS)
    if unknown:
        raise ValueError(
            f"unknown source option(s) {unknown}; allowed: {sorted(SOURCE_OPTION_KEYS)} "
            "(sampling fps, keyframes_only and resize_width are set per task in its config)"
        )
    # Validate the values with the real model (the URL is checked separately).
    SourceConfig.model_validate({**options, "camera_id": "check", "url": "/check"})
    return options


class _CameraFields(RequestModel):
    @field_validator("url", check_fields=False)
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        return None if v is None else check_camera_url(v)

    @field_validator("tags", check_fields=False)
    @classmethod
    def _tags(cls, v: list[str] | None) -> list[str] | None:
        return None if v is None else check_tags(v)

    @field_validator("source_options", check_fields=False)
    @classmethod
    def _options(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if v is None else check_source_options(v)

    @field_validator("zones", "lines", "source_options", mode="after", check_fields=False)
    @classmethod
    def _storable(cls, v: Any) -> Any:
        if v is not None:
            check_storable(to_jsonable_python(v))
        return v

    @field_validator("region", "department", check_fields=False)
    @classmethod
    def _blank_is_none(cls, v: str | None) -> str | None:
        return v or None


class CameraCreate(_CameraFields):
    """A new camera. ``id`` is generated from the name when absent."""

    id: Slug | None = None
    name: Label
    url: str = Field(
        max_length=2000, description=URL_HELP, examples=["rtsp://admin:secret@10.0.0.5:554/stream1"]
    )
    latitude: float | None = Field(default=None, ge=-90, le=90, description="WGS 84 degrees")
    longitude: float | None = Field(default=None, ge=-180, le=180, description="WGS 84 degrees")
    region: OptionalLabel | None = None
    department: OptionalLabel | None = None
    tags: list[str] = Field(
        default_factory=list, max_length=50, description="paths of up to 4 levels: a/b/c/d"
    )
    zones: list[Zone] = Field(default_factory=list, max_length=100)
    lines: list[Line] = Field(default_factory=list, max_length=100)
    source_options: dict[str, Any] = Field(default_factory=dict, description="SourceConfig knobs")
    enabled: bool = True

    @model_validator(mode="after")
    def _location_pair(self) -> CameraCreate:
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("give both latitude and longitude, or neither")
        return self


class CameraUpdate(_CameraFields):
    """A partial update: only the keys sent change. ``null`` clears an optional field."""

    name: Label | None = None
    url: str | None = Field(default=None, max_length=2000, description=URL_HELP)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    region: OptionalLabel | None = None
    department: OptionalLabel | None = None
    tags: list[str] | None = Field(default=None, max_length=50)
    zones: list[Zone] | None = Field(default=None, max_length=100)
    lines: list[Line] | None = Field(default=None, max_length=100)
    source_options: dict[str, Any] | None = None
    enabled: bool | None = None

    @model_validator(mode="after")
    def _not_null(self) -> CameraUpdate:
        for key in ("name", "url", "tags", "zones", "lines", "source_options", "enabled"):
            if key in self.model_fields_set and getattr(self, key) is None:
                raise ValueError(f"{key} cannot be null; leave it out to keep the current value")
        return self


class CameraOut(BaseModel):
    id: str
    name: str
    url: str = Field(description="credentials replaced by ***")
    has_credentials: bool
    latitude: float | None
    longitude: float | None
    region: str | None
    department: str | None
    tags: list[str]
    zones: list[dict[str, Any]]
    lines: list[dict[str, Any]]
    source_options: dict[str, Any]
    enabled: bool
    status: CameraStatus = Field(description="idle = no running task analyses this camera")
    health: dict[str, Any] | None = Field(description="live source health while a task runs on it")
    created_at: datetime
    updated_at: datetime
    distance_km: float | None = Field(default=None, description="only with near=")


class CameraList(BaseModel):
    items: list[CameraOut]
    total: int
