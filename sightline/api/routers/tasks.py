"""Analysis task routes (T1): create, edit, start, stop, delete, with live status.

Why the API only writes *desired state*: the database is the single source of
truth for what should run (it survives restarts and is what a scale-out
scheduler reads); the runner (:class:`~sightline.api.context.TaskControl`,
``ctx.tasks``) is told to converge with ``apply(task_id)`` after every change.
Without a runner (API-only process, tests) the desired state is still stored
and takes effect when one starts.

Status merges both sides: the stored ``status``/``last_error`` written by the
runner, overlaid with ``ctx.tasks.status(id)`` (live state, fps, frames,
events) when the runner knows the task.

A task's ``config`` is stored normalised: validated by ``AnalysisConfig``,
defaults filled in, ``camera_id`` set to the task's camera, and rules that
use a zone or line of the config refer to it by id (so editing the zone
edits what every rule uses).
"""

from __future__ import annotations

import logging
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Response
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from sightline.api.audit import audit
from sightline.api.context import AppContext
from sightline.api.deps import Principal
from sightline.api.routers.cameras import load_camera, redact_deep, visible
from sightline.api.schemas.common import PATH_ID_PATTERN, Ctx, Operator, QueryText, Viewer
from sightline.api.schemas.tasks import ALGORITHMS, AlgorithmOut, TaskCreate, TaskList, TaskOut, TaskUpdate
from sightline.config.analysis import AnalysisConfig
from sightline.sources import redact_url
from sightline.storage.models import Camera, Task

log = logging.getLogger(__name__)

router = APIRouter(tags=["tasks"])

TaskId = Annotated[str, Path(pattern=PATH_ID_PATTERN, description="task id")]
#: Reading tasks is open to every role (dashboards show what runs); changing them needs operator.
READ_ROLE = "viewer"
WRITE_ROLE = "operator"


def normalise_config(config: AnalysisConfig, camera_id: str) -> dict[str, Any]:
    """The config as stored: JSON, defaults filled, rules referring to config zones/lines by id."""
    data: dict[str, Any] = config.model_dump(mode="json")
    data["camera_id"] = camera_id
    zones = {z["id"]: z for z in data["zones"]}
    lines = {ln["id"]: ln for ln in data["lines"]}
    for rule in data["rules"]:
        for key, table in (("zone", zones), ("line", lines)):
            ref = rule.get(key)
            if isinstance(ref, dict) and table.get(ref.get("id")) == ref:
                rule[key] = ref["id"]
    return data


def _live(ctx: AppContext, task_id: str) -> dict[str, Any] | None:
    if ctx.tasks is None:
        return None
    try:
        live: dict[str, Any] = redact_deep(ctx.tasks.status(task_id))
        return live
    except Exception as err:  # noqa: BLE001 - a runner problem must not hide the task
        return {"state": "error", "error": redact_url(str(err))}


def task_out(ctx: AppContext, task: Task) -> TaskOut:
    live = _live(ctx, task.id)
    status = task.status
    error = task.last_error
    if live and live.get("state") not in (None, "unknown"):
        status = str(live["state"])
        error = live.get("error", error)
    return TaskOut(
        id=task.id,
        camera_id=task.camera_id,
        name=task.name,
        algorithm=task.algorithm,
        config=task.config,
        schedule=task.schedule,
        desired_state=task.desired_state,  # type: ignore[arg-type]
        status=status,
        error=None if error is None else redact_url(str(error)),
        live=live,
        created_at=task.created_at,
        updated_at=task.updated_at,
    )


def load_task(session: Session, principal: Principal, task_id: str) -> Task:
    """The task, or 404 when absent or on a camera outside the caller's departments."""
    task = session.get(Task, task_id)
    if task is not None and principal.departments:
        department = session.scalar(select(Camera.department).where(Camera.id == task.camera_id))
        if department not in principal.departments:
            task = None
    if task is None:
        raise HTTPException(404, f"no task {task_id!r}; list tasks with GET /api/tasks")
    return task


def _apply(ctx: AppContext, task_id: str) -> None:
    """Tell the runner; its failure is recorded on the task, never a 500."""
    if ctx.tasks is None:
        return
    try:
        ctx.tasks.apply(task_id)
    except Exception as err:  # noqa: BLE001 - reported on the task, logged with the reason
        message = f"task {task_id!r}: the runner could not apply it: {redact_url(str(err))}"
        log.exception("%s", message)
        with ctx.db.session() as session:
            task = session.get(Task, task_id)
            if task is not None:
                task.status, task.last_error = "error", message


def _new_task_id(session: Session, name: str, camera_id: str) -> str:
    base = "".join(ch if ch.isalnum() and ch.isascii() else "-" for ch in f"{camera_id}-{name}".lower())
    base = "-".join(part for part in base.split("-") if part)[:48] or "task"
    candidate = base
    while session.get(Task, candidate) is not None:
        candidate = f"{base}-{uuid.uuid4().hex[:6]}"
    return candidate


@router.get(
    "/api/algorithms", response_model=list[AlgorithmOut], summary="Algorithms a task can run (viewer)"
)
def list_algorithms(_: Viewer) -> list[AlgorithmOut]:
    return [AlgorithmOut(id=k, description=v) for k, v in sorted(ALGORITHMS.items())]


