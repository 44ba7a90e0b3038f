"""Event routes (E1–E3): search, detail, evidence images, export, review.

Why it looks like this:

- **One filter, four uses**: search, CSV/JSON export and statistics take the
  same query parameters (:func:`event_filter`), so "export what I see" is the
  same URL with ``/export`` added. Times are ISO 8601 (a time without offset
  is UTC) or UNIX seconds; ``from`` is inclusive, ``to`` exclusive.
- **Paging** is keyset (``cursor`` = the previous page's ``next_cursor``):
  constant cost at any depth and stable while events keep arriving.
  ``offset`` is there for "jump to page N".
- **Exports stream**: pages of 1,000 rows are read and written one after the
  other, so a 100,000-row export never sits in memory. The CSV starts with a
  UTF-8 BOM so Excel shows the Chinese type names, and cells that a
  spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``) are quoted
  with a leading apostrophe.
- **Scoping**: a department-scoped caller sees only events of cameras in its
  departments; an event outside answers 404.
- **Reviewer**: reviews store the caller's user id (for an API key, the
  key's owner) so the review history says who decided and when.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from fastapi.responses import FileResponse, StreamingResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from sightline.api.audit import audit
from sightline.api.context import AppContext
from sightline.api.deps import Principal
from sightline.api.routers.cameras import may_see_camera_id, scope_departments
from sightline.api.schemas.common import PATH_ID_PATTERN, Ctx, QueryText, Reviewer, Viewer, unprocessable
from sightline.api.schemas.events import (
    CSV_COLUMNS,
    EventDetail,
    EventOut,
    EventPage,
    EventTypeOut,
    HazardRef,
    ImageKind,
    OutcomeQuery,
    ReviewIn,
    ReviewOut,
    ReviewStatus,
)
from sightline.core.event_types import EVENT_TYPES
from sightline.service.strategies import NoCropError, strategy_center
from sightline.storage import EventFilter, EventNotFound, EventQuery, EventRecord
from sightline.storage.blobs import content_type_of
from sightline.storage.models import ApiKey, User

router = APIRouter(tags=["events"])

EventId = Annotated[str, Path(pattern=PATH_ID_PATTERN, description="event id")]
EXPORT_PAGE = 1000
EXPORT_MAX_ROWS = 1_000_000
MAX_TIME = 253_402_300_799.0  # 9999-12-31T23:59:59Z
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# -- helpers shared with hazards and stats ------------------------------------------------


def parse_time(raw: str, name: str) -> float:
    """ISO 8601 (no offset = UTC) or UNIX seconds → UNIX seconds; 422 naming ``name`` otherwise."""
    text = raw.strip()
    try:
        if _NUMBER.match(text):
            value = float(text)
        else:
            parsed = datetime.fromisoformat(text.replace("z", "Z"))
            value = (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()
    except (ValueError, OverflowError):
        value = math.nan
    if not math.isfinite(value) or not 0 <= value <= MAX_TIME:
        raise unprocessable(
            ["query", name],
            f"{name} must be ISO 8601 (2024-05-01T08:00:00+08:00; no offset means UTC) or UNIX seconds, "
            "between 1970 and 9999",
            raw,
        )
    return value


def event_filter(
    *,
    camera_id: Annotated[
        list[QueryText], Query(default_factory=list, description="camera id; repeat for several")
    ],
    type: Annotated[
        list[QueryText],
        Query(default_factory=list, description="event type code (GET /api/event-types); repeat for several"),
    ],
    status: Annotated[
        list[ReviewStatus], Query(default_factory=list, description="review status; repeat for several")
    ],
    zone_id: Annotated[
        list[QueryText], Query(default_factory=list, description="zone id; repeat for several")
    ],
    region: Annotated[
        list[QueryText], Query(default_factory=list, description="camera region; repeat for several")
    ],
    time_from: Annotated[
        QueryText | None,
        Query(alias="from", max_length=64, description="ISO 8601 or UNIX seconds, inclusive"),
    ] = None,
    time_to: Annotated[
        QueryText | None, Query(alias="to", max_length=64, description="ISO 8601 or UNIX seconds, exclusive")
    ] = None,
    outcome: Annotated[
        OutcomeQuery,
        Query(
            description="strategy outcome: passed (the output, default), blocked (suppressed noise) or all"
        ),
    ] = "passed",
) -> EventFilter:
    """The event filter of a request (dependency)."""
    unknown = [t for t in type if t not in EVENT_TYPES]
    if unknown:
        raise unprocessable(
            ["query", "type"],
            f"unknown event type(s) {unknown}; known: {', '.join(sorted(EVENT_TYPES))}",
            unknown,
        )
    start = parse_time(time_from, "from") if time_from else None
    end = parse_time(time_to, "to") if time_to else None
    if start is not None and end is not None and start > end:
        raise unprocessable(["query", "to"], "to is before from; swap them", time_to)
    return EventFilter(
        camera_ids=camera_id, types=type, statuses=status, zone_ids=zone_id, regions=region,
        time_from=start, time_to=end, outcome=outcome,
    )  # fmt: skip


def scoped(f: EventFilter, principal: Principal) -> EventFilter:
    departments = scope_departments(principal)
    return f.model_copy(update={"departments": departments}) if departments else f


def load_event(ctx: AppContext, principal: Principal, event_id: str) -> EventRecord:
    """The event, or 404 when absent or outside the caller's departments."""
    record = ctx.events.get(event_id)
    if record is not None and principal.departments:
        with ctx.db.session() as session:
            if not may_see_camera_id(session, principal, record.camera_id):
                record = None
    if record is None:
        raise HTTPException(404, f"no event {event_id!r}; search events with GET /api/events")
    return record


