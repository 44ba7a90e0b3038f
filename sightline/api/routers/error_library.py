"""Error library routes (P1): operator-marked false positives per camera and
event type. A new event whose crop is similar (64-bit pHash, Hamming
distance) to an entry of its camera and type is blocked by the
``sightline/error-library@v1`` element of its strategy.

Entries are made from stored events (their crop is copied by reference, the
entry outlives the event) — here by operators, or in one action by a
reviewer marking an event false positive (``POST /api/events/{id}/review``
with ``add_to_error_library``). Changes are live at once.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query
from fastapi.responses import FileResponse

from sightline.api.audit import AuditorDep
from sightline.api.context import AppContext
from sightline.api.deps import Principal
from sightline.api.routers.cameras import may_see_camera_id
from sightline.api.routers.events import load_event
from sightline.api.schemas.common import PATH_ID_PATTERN, Ctx, Message, Operator, QueryText, Viewer
from sightline.api.schemas.strategies import ErrorLibraryIn, ErrorLibraryOut
from sightline.service.strategies import NoCropError, strategy_center
from sightline.storage.blobs import content_type_of
from sightline.storage.strategies import ErrorLibraryRecord

router = APIRouter(tags=["strategies"])

EntryId = Annotated[str, Path(pattern=PATH_ID_PATTERN, description="error-library entry id")]


def add_event_to_library(
    ctx: AppContext, principal: Principal, event_id: str, note: str, auditor: AuditorDep
) -> ErrorLibraryRecord:
    """Put a stored event's crop into its camera's library (shared with the review route)."""
    record = load_event(ctx, principal, event_id)
    try:
        entry = strategy_center(ctx).add_to_library(record, created_by=principal.name, note=note)
    except NoCropError as exc:
        raise HTTPException(409, str(exc)) from None
    auditor(
        "error_library.add",
        entry.id,
        {"event_id": event_id, "camera_id": entry.camera_id, "event_type": entry.event_type},
    )
    return entry


def _load_entry(ctx: AppContext, principal: Principal, entry_id: str) -> ErrorLibraryRecord:
    entry = strategy_center(ctx).store.library_entry(entry_id)
    if entry is not None and principal.departments:
        with ctx.db.session() as session:
            if not may_see_camera_id(session, principal, entry.camera_id):
                entry = None
    if entry is None:
        raise HTTPException(
            404, f"no error-library entry {entry_id!r}; list them with GET /api/error-library"
        )
    return entry


@router.get(
    "/api/error-library", response_model=list[ErrorLibraryOut], summary="List error-library entries (viewer)"
)
def list_entries(
    *,
    camera_id: Annotated[QueryText | None, Query(description="only this camera")] = None,
    type: Annotated[QueryText | None, Query(description="only this event type")] = None,
    ctx: Ctx,
    principal: Viewer,
) -> list[ErrorLibraryOut]:
    entries = strategy_center(ctx).store.library(camera_id, type)
    if principal.departments:
        with ctx.db.session() as session:
            entries = [e for e in entries if may_see_camera_id(session, principal, e.camera_id)]
    return [ErrorLibraryOut.from_record(e) for e in entries]


@router.post(
    "/api/error-library",
    response_model=ErrorLibraryOut,
    status_code=201,
    summary="Add an event's crop to its camera's error library (operator)",
)
def add_entry(*, body: ErrorLibraryIn, ctx: Ctx, principal: Operator, auditor: AuditorDep) -> ErrorLibraryOut:
    return ErrorLibraryOut.from_record(
        add_event_to_library(ctx, principal, body.event_id, body.note, auditor)
    )


@router.get(
    "/api/error-library/{entry_id}/image",
    summary="The crop of an error-library entry (viewer)",
    response_class=FileResponse,
    responses={200: {"content": {"image/jpeg": {}}}, 404: {}},
)
def entry_image(*, entry_id: EntryId, ctx: Ctx, principal: Viewer) -> FileResponse:
    entry = _load_entry(ctx, principal, entry_id)
    if not entry.crop_blob or not ctx.blobs.exists(entry.crop_blob):
        raise HTTPException(404, f"error-library entry {entry_id!r} has no stored crop image")
    return FileResponse(ctx.blobs.path(entry.crop_blob), media_type=content_type_of(entry.crop_blob))


@router.delete("/api/error-library/{entry_id}", response_model=Message, summary="Remove an entry (operator)")
def delete_entry(*, entry_id: EntryId, ctx: Ctx, principal: Operator, auditor: AuditorDep) -> Message:
    entry = _load_entry(ctx, principal, entry_id)
    strategy_center(ctx).remove_from_library(entry_id)
    auditor("error_library.remove", entry_id, {"camera_id": entry.camera_id, "event_type": entry.event_type})
    return Message(detail=f"error-library entry {entry_id!r} removed; similar events pass again")
