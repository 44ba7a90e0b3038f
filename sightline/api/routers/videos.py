"""Recorded-file analysis (T1): upload a video, analyse it once to its end.

Upload form: the **raw request body** is the file, with its ``video/*``
content type (``curl --data-binary @clip.mp4 -H 'Content-Type: video/mp4'``;
in a browser ``xhr.send(file)``). Why not multipart: a raw body streams
straight to disk with no form parser in between and no extra dependency, and
it is what ``fetch``/``XMLHttpRequest`` send for a ``File`` anyway. The
original file name travels in ``?filename=``.

Nothing is stored half-way: the body goes to a temporary file under the data
directory (413 as soon as it passes ``SIGHTLINE_MAX_VIDEO_BYTES``, default
2 GiB), is checked whole (:mod:`sightline.uploads.video_probe`: 422 for
garbage, truncated or video-less files), and only then is it renamed into
``videos/<sha256>.<ext>`` and its row written. Any failure removes the
temporary file and writes no row.

Analysis runs through a file camera ``video-<sha256[:16]>`` (``loop`` off),
so tasks, strategies, event storage, delivery and department scoping are the
ones every camera uses; the task becomes ``finished`` at the end of the file.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path as FsPath
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sightline.api.audit import audit
from sightline.api.context import AppContext
from sightline.api.deps import Principal
from sightline.api.limits import VIDEO_LIMIT
from sightline.api.routers.tasks import _apply as apply_task
from sightline.api.routers.tasks import normalise_config, task_out
from sightline.api.schemas.common import Ctx, Operator, Viewer
from sightline.api.schemas.uploads import VideoAnalysisOut, VideoAnalyzeIn, VideoList, VideoOut
from sightline.config.analysis import AnalysisConfig, load_config
from sightline.service.demo import DEMO_CONFIG
from sightline.storage.models import Camera, EventRow, Task, Video
from sightline.uploads import UploadRefused
from sightline.uploads.content_types import require_video_type
from sightline.uploads.receive import ReceivedBody, received_body
from sightline.uploads.video_probe import VideoInfo, probe_video

router = APIRouter(tags=["videos"])

VideoId = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$", description="the video's sha256, hex")]
ACTIVE_STATES = ("created", "starting", "running")
#: The video types the OpenAPI lists (any video/* is taken: the bytes are what is checked).
UPLOAD_VIDEO_TYPES = ("video/mp4", "video/x-msvideo", "video/quicktime", "video/x-matroska", "video/webm")
_VIDEO_BODY = {
    "requestBody": {
        "required": True,
        "description": "the video file itself (not a form), with its video/* content type",
        "content": {kind: {"schema": {"type": "string", "format": "binary"}} for kind in UPLOAD_VIDEO_TYPES},
    }
}


def videos_dir(ctx: AppContext) -> FsPath:
    folder = ctx.data_dir / "videos"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def video_path(ctx: AppContext, video: Video) -> FsPath:
    return videos_dir(ctx) / f"{video.id}.{video.extension}"


def camera_id_of(video_id: str) -> str:
    return f"video-{video_id[:16]}"


def refused(err: UploadRefused) -> HTTPException:
    return HTTPException(err.status, err.message)


def _clean_filename(raw: str | None, extension: str) -> str:
    name = os.path.basename((raw or "").replace("\\", "/")).strip()
    name = "".join(ch for ch in name if ch.isprintable())[:255]
    return name or f"video.{extension}"


def load_video(session: Session, principal: Principal, video_id: str) -> Video:
    """The video, or 404 when absent or outside the caller's departments."""
    video = session.get(Video, video_id)
    if video is None or (principal.departments and video.department not in principal.departments):
        raise HTTPException(404, f"no video {video_id!r}; list videos with GET /api/videos")
    return video


def _analyses(ctx: AppContext, session: Session, video: Video) -> list[VideoAnalysisOut]:
    tasks = session.scalars(
        select(Task).where(Task.camera_id == camera_id_of(video.id)).order_by(Task.created_at)
    ).all()
    out = []
    for task in tasks:
        merged = task_out(ctx, task)
        live: dict[str, Any] = merged.live or {}
        finished = merged.status == "finished"
        done = video.frames if finished else min(int(live.get("decoded") or 0), video.frames)
        events = live.get("events")
        if not isinstance(events, int):
            # camera_id first: a range of ix_events_camera_id_wall_time (the
            # video's own camera), not a scan of every event for task_id.
            on_camera = (EventRow.camera_id == task.camera_id) & (EventRow.task_id == task.id)
            events = int(session.scalar(select(func.count()).where(on_camera)) or 0)
        out.append(
            VideoAnalysisOut(
                task_id=task.id,
                camera_id=task.camera_id,
                name=task.name,
                status=merged.status,
                error=merged.error,
                frames_done=done,
                frames_total=video.frames,
                progress=1.0 if finished else (done / video.frames if video.frames else 0.0),
                events=events,
                created_at=task.created_at,
            )
        )
    return out