def user_names(session: Session, ids: Iterable[str | None]) -> dict[str, str]:
    """Display names (or user names) of the given user ids."""
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    rows = session.execute(select(User.id, User.display_name, User.username).where(User.id.in_(wanted)))
    return {uid: display or username for uid, display, username in rows}


def actor_user_id(session: Session, principal: Principal) -> str | None:
    """The users.id to record as reviewer/author: the caller, or an API key's owner."""
    if principal.api_key_id is not None:
        return session.scalar(select(ApiKey.owner_id).where(ApiKey.id == principal.api_key_id))
    return session.scalar(select(User.id).where(User.id == principal.subject))


# -- routes --------------------------------------------------------------------------------


@router.get(
    "/api/event-types", response_model=list[EventTypeOut], summary="Event type codes and names (viewer)"
)
def event_types(_: Viewer) -> list[EventTypeOut]:
    return [
        EventTypeOut(code=t.code, number=t.number, name_en=t.name_en, name_zh=t.name_zh)
        for t in EVENT_TYPES.values()
    ]


@router.get("/api/events", response_model=EventPage, summary="Search events (viewer)")
def search_events(
    *,
    f: Annotated[EventFilter, Depends(event_filter)],
    sort: Annotated[Literal["asc", "desc"], Query(description="by event time")] = "desc",
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    cursor: Annotated[
        QueryText | None, Query(max_length=512, description="next_cursor of the previous page")
    ] = None,
    offset: Annotated[
        int | None, Query(ge=0, le=1_000_000, description="instead of cursor: skip this many")
    ] = None,
    with_total: Annotated[bool, Query(description="count all matches (costs one more query)")] = True,
    ctx: Ctx,
    principal: Viewer,
) -> EventPage:
    if cursor is not None and offset is not None:
        raise unprocessable(["query", "offset"], "give either cursor or offset, not both")
    query = EventQuery(
        **scoped(f, principal).model_dump(), order=sort, limit=limit, cursor=cursor, offset=offset,
        with_total=with_total,
    )  # fmt: skip
    try:
        page = ctx.events.search(query)
    except ValueError as err:
        raise unprocessable(["query", "cursor"], str(err), cursor) from None
    return EventPage(
        items=[EventOut.from_record(r) for r in page.items], total=page.total, next_cursor=page.next_cursor
    )


def _records(ctx: AppContext, f: EventFilter, sort: str, max_rows: int) -> Iterator[list[EventRecord]]:
    query = EventQuery(**f.model_dump(), order=sort, limit=min(EXPORT_PAGE, max_rows), with_total=False)  # type: ignore[arg-type]
    sent = 0
    while sent < max_rows:
        page = ctx.events.search(query)
        items = page.items[: max_rows - sent]
        if items:
            yield items
        sent += len(items)
        if page.next_cursor is None:
            return
        query = query.model_copy(
            update={"cursor": page.next_cursor, "limit": min(EXPORT_PAGE, max_rows - sent)}
        )


