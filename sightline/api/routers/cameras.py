"""Camera registry routes (C1): CRUD, search by keyword / tag / area, live
snapshot, and the department scoping every other router reuses.

Why these choices:

- **Secrets**: a camera URL usually carries the camera's password. No
  response ever contains it (``redact_url``); an edit that sends the
  redacted URL back keeps the stored credentials, so a UI can round-trip a
  camera without ever having seen its password. Audit details are redacted
  too.
- **Scoping**: a caller whose ``departments`` is non-empty sees and manages
  only cameras of those departments; a camera outside the scope answers 404,
  exactly like a camera that does not exist, so ids do not leak. Events,
  tasks, hazards and statistics use :func:`scope_departments` and
  :func:`load_camera` from here so the rule is written once.
- **Search**: department, region, enabled and the bounding box are SQL
  conditions (indexed); keyword, tag prefix and radius need the tag list and
  a great-circle distance, so they run in Python over a light projection of
  the SQL candidates (a few columns, ~30k cameras per site at most) before
  the page is loaded.
- **Snapshot**: the frame a running task analysed last is free; otherwise
  one frame is grabbed on demand with :class:`~sightline.sources.AvSource`
  on a helper thread with a hard deadline (≤ 10 s), failing fast with the
  source's own diagnosis when the first connection attempt fails.
"""

from __future__ import annotations

import contextlib
import math
import queue
import re
import threading
import time
import uuid
from collections.abc import Sequence
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, HTTPException, Path, Query, Response
from pydantic import ValidationError
from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from sightline.api.audit import audit
from sightline.api.context import AppContext
from sightline.api.deps import Principal
from sightline.api.schemas.cameras import (
    CameraCreate,
    CameraList,
    CameraOut,
    CameraStatus,
    CameraUpdate,
)
from sightline.api.schemas.common import PATH_ID_PATTERN, Ctx, Operator, QueryText, Viewer, unprocessable
from sightline.core.frame import Frame
from sightline.events.snapshots import encode_jpeg
from sightline.sources import AvSource, SourceConfig, redact_url
from sightline.sources.config import SECRET_PARAM_RE, secret_params
from sightline.storage.models import Camera, Task

router = APIRouter(tags=["cameras"])

CameraId = Annotated[str, Path(pattern=PATH_ID_PATTERN, description="camera id")]
SNAPSHOT_TIMEOUT_S = 10.0
_USERINFO = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/?#@]*(?:@[^/?#@]*)*)@")
_STATE_TO_STATUS: dict[str, CameraStatus] = {
    "online": "online",
    "degraded": "degraded",
    "connecting": "connecting",
    "offline": "offline",
    "ended": "offline",
}


# -- scoping, shared with the other routers ---------------------------------------------


def scope_departments(principal: Principal) -> list[str]:
    """The departments the caller is limited to; empty = all."""
    return list(principal.departments)


def visible(principal: Principal) -> ColumnElement[bool] | None:
    """SQL condition on ``cameras`` for what the caller may see (None = everything)."""
    if not principal.departments:
        return None
    return Camera.department.in_(principal.departments)


def load_camera(session: Session, principal: Principal, camera_id: str) -> Camera:
    """The camera, or 404 when it does not exist or lies outside the caller's departments."""
    camera = session.get(Camera, camera_id)
    if camera is None or (principal.departments and camera.department not in principal.departments):
        raise HTTPException(404, f"no camera {camera_id!r}; list cameras with GET /api/cameras")
    return camera


def may_see_camera_id(session: Session, principal: Principal, camera_id: str) -> bool:
    """Whether events of ``camera_id`` are visible (unscoped callers see every camera id,
    including ids that are not registered cameras)."""
    if not principal.departments:
        return True
    department = session.scalar(select(Camera.department).where(Camera.id == camera_id))
    return department in principal.departments


def check_department(principal: Principal, department: str | None, loc: list[str | int]) -> None:
    if principal.departments and department not in principal.departments:
        raise HTTPException(
            403,
            f"you manage cameras of department(s) {', '.join(principal.departments)} only; "
            f"set {loc[-1]} to one of them",
        )