def video_out(ctx: AppContext, session: Session, video: Video) -> VideoOut:
    return VideoOut(
        id=video.id,
        filename=video.filename,
        content_type=video.content_type,
        size_bytes=video.size_bytes,
        container=video.container,
        codec=video.codec,
        width=video.width,
        height=video.height,
        fps=video.fps,
        frames=video.frames,
        duration_s=video.duration_s,
        department=video.department,
        uploaded_by=video.uploaded_by,
        created_at=video.created_at,
        camera_id=camera_id_of(video.id),
        analyses=_analyses(ctx, session, video),
    )


def _visible_copy(principal: Principal, video: Video) -> Video:
    """The stored video with the uploaded bytes, when the caller may see it.

    Videos are stored once per content; when that one belongs to another
    department the caller gets 409, never the other department's row (its
    name, uploader and analyses)."""
    if principal.departments and video.department not in principal.departments:
        raise HTTPException(
            409,
            "this exact file is already stored for another department; "
            "ask an admin (without department limits) to analyse it, or upload a re-encoded copy",
        )
    return video


def _keep(
    ctx: AppContext, principal: Principal, body: ReceivedBody, info: VideoInfo, kind: str, filename: str
) -> tuple[VideoOut, bool]:
    """Move the checked file into place and write its row: (the video, whether it is new)."""
    with ctx.db.session() as session:
        existing = session.get(Video, body.sha256)
        if existing is not None:  # the same bytes again: one file, one row
            return video_out(ctx, session, _visible_copy(principal, existing)), False
    video = Video(
        id=body.sha256,
        filename=filename,
        content_type=kind,
        extension=info.extension,
        size_bytes=body.size,
        container=info.container,
        codec=info.codec,
        width=info.width,
        height=info.height,
        fps=info.fps,
        frames=info.frames,
        duration_s=info.duration_s,
        department=principal.departments[0] if principal.departments else None,
        uploaded_by=principal.name,
    )
    target = video_path(ctx, video)
    os.replace(body.path, target)  # same file system: atomic, never half a file
    try:
        with ctx.db.session() as session:
            session.add(video)
            details = {"filename": filename, "size_bytes": body.size, "frames": info.frames}
            audit(ctx, principal, "video.upload", video.id, details, session=session)
    except IntegrityError:  # a concurrent upload of the same bytes won: keep its row and file
        with ctx.db.session() as session:
            won = session.get(Video, body.sha256)
            if won is None:
                raise
            return video_out(ctx, session, _visible_copy(principal, won)), False
    except BaseException:
        target.unlink(missing_ok=True)  # no row, so no file either
        raise
    with ctx.db.session() as session:
        return video_out(ctx, session, load_video(session, principal, video.id)), True


@router.post(
    "/api/videos",
    response_model=VideoOut,
    status_code=201,
    summary="Upload a video for analysis: the raw body with its video/* type (operator)",
    openapi_extra=_VIDEO_BODY,
)
async def upload_video(
    *,
    request: Request,
    response: Response,
    filename: Annotated[str | None, Query(max_length=255, description="the file's name, for people")] = None,
    ctx: Ctx,
    principal: Operator,
) -> VideoOut:
    try:
        kind = require_video_type(request.headers.get("content-type"))
        async with received_body(
            request.stream(), ctx.data_dir, VIDEO_LIMIT.current(), VIDEO_LIMIT.env
        ) as body:
            info = await run_in_threadpool(probe_video, body.path)
            name = _clean_filename(filename, info.extension)
            out, new = await run_in_threadpool(_keep, ctx, principal, body, info, kind, name)
    except UploadRefused as err:
        raise refused(err) from None
    if not new:
        response.status_code = 200
    return out


@router.get("/api/videos", response_model=VideoList, summary="Uploaded videos with their analyses (viewer)")
def list_videos(
    *,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    ctx: Ctx,
    principal: Viewer,
) -> VideoList:
    scope = [Video.department.in_(principal.departments)] if principal.departments else []
    with ctx.db.session() as session:
        total = int(session.scalar(select(func.count()).select_from(Video).where(*scope)) or 0)
        rows = session.scalars(
            select(Video)
            .where(*scope)
            .order_by(Video.created_at.desc(), Video.id)
            .limit(limit)
            .offset(offset)
        ).all()
        return VideoList(items=[video_out(ctx, session, v) for v in rows], total=total)