@router.get("/api/tasks", response_model=TaskList, summary="List tasks with live status (viewer)")
def list_tasks(
    *,
    camera_id: Annotated[list[QueryText], Query(default_factory=list)],
    desired_state: Annotated[list[Literal["running", "stopped"]], Query(default_factory=list)],
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    ctx: Ctx,
    principal: Viewer,
) -> TaskList:
    conditions: list[ColumnElement[bool]] = []
    if camera_id:
        conditions.append(Task.camera_id.in_(camera_id))
    if desired_state:
        conditions.append(Task.desired_state.in_(desired_state))
    scope = visible(principal)
    if scope is not None:
        conditions.append(Task.camera_id.in_(select(Camera.id).where(scope)))
    with ctx.db.session() as session:
        total = int(session.scalar(select(func.count()).select_from(Task).where(*conditions)) or 0)
        rows = list(
            session.scalars(
                select(Task).where(*conditions).order_by(Task.camera_id, Task.id).limit(limit).offset(offset)
            )
        )
    return TaskList(items=[task_out(ctx, t) for t in rows], total=total)


@router.post("/api/tasks", response_model=TaskOut, status_code=201, summary="Create a task (operator)")
def create_task(
    *,
    body: TaskCreate,
    ctx: Ctx,
    principal: Operator,
) -> TaskOut:
    try:
        with ctx.db.session() as session:
            camera = load_camera(session, principal, body.camera_id)
            if body.start and not camera.enabled:
                raise HTTPException(
                    409, f"camera {camera.id!r} is disabled; enable it before starting a task on it"
                )
            task_id = body.id or _new_task_id(session, body.name, camera.id)
            if session.get(Task, task_id) is not None:
                raise HTTPException(409, f"task {task_id!r} already exists; choose another id")
            task = Task(
                id=task_id,
                camera_id=camera.id,
                name=body.name,
                algorithm=body.algorithm,
                config=normalise_config(body.config, camera.id),
                schedule=None if body.schedule is None else body.schedule.model_dump(mode="json"),
                desired_state="running" if body.start else "stopped",
                status="created",
            )
            session.add(task)
            details = {
                "camera_id": camera.id,
                "name": body.name,
                "algorithm": body.algorithm,
                "start": body.start,
            }
            audit(ctx, principal, "task.create", task_id, details, session=session)
    except IntegrityError:
        raise HTTPException(409, f"task {body.id!r} already exists; choose another id") from None
    if body.start:
        _apply(ctx, task.id)
    return _reload(ctx, principal, task.id)


def _reload(ctx: AppContext, principal: Principal, task_id: str) -> TaskOut:
    with ctx.db.session() as session:
        task = load_task(session, principal, task_id)
    return task_out(ctx, task)


@router.get("/api/tasks/{task_id}", response_model=TaskOut, summary="One task with live status (viewer)")
def get_task(
    *,
    task_id: TaskId,
    ctx: Ctx,
    principal: Viewer,
) -> TaskOut:
    return _reload(ctx, principal, task_id)


@router.patch(
    "/api/tasks/{task_id}", response_model=TaskOut, summary="Edit a task; a running one restarts (operator)"
)
def update_task(
    *,
    body: TaskUpdate,
    task_id: TaskId,
    ctx: Ctx,
    principal: Operator,
) -> TaskOut:
    changed = sorted(body.model_fields_set)
    with ctx.db.session() as session:
        task = load_task(session, principal, task_id)
        if body.camera_id is not None:
            task.camera_id = load_camera(session, principal, body.camera_id).id
        if body.name is not None:
            task.name = body.name
        if body.algorithm is not None:
            task.algorithm = body.algorithm
        if body.config is not None:
            task.config = normalise_config(body.config, task.camera_id)
        elif body.camera_id is not None:
            task.config = {**task.config, "camera_id": task.camera_id}
        if "schedule" in body.model_fields_set:
            task.schedule = None if body.schedule is None else body.schedule.model_dump(mode="json")
        running = task.desired_state == "running"
        audit(ctx, principal, "task.update", task_id, {"changed": changed}, session=session)
    if running:
        _apply(ctx, task_id)
    return _reload(ctx, principal, task_id)


def _set_desired(ctx: AppContext, principal: Principal, task_id: str, desired: str) -> TaskOut:
    with ctx.db.session() as session:
        task = load_task(session, principal, task_id)
        if desired == "running":
            camera = session.get(Camera, task.camera_id)
            if camera is not None and not camera.enabled:
                raise HTTPException(
                    409, f"camera {camera.id!r} is disabled; enable it (PATCH /api/cameras/{camera.id}) first"
                )
        task.desired_state = desired
        action = "task.start" if desired == "running" else "task.stop"
        audit(ctx, principal, action, task_id, {"camera_id": task.camera_id}, session=session)
    _apply(ctx, task_id)
    return _reload(ctx, principal, task_id)


@router.post("/api/tasks/{task_id}/start", response_model=TaskOut, summary="Start a task (operator)")
def start_task(
    *,
    task_id: TaskId,
    ctx: Ctx,
    principal: Operator,
) -> TaskOut:
    return _set_desired(ctx, principal, task_id, "running")


@router.post("/api/tasks/{task_id}/stop", response_model=TaskOut, summary="Stop a task (operator)")
def stop_task(
    *,
    task_id: TaskId,
    ctx: Ctx,
    principal: Operator,
) -> TaskOut:
    return _set_desired(ctx, principal, task_id, "stopped")


@router.delete("/api/tasks/{task_id}", status_code=204, summary="Stop and delete a task (operator)")
def delete_task(
    *,
    task_id: TaskId,
    ctx: Ctx,
    principal: Operator,
) -> Response:
    with ctx.db.session() as session:
        task = load_task(session, principal, task_id)
        camera_id = task.camera_id
    if ctx.tasks is not None:
        ctx.tasks.remove(task_id)  # stop the worker first; its events keep their task_id
    with ctx.db.session() as session:
        row = session.get(Task, task_id)
        if row is not None:
            session.delete(row)
        audit(ctx, principal, "task.delete", task_id, {"camera_id": camera_id}, session=session)
    return Response(status_code=204)