# -- status -------------------------------------------------------------------------------


def redact_deep(value: Any) -> Any:
    """``value`` with credentials removed from every URL in its strings."""
    if isinstance(value, str):
        return redact_url(value)
    if isinstance(value, dict):
        return {k: redact_deep(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_deep(v) for v in value]
    return value


def camera_statuses(
    ctx: AppContext, cameras: Sequence[Camera]
) -> dict[str, tuple[CameraStatus, dict[str, Any] | None]]:
    """Status and live health of each camera.

    ``idle``: no running task reads it; ``error``: a task should run on it but
    could not start (see the task's error); otherwise the source's state."""
    ids = [c.id for c in cameras]
    failed: set[str] = set()
    if ids:
        with ctx.db.session() as session:
            failed = set(
                session.scalars(
                    select(Task.camera_id).where(
                        Task.camera_id.in_(ids), Task.desired_state == "running", Task.status == "error"
                    )
                )
            )
    out: dict[str, tuple[CameraStatus, dict[str, Any] | None]] = {}
    for cid in ids:
        health: dict[str, Any] | None = None
        if ctx.tasks is not None:
            try:
                health = ctx.tasks.camera_health(cid)
            except Exception as err:  # noqa: BLE001 - one broken worker must not break the camera list
                health = {"state": "error", "error": redact_url(str(err))}
        if health is None:
            out[cid] = ("error" if cid in failed else "idle", None)
        else:
            out[cid] = (_STATE_TO_STATUS.get(str(health.get("state")), "error"), redact_deep(health))
    return out


def camera_out(
    camera: Camera, status: tuple[CameraStatus, dict[str, Any] | None], distance_km: float | None = None
) -> CameraOut:
    return CameraOut(
        id=camera.id,
        name=camera.name,
        url=redact_url(camera.url),
        has_credentials=_USERINFO.match(camera.url) is not None or bool(secret_params(camera.url)),
        latitude=camera.latitude,
        longitude=camera.longitude,
        region=camera.region,
        department=camera.department,
        tags=list(camera.tags or []),
        zones=list(camera.zones or []),
        lines=list(camera.lines or []),
        source_options=redact_deep(dict(camera.source_options or {})),
        enabled=camera.enabled,
        status=status[0],
        health=status[1],
        created_at=camera.created_at,
        updated_at=camera.updated_at,
        distance_km=None if distance_km is None else round(distance_km, 3),
    )


def _one(ctx: AppContext, camera: Camera) -> CameraOut:
    return camera_out(camera, camera_statuses(ctx, [camera])[camera.id])


# -- search helpers -------------------------------------------------------------------------


def _floats(raw: str, n: int, name: str, form: str) -> list[float]:
    parts = raw.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != n or not all(math.isfinite(v) for v in values):
        raise unprocessable(["query", name], f"{name} must be {form} (numbers separated by commas)", raw)
    return values


def _parse_bbox(raw: str) -> tuple[float, float, float, float]:
    minlon, minlat, maxlon, maxlat = _floats(raw, 4, "bbox", "minlon,minlat,maxlon,maxlat")
    if not (-180 <= minlon <= 180 and -180 <= maxlon <= 180 and -90 <= minlat <= maxlat <= 90):
        raise unprocessable(
            ["query", "bbox"],
            "bbox out of range: longitudes in [-180, 180], latitudes in [-90, 90] with minlat <= maxlat "
            "(minlon > maxlon means a box across the 180° meridian)",
            raw,
        )
    return minlon, minlat, maxlon, maxlat


def _parse_near(raw: str) -> tuple[float, float, float]:
    lat, lon, km = _floats(raw, 3, "near", "lat,lon,km")
    if not (-90 <= lat <= 90 and -180 <= lon <= 180 and 0 < km <= 20_050):
        raise unprocessable(
            ["query", "near"], "near out of range: lat in [-90, 90], lon in [-180, 180], 0 < km <= 20050", raw
        )
    return lat, lon, km


def _bbox_condition(minlon: float, minlat: float, maxlon: float, maxlat: float) -> ColumnElement[bool]:
    lon = (
        Camera.longitude.between(minlon, maxlon)
        if minlon <= maxlon
        else or_(Camera.longitude >= minlon, Camera.longitude <= maxlon)
    )
    return and_(Camera.latitude.between(minlat, maxlat), lon)


def _near_prefilter(lat: float, lon: float, km: float) -> ColumnElement[bool]:
    dlat = km / 111.19
    conditions: list[ColumnElement[bool]] = [Camera.latitude.between(lat - dlat, lat + dlat)]
    cos_lat = math.cos(math.radians(min(89.9, abs(lat) + dlat)))
    dlon = km / (111.32 * cos_lat) if cos_lat > 0 else 360.0
    if lat + dlat < 90 and lat - dlat > -90 and dlon < 180:
        lo, hi = lon - dlon, lon + dlon
        if lo < -180:
            conditions.append(or_(Camera.longitude >= lo + 360, Camera.longitude <= hi))
        elif hi > 180:
            conditions.append(or_(Camera.longitude >= lo, Camera.longitude <= hi - 360))
        else:
            conditions.append(Camera.longitude.between(lo, hi))
    return and_(*conditions)


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(a)))