@router.get("/api/videos/{video_id}", response_model=VideoOut, summary="One video and its analyses (viewer)")
def get_video(*, video_id: VideoId, ctx: Ctx, principal: Viewer) -> VideoOut:
    with ctx.db.session() as session:
        return video_out(ctx, session, load_video(session, principal, video_id))


def _active_task(ctx: AppContext, session: Session, video: Video) -> str | None:
    for analysis in _analyses(ctx, session, video):
        if analysis.status in ACTIVE_STATES:
            return analysis.task_id
    return None


@router.delete(
    "/api/videos/{video_id}",
    status_code=204,
    summary="Delete a video and its analysis tasks; events stay (operator)",
)
def delete_video(*, video_id: VideoId, ctx: Ctx, principal: Operator) -> Response:
    with ctx.db.session() as session:
        video = load_video(session, principal, video_id)
        busy = _active_task(ctx, session, video)
        if busy is not None:
            raise HTTPException(
                409,
                f"video {video_id[:16]}… is being analysed by task {busy!r}; stop it first "
                f"(POST /api/tasks/{busy}/stop) or wait until it finishes",
            )
        path = video_path(ctx, video)
        task_ids = list(session.scalars(select(Task.id).where(Task.camera_id == camera_id_of(video_id))))
    if ctx.tasks is not None:
        for task_id in task_ids:  # drop finished workers before their rows go
            ctx.tasks.remove(task_id)
    with ctx.db.session() as session:
        camera = session.get(Camera, camera_id_of(video_id))
        if camera is not None:
            session.delete(camera)  # its tasks follow (ON DELETE CASCADE); events stay as evidence
        row = session.get(Video, video_id)
        if row is not None:
            session.delete(row)
        audit(ctx, principal, "video.delete", video_id, {"tasks_deleted": task_ids}, session=session)
    path.unlink(missing_ok=True)  # after the commit: a failed delete keeps a usable video
    return Response(status_code=204)


def _file_camera(session: Session, video: Video, path: FsPath) -> Camera:
    camera = session.get(Camera, camera_id_of(video.id))
    if camera is None:
        camera = Camera(
            id=camera_id_of(video.id),
            name=f"Video: {video.filename}"[:200],
            url=str(path),
            department=video.department,
            tags=["uploads"],
            zones=[],
            lines=[],
            source_options={"loop": False},  # once to the end: the task finishes there
            enabled=True,
        )
        session.add(camera)
        session.flush()
    return camera


@router.post(
    "/api/videos/{video_id}/analyze",
    response_model=VideoAnalysisOut,
    status_code=201,
    summary="Analyse a video once to its end, as a task on its file camera (operator)",
)
def analyze_video(
    *,
    video_id: VideoId,
    body: VideoAnalyzeIn | None = None,
    ctx: Ctx,
    principal: Operator,
) -> VideoAnalysisOut:
    request = body or VideoAnalyzeIn()
    config: AnalysisConfig = request.config or load_config(DEMO_CONFIG)
    with ctx.db.session() as session:
        video = load_video(session, principal, video_id)
        path = video_path(ctx, video)
        if not path.is_file():
            raise HTTPException(
                409, f"the file of video {video_id[:16]}… is missing from {path.parent}; upload it again"
            )
        busy = _active_task(ctx, session, video)
        if busy is not None:
            raise HTTPException(
                409, f"task {busy!r} is analysing this video already; watch GET /api/videos/{video_id}"
            )
        camera = _file_camera(session, video, path)
        task_id = f"{camera.id}-{uuid.uuid4().hex[:8]}"
        session.add(
            Task(
                id=task_id,
                camera_id=camera.id,
                name=request.name or f"Analysis of {video.filename}"[:200],
                algorithm="sightline/people@v1",
                config=normalise_config(config, camera.id),
                schedule=None,
                desired_state="running",
                status="created",
            )
        )
        details = {"video_id": video_id, "camera_id": camera.id, "default_config": request.config is None}
        audit(ctx, principal, "video.analyze", task_id, details, session=session)
    apply_task(ctx, task_id)  # a runner failure is recorded on the task, never a 500
    with ctx.db.session() as session:
        video = load_video(session, principal, video_id)
        return next(a for a in _analyses(ctx, session, video) if a.task_id == task_id)