def _cell(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def _csv_chunks(pages: Iterator[list[EventRecord]]) -> Iterator[str]:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    buf.write("\ufeff")
    writer.writerow(CSV_COLUMNS)
    for page in pages:
        for record in page:
            writer.writerow([_cell(v) for v in EventOut.from_record(record).csv_row()])
        yield buf.getvalue()
        buf.seek(0)
        buf.truncate()
    yield buf.getvalue()


def _json_chunks(pages: Iterator[list[EventRecord]]) -> Iterator[str]:
    yield "["
    first = True
    for page in pages:
        parts = [EventOut.from_record(r).model_dump_json() for r in page]
        yield ("" if first else ",") + ",".join(parts)
        first = False
    yield "]"


@router.get(
    "/api/events/export",
    summary="Export events as CSV or JSON, streamed (viewer)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}, "application/json": {}}, "description": "the events"}},
)
def export_events(
    *,
    format: Annotated[Literal["csv", "json"], Query()] = "csv",
    f: Annotated[EventFilter, Depends(event_filter)],
    sort: Annotated[Literal["asc", "desc"], Query()] = "asc",
    limit: Annotated[int, Query(ge=1, le=EXPORT_MAX_ROWS, description="at most this many rows")] = 100_000,
    ctx: Ctx,
    principal: Viewer,
) -> StreamingResponse:
    pages = _records(ctx, scoped(f, principal), sort, limit)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    headers = {
        "Content-Disposition": f'attachment; filename="events-{stamp}.{format}"',
        "Cache-Control": "no-store",
    }
    if format == "csv":
        return StreamingResponse(_csv_chunks(pages), media_type="text/csv; charset=utf-8", headers=headers)
    return StreamingResponse(_json_chunks(pages), media_type="application/json", headers=headers)


@router.get(
    "/api/events/{event_id}", response_model=EventDetail, summary="One event with trace and reviews (viewer)"
)
def get_event(
    *,
    event_id: EventId,
    ctx: Ctx,
    principal: Viewer,
) -> EventDetail:
    record = load_event(ctx, principal, event_id)
    reviews = ctx.events.reviews(event_id)
    ticket = ctx.hazards.for_event(event_id)
    with ctx.db.session() as session:
        names = user_names(session, (r.reviewer_id for r in reviews))
    return EventDetail(
        **EventOut.from_record(record).model_dump(),
        trace=record.trace,
        reviews=[ReviewOut.from_record(r, names) for r in reviews],
        hazard=None if ticket is None else HazardRef(id=ticket.id, state=ticket.state),
    )


@router.get(
    "/api/events/{event_id}/image/{kind}",
    summary="Evidence image: frame, crop or preview (viewer)",
    response_class=FileResponse,
    responses={200: {"content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}}}, 404: {}},
)
def event_image(
    *,
    kind: ImageKind,
    event_id: EventId,
    ctx: Ctx,
    principal: Viewer,
) -> FileResponse:
    record = load_event(ctx, principal, event_id)
    key = getattr(record.snapshot, kind)
    if not key:
        raise HTTPException(404, f"event {event_id!r} has no {kind} image")
    try:
        path = ctx.blobs.path(key)
        media_type = content_type_of(key)
    except ValueError:
        raise HTTPException(
            404, f"event {event_id!r}: its {kind} image reference is not a stored image"
        ) from None
    if not path.is_file():
        raise HTTPException(
            404, f"the {kind} image of event {event_id!r} is no longer stored (removed by retention?)"
        )
    return FileResponse(
        path,
        media_type=media_type,
        headers={"Cache-Control": "private, max-age=31536000, immutable"},  # content-addressed: never changes
    )


@router.post(
    "/api/events/{event_id}/review",
    response_model=ReviewOut,
    status_code=201,
    summary="Review an event (reviewer)",
)
def review_event(
    *,
    body: ReviewIn,
    event_id: EventId,
    ctx: Ctx,
    principal: Reviewer,
) -> ReviewOut:
    record = load_event(ctx, principal, event_id)
    if body.add_to_error_library:
        _check_library_candidate(record, body.status)
    with ctx.db.session() as session:
        reviewer_id = actor_user_id(session, principal)
    try:
        review = ctx.events.set_status(event_id, body.status, reviewer_id=reviewer_id, note=body.note)
    except EventNotFound:
        raise HTTPException(404, f"no event {event_id!r}") from None
    audit(ctx, principal, "event.review", event_id, {"status": body.status, "note": body.note})
    with ctx.db.session() as session:
        names = user_names(session, [review.reviewer_id])
    out = ReviewOut.from_record(review, names)
    if out.reviewer_name is None:
        out.reviewer_name = principal.name  # an API key without an owner: still say who decided
    if body.add_to_error_library:
        out.error_library_entry_id = _add_to_library(ctx, principal, record, body.note)
    return out


def _check_library_candidate(record: EventRecord, status: str) -> None:
    """Refuse ``add_to_error_library`` before anything is recorded, naming the fix."""
    if status != "false":
        raise unprocessable(
            ["body", "add_to_error_library"],
            f"only a false positive goes into the error library: send status 'false', not {status!r}",
            True,
        )
    if not record.snapshot.crop:
        raise HTTPException(
            409,
            f"event {record.id!r} has no crop image; the error library compares crops. "
            "Review it without add_to_error_library",
        )


def _add_to_library(ctx: AppContext, principal: Principal, record: EventRecord, note: str) -> str:
    try:
        entry = strategy_center(ctx).add_to_library(record, created_by=principal.name, note=note)
    except NoCropError as exc:
        raise HTTPException(409, f"the review is recorded, but {exc}") from None
    audit(
        ctx,
        principal,
        "error_library.add",
        entry.id,
        {
            "event_id": record.id,
            "camera_id": entry.camera_id,
            "event_type": entry.event_type,
            "via": "review",
        },
    )
    return entry.id


__all__ = ["actor_user_id", "event_filter", "load_event", "parse_time", "router", "scoped", "user_names"]