def _has_tag(tags: Sequence[str], wanted: Sequence[str]) -> bool:
    norm = [w.strip().strip("/") for w in wanted]
    return any(t == w or t.startswith(w + "/") for t in tags for w in norm)


def _keyword_hit(keyword: str, *fields: Any) -> bool:
    needle = keyword.casefold()
    for field in fields:
        values = field if isinstance(field, list) else [field]
        if any(v is not None and needle in str(v).casefold() for v in values):
            return True
    return False


# -- routes -----------------------------------------------------------------------------------


@router.get("/api/cameras", response_model=CameraList, summary="Search cameras (viewer)")
def list_cameras(
    *,
    q: Annotated[
        QueryText | None, Query(max_length=200, description="keyword in id, name, region, department, tags")
    ] = None,
    tag: Annotated[
        list[QueryText],
        Query(default_factory=list, description="tag path; matches the tag and everything below it"),
    ],
    department: Annotated[list[QueryText], Query(default_factory=list)],
    region: Annotated[list[QueryText], Query(default_factory=list)],
    bbox: Annotated[
        QueryText | None, Query(description="minlon,minlat,maxlon,maxlat", examples=["116.3,39.8,116.5,40.0"])
    ] = None,
    near: Annotated[
        QueryText | None, Query(description="lat,lon,km — cameras within km, nearest first")
    ] = None,
    enabled: bool | None = None,
    status: Annotated[list[CameraStatus], Query(default_factory=list, description="live status filter")],
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    ctx: Ctx,
    principal: Viewer,
) -> CameraList:
    conditions: list[ColumnElement[bool]] = []
    scope = visible(principal)
    if scope is not None:
        conditions.append(scope)
    if department:
        conditions.append(Camera.department.in_(department))
    if region:
        conditions.append(Camera.region.in_(region))
    if enabled is not None:
        conditions.append(Camera.enabled.is_(enabled))
    if bbox:
        conditions.append(_bbox_condition(*_parse_bbox(bbox)))
    center = _parse_near(near) if near else None
    if center is not None:
        conditions.append(_near_prefilter(*center))

    python_filter = bool(q or tag or center or status)
    with ctx.db.session() as session:
        if not python_filter:
            total = int(session.scalar(select(func.count()).select_from(Camera).where(*conditions)) or 0)
            stmt = select(Camera).where(*conditions).order_by(Camera.id).limit(limit).offset(offset)
            rows = list(session.scalars(stmt))
            page_statuses = camera_statuses(ctx, rows)
            return CameraList(items=[camera_out(c, page_statuses[c.id]) for c in rows], total=total)

        light = session.execute(
            select(
                Camera.id, Camera.name, Camera.region, Camera.department, Camera.tags,
                Camera.latitude, Camera.longitude,
            ).where(*conditions).order_by(Camera.id)
        ).all()  # fmt: skip
        distances: dict[str, float] = {}
        matched: list[str] = []
        for cid, name, reg, dept, tags, lat, lon in light:
            if q and not _keyword_hit(q, cid, name, reg, dept, list(tags or [])):
                continue
            if tag and not _has_tag(tags or [], tag):
                continue
            if center is not None:
                if lat is None or lon is None:
                    continue
                d = haversine_km(center[0], center[1], lat, lon)
                if d > center[2]:
                    continue
                distances[cid] = d
            matched.append(cid)
        if center is not None:
            matched.sort(key=lambda cid: (distances[cid], cid))
        statuses: dict[str, tuple[CameraStatus, dict[str, Any] | None]] = {}
        if status:
            shells = [Camera(id=cid) for cid in matched]
            statuses = camera_statuses(ctx, shells)
            matched = [cid for cid in matched if statuses[cid][0] in status]
        page_ids = matched[offset : offset + limit]
        by_id = {c.id: c for c in session.scalars(select(Camera).where(Camera.id.in_(page_ids)))}
        page = [by_id[cid] for cid in page_ids if cid in by_id]
    if not status:
        statuses = camera_statuses(ctx, page)
    items = [camera_out(c, statuses[c.id], distances.get(c.id)) for c in page]
    return CameraList(items=items, total=len(matched))


def _new_camera_id(session: Session, name: str) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:48] or "camera"
    if not base[0].isalnum():
        base = "camera"
    candidate = base
    while session.get(Camera, candidate) is not None:
        candidate = f"{base}-{uuid.uuid4().hex[:6]}"
    return candidate


def _reject_placeholder(url: str, loc: list[str | int]) -> None:
    m = _USERINFO.match(url)
    if (m is not None and "***" in m.group("userinfo")) or any(v == "***" for _, v in secret_params(url)):
        raise unprocessable(
            loc,
            "url holds the redaction placeholder *** instead of credentials; "
            "send the real user:password (they are stored, never shown)",
            redact_url(url),
        )


_DEFAULT_PORTS = {"rtsp": 554, "rtsps": 322, "http": 80, "https": 443, "rtmp": 1935}


def _endpoint(url: str) -> tuple[str, str | None, int | None]:
    """(scheme, host, port) with the scheme's default port written out."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or _DEFAULT_PORTS.get(scheme)
    except ValueError:  # a bad port: never equal to the stored one
        port = -1
    return scheme, parts.hostname, port


def merge_redacted_url(new: str, stored: str) -> str:
    """``new`` with the ``***`` placeholders replaced by the stored credentials:
    a ``***`` userinfo and ``***`` secret query parameters (``password=***``).

    A client that edits a camera receives ``rtsp://***@host/path``; sending it
    back (or a changed path or query with ``***``) keeps the stored user and
    password. Only to the same scheme, host and port: otherwise anyone allowed
    to edit the camera could point it at their own server with ``***@`` and
    collect the password the camera then sends there. ``ValueError`` when
    there are no stored credentials to keep or the endpoint changed."""
    m = _USERINFO.match(new)
    keep_userinfo = m is not None and m.group("userinfo") == "***"
    keep_params = [name for name, value in secret_params(new) if value == "***"]
    if not keep_userinfo and not keep_params:
        return new
    if _endpoint(new) != _endpoint(stored):
        raise ValueError(
            "url keeps the stored credentials (***) but names another scheme, host or port; "
            "the stored password is only sent to the server it was given for: send the real user:password"
        )
    merged = new
    if m is not None and keep_userinfo:
        old = _USERINFO.match(stored)
        if old is None:
            raise ValueError(
                "url holds the redaction placeholder *** but this camera has no stored credentials; "
                "send the real user:password"
            )
        merged = f"{m.group('scheme')}{old.group('userinfo')}@{new[m.end() :]}"
    # The n-th "name=***" takes the n-th stored value of that name (names may repeat).
    stored_values: dict[str, list[str]] = {}
    for name, value in secret_params(stored):
        stored_values.setdefault(name, []).append(value)
    seen: dict[str, int] = {}

    def restore(p: re.Match[str]) -> str:
        name = p.group("name").lower()
        index = seen.get(name, 0)
        seen[name] = index + 1
        if p.group("value") != "***":
            return p.group(0)
        values = stored_values.get(name, [])
        if index >= len(values):
            raise ValueError(
                f"url holds the redaction placeholder *** for {name} but this camera has no "
                "stored value for it; send the real value"
            )
        return f"{p.group('name')}={values[index]}"

    return SECRET_PARAM_RE.sub(restore, merged)


def _audit_details(data: dict[str, Any]) -> dict[str, Any]:
    details: dict[str, Any] = redact_deep(dict(data))
    for key in ("zones", "lines"):
        if key in details:
            details[key] = [z.get("id") for z in details[key]]
    return details


def reapply_camera_tasks(ctx: AppContext, camera_id: str) -> None:
    """Restart (or stop) the running tasks of a camera after its settings changed."""
    if ctx.tasks is None:
        return
    with ctx.db.session() as session:
        ids = list(
            session.scalars(
                select(Task.id).where(Task.camera_id == camera_id, Task.desired_state == "running")
            )
        )
    for task_id in ids:
        ctx.tasks.apply(task_id)


@router.post("/api/cameras", response_model=CameraOut, status_code=201, summary="Add a camera (operator)")
def create_camera(
    *,
    body: CameraCreate,
    ctx: Ctx,
    principal: Operator,
) -> CameraOut:
    check_department(principal, body.department, ["body", "department"])
    _reject_placeholder(body.url, ["body", "url"])
    data = body.model_dump(mode="json")
    try:
        with ctx.db.session() as session:
            camera_id = body.id or _new_camera_id(session, body.name)
            if session.get(Camera, camera_id) is not None:
                raise HTTPException(
                    409,
                    f"camera {camera_id!r} already exists; choose another id "
                    f"or PATCH /api/cameras/{camera_id}",
                )
            camera = Camera(**{**data, "id": camera_id})
            session.add(camera)
            audit(ctx, principal, "camera.create", camera_id, _audit_details(data), session=session)
    except IntegrityError:
        raise HTTPException(409, f"camera {body.id!r} already exists; choose another id") from None
    return _one(ctx, camera)


@router.get(
    "/api/cameras/{camera_id}", response_model=CameraOut, summary="One camera with its status (viewer)"
)
def get_camera(
    *,
    camera_id: CameraId,
    ctx: Ctx,
    principal: Viewer,
) -> CameraOut:
    with ctx.db.session() as session:
        camera = load_camera(session, principal, camera_id)
    return _one(ctx, camera)


@router.patch("/api/cameras/{camera_id}", response_model=CameraOut, summary="Change a camera (operator)")
def update_camera(
    *,
    body: CameraUpdate,
    camera_id: CameraId,
    ctx: Ctx,
    principal: Operator,
) -> CameraOut:
    data = body.model_dump(mode="json", exclude_unset=True)
    if "department" in data:
        check_department(principal, data["department"], ["body", "department"])
    with ctx.db.session() as session:
        camera = load_camera(session, principal, camera_id)
        if "url" in data:
            try:
                data["url"] = merge_redacted_url(data["url"], camera.url)
            except ValueError as err:
                raise unprocessable(["body", "url"], str(err), redact_url(data["url"])) from None
        lat = data.get("latitude", camera.latitude)
        lon = data.get("longitude", camera.longitude)
        if (lat is None) != (lon is None):
            raise unprocessable(["body"], "give both latitude and longitude, or neither (null clears both)")
        for key, value in data.items():
            setattr(camera, key, value)
        audit(ctx, principal, "camera.update", camera_id, _audit_details(data), session=session)
    if data.keys() & {"url", "source_options", "enabled"}:
        reapply_camera_tasks(ctx, camera_id)
    return _one(ctx, camera)


@router.delete(
    "/api/cameras/{camera_id}", status_code=204, summary="Delete a camera and its tasks (operator)"
)
def delete_camera(
    *,
    camera_id: CameraId,
    ctx: Ctx,
    principal: Operator,
) -> Response:
    with ctx.db.session() as session:
        load_camera(session, principal, camera_id)
        task_ids = list(session.scalars(select(Task.id).where(Task.camera_id == camera_id)))
    if ctx.tasks is not None:
        for task_id in task_ids:  # stop the workers before their rows go
            ctx.tasks.remove(task_id)
    with ctx.db.session() as session:
        camera = session.get(Camera, camera_id)
        if camera is not None:
            session.delete(camera)  # tasks follow by ON DELETE CASCADE; events stay (evidence)
        audit(ctx, principal, "camera.delete", camera_id, {"tasks_deleted": task_ids}, session=session)
    return Response(status_code=204)


class SnapshotFailed(Exception):
    pass


def grab_jpeg(camera: Camera, timeout_s: float) -> bytes:
    """One frame of ``camera`` as JPEG, within ``timeout_s``; :class:`SnapshotFailed` says why not."""
    options = {k: v for k, v in (camera.source_options or {}).items() if k in SourceConfig.model_fields}
    config = SourceConfig.model_validate(
        {
            **options,
            "camera_id": camera.id,
            "url": camera.url,
            "loop": False,
            "keyframes_only": True,  # the first decodable frame is a keyframe anyway
            "target_fps": None,
            "open_timeout_s": min(float(options.get("open_timeout_s", timeout_s)), timeout_s),
            "read_timeout_s": min(float(options.get("read_timeout_s", timeout_s)), timeout_s),
        }
    )
    source = AvSource(config)
    box: queue.Queue[Frame] = queue.Queue(maxsize=1)

    def read_one() -> None:
        try:
            for frame in source.frames():
                box.put(frame)
                return
        finally:
            source.close()

    threading.Thread(target=read_one, name=f"snapshot-{camera.id}", daemon=True).start()
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                health = source.health
                reason = f": {health.error}" if health.error else ""
                raise SnapshotFailed(
                    f"camera {camera.id!r} ({redact_url(camera.url)}) gave no frame "
                    f"within {timeout_s:g} s{reason}"
                )
            try:
                frame = box.get(timeout=min(0.05, remaining))
            except queue.Empty:
                health = source.health
                if health.state in ("offline", "ended") and box.empty():
                    # The first attempt failed (or the file held no frame): report it now
                    # rather than waiting for reconnects inside a request.
                    with contextlib.suppress(queue.Empty):
                        frame = box.get(timeout=0.05)
                        return encode_jpeg(frame.image)
                    raise SnapshotFailed(
                        health.error
                        or f"camera {camera.id!r} ({redact_url(camera.url)}): "
                        "the source ended without a frame"
                    ) from None
                continue
            return encode_jpeg(frame.image)
    finally:
        source.close()


@router.get(
    "/api/cameras/{camera_id}/snapshot",
    response_class=Response,
    summary="Latest frame as JPEG (viewer)",
    responses={
        200: {"content": {"image/jpeg": {}}, "description": "the latest analysed or a freshly grabbed frame"},
        504: {"description": "the camera gave no frame in time; the message says why"},
    },
)
def camera_snapshot(
    *,
    camera_id: CameraId,
    timeout_s: Annotated[
        float, Query(gt=0, le=SNAPSHOT_TIMEOUT_S, description="grab deadline")
    ] = SNAPSHOT_TIMEOUT_S,
    ctx: Ctx,
    principal: Viewer,
) -> Response:
    with ctx.db.session() as session:
        camera = load_camera(session, principal, camera_id)
    headers = {"Cache-Control": "no-store"}
    if ctx.tasks is not None:
        data = ctx.tasks.latest_frame_jpeg(camera.id)
        if data:
            return Response(data, media_type="image/jpeg", headers={**headers, "X-Sightline-Frame": "task"})
    try:
        data = grab_jpeg(camera, timeout_s)
    except ValidationError as err:
        raise HTTPException(
            409,
            f"camera {camera_id!r} has invalid source options ({err.error_count()} error(s)); "
            "fix them with PATCH",
        ) from None
    except SnapshotFailed as err:
        raise HTTPException(504, redact_url(str(err))) from None
    return Response(data, media_type="image/jpeg", headers={**headers, "X-Sightline-Frame": "grabbed"})
