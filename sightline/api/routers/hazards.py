"""Hazard workflow routes (seed 000 §4.3.1.3, 隐患排查): a reviewer reports a
hazard from an event (隐患上报); operators drive it through rectification
(隐患整改), verification (隐患核实) and acceptance (隐患验收), assign the
person responsible, and everyone involved comments.

Why the split of roles: reporting is part of reviewing events (reviewer+);
moving a ticket forward or handing it to someone is a management decision
(operator+). The allowed transitions are enforced atomically by
:class:`~sightline.storage.HazardStore`; a refused transition is a 409 whose
message names the states the ticket can go to, and every ticket response
carries ``next_states``.

Tickets follow their event's camera for department scoping: a ticket of a
camera outside the caller's departments answers 404.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query
from sqlalchemy import false, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from sightline.api.audit import audit
from sightline.api.context import AppContext
from sightline.api.deps import Principal
from sightline.api.routers.cameras import may_see_camera_id, visible
from sightline.api.routers.events import actor_user_id, load_event, user_names
from sightline.api.schemas.common import (
    PATH_ID_PATTERN,
    Ctx,
    Operator,
    QueryText,
    Reviewer,
    Viewer,
    unprocessable,
)
from sightline.api.schemas.hazards import (
    CommentIn,
    CommentOut,
    HazardAssign,
    HazardDetail,
    HazardList,
    HazardOut,
    HazardReport,
    HazardState,
    HazardTransition,
)
from sightline.core.event_types import EVENT_TYPES
from sightline.storage import InvalidTransition, TicketExists, TicketNotFound
from sightline.storage.hazards import HazardTicketRecord
from sightline.storage.models import Camera, EventRow, HazardTicket, User

router = APIRouter(tags=["hazards"])

TicketId = Annotated[str, Path(pattern=PATH_ID_PATTERN, description="hazard ticket id")]
EventId = Annotated[str, Path(pattern=PATH_ID_PATTERN, description="event id")]


def _out(
    session: Session, ticket: HazardTicketRecord, camera_id: str | None, event_type: str | None
) -> HazardOut:
    names = user_names(session, [ticket.reporter_id, ticket.assignee_id])
    return HazardOut.from_record(ticket, names, camera_id, event_type)


def _load(ctx: AppContext, principal: Principal, ticket_id: str) -> tuple[HazardTicketRecord, str, str]:
    """The ticket with its event's camera and type, or 404 (absent or out of scope)."""
    with ctx.db.session() as session:
        row = session.execute(
            select(HazardTicket, EventRow.camera_id, EventRow.type)
            .join(EventRow, EventRow.id == HazardTicket.event_id)
            .where(HazardTicket.id == ticket_id)
        ).first()
        if row is None or not may_see_camera_id(session, principal, row[1]):
            raise HTTPException(404, f"no hazard ticket {ticket_id!r}; list tickets with GET /api/hazards")
        return HazardTicketRecord.model_validate(row[0], from_attributes=True), row[1], row[2]


def _respond(ctx: AppContext, ticket: HazardTicketRecord, camera_id: str, event_type: str) -> HazardOut:
    with ctx.db.session() as session:
        return _out(session, ticket, camera_id, event_type)


def _check_assignee(session: Session, assignee_id: str | None, loc: list[str | int]) -> None:
    if assignee_id is None:
        return
    user = session.execute(select(User.id, User.disabled).where(User.id == assignee_id)).first()
    if user is None:
        raise unprocessable(
            loc, f"no user {assignee_id!r}; pick an assignee from GET /api/users", assignee_id
        )
    if user.disabled:
        raise unprocessable(loc, f"user {assignee_id!r} is disabled; pick an active user", assignee_id)


@router.post(
    "/api/events/{event_id}/hazard",
    response_model=HazardOut,
    status_code=201,
    summary="Report a hazard from an event (reviewer)",
    responses={409: {"description": "the event already has a ticket"}},
)
def report_hazard(
    *,
    body: HazardReport,
    event_id: EventId,
    ctx: Ctx,
    principal: Reviewer,
) -> HazardOut:
    record = load_event(ctx, principal, event_id)
    existing = ctx.hazards.for_event(event_id)
    if existing is not None:
        raise HTTPException(
            409, f"event {event_id!r} already has hazard ticket {existing.id!r} ({existing.state})"
        )
    with ctx.db.session() as session:
        _check_assignee(session, body.assignee_id, ["body", "assignee_id"])
        reporter_id = actor_user_id(session, principal)
    et = EVENT_TYPES.get(record.type)
    title = body.title.strip() or (
        f"{et.name_zh} / {et.name_en} — {record.camera_id}" if et else f"{record.type} — {record.camera_id}"
    )
    try:
        ticket = ctx.hazards.report(
            event_id,
            title=title,
            description=body.description,
            reporter_id=reporter_id,
            assignee_id=body.assignee_id,
        )
    except TicketExists as err:
        raise HTTPException(409, str(err)) from None
    audit(ctx, principal, "hazard.report", ticket.id, {"event_id": event_id, "assignee_id": body.assignee_id})
    return _respond(ctx, ticket, record.camera_id, record.type)


@router.get("/api/hazards", response_model=HazardList, summary="List hazard tickets (viewer)")
def list_hazards(
    *,
    state: Annotated[list[HazardState], Query(default_factory=list, description="repeat for several")],
    assignee: Annotated[QueryText | None, Query(max_length=64, description="user id, or 'me'")] = None,
    camera_id: Annotated[list[QueryText], Query(default_factory=list)],
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    ctx: Ctx,
    principal: Viewer,
) -> HazardList:
    conditions: list[ColumnElement[bool]] = []
    if state:
        conditions.append(HazardTicket.state.in_(state))
    if camera_id:
        conditions.append(EventRow.camera_id.in_(camera_id))
    scope = visible(principal)
    if scope is not None:
        conditions.append(EventRow.camera_id.in_(select(Camera.id).where(scope)))
    with ctx.db.session() as session:
        if assignee is not None:
            assignee_id = actor_user_id(session, principal) if assignee == "me" else assignee
            # "me" for a caller who is no user (an API key without owner) matches nothing.
            conditions.append(HazardTicket.assignee_id == assignee_id if assignee_id else false())
        base = select(HazardTicket, EventRow.camera_id, EventRow.type).join(
            EventRow, EventRow.id == HazardTicket.event_id
        )
        total = int(session.scalar(select(func.count()).select_from(base.where(*conditions).subquery())) or 0)
        rows = session.execute(
            base.where(*conditions)
            .order_by(HazardTicket.updated_at.desc(), HazardTicket.id)
            .limit(limit)
            .offset(offset)
        ).all()
        tickets = [
            (HazardTicketRecord.model_validate(t, from_attributes=True), cam, typ) for t, cam, typ in rows
        ]
        names = user_names(session, [i for t, _, _ in tickets for i in (t.reporter_id, t.assignee_id)])
    return HazardList(
        items=[HazardOut.from_record(t, names, cam, typ) for t, cam, typ in tickets], total=total
    )


@router.get(
    "/api/hazards/{ticket_id}", response_model=HazardDetail, summary="One ticket with its history (viewer)"
)
def get_hazard(
    *,
    ticket_id: TicketId,
    ctx: Ctx,
    principal: Viewer,
) -> HazardDetail:
    ticket, camera_id, event_type = _load(ctx, principal, ticket_id)
    comments = ctx.hazards.comments(ticket_id)
    with ctx.db.session() as session:
        names = user_names(
            session, [ticket.reporter_id, ticket.assignee_id, *(c.author_id for c in comments)]
        )
    return HazardDetail(
        **HazardOut.from_record(ticket, names, camera_id, event_type).model_dump(),
        comments=[CommentOut.from_record(c, names) for c in comments],
    )


@router.post(
    "/api/hazards/{ticket_id}/transition",
    response_model=HazardOut,
    summary="Move a ticket to its next state (operator)",
    responses={
        409: {"description": "not allowed from the current state; the message names the allowed ones"}
    },
)
def transition_hazard(
    *,
    body: HazardTransition,
    ticket_id: TicketId,
    ctx: Ctx,
    principal: Operator,
) -> HazardOut:
    ticket, camera_id, event_type = _load(ctx, principal, ticket_id)
    with ctx.db.session() as session:
        actor = actor_user_id(session, principal)
    note = body.note or ("" if actor else f"by {principal.name}")
    try:
        moved = ctx.hazards.transition(ticket_id, body.to_state, actor_id=actor, note=note)
    except InvalidTransition as err:
        raise HTTPException(409, str(err)) from None
    except TicketNotFound:
        raise HTTPException(404, f"no hazard ticket {ticket_id!r}") from None
    audit(
        ctx, principal, "hazard.transition", ticket_id,
        {"from": ticket.state, "to": body.to_state, "note": body.note},
    )  # fmt: skip
    return _respond(ctx, moved, camera_id, event_type)


@router.post(
    "/api/hazards/{ticket_id}/assign", response_model=HazardOut, summary="Assign a ticket (operator)"
)
def assign_hazard(
    *,
    body: HazardAssign,
    ticket_id: TicketId,
    ctx: Ctx,
    principal: Operator,
) -> HazardOut:
    ticket, camera_id, event_type = _load(ctx, principal, ticket_id)
    with ctx.db.session() as session:
        _check_assignee(session, body.assignee_id, ["body", "assignee_id"])
        actor = actor_user_id(session, principal)
    try:
        updated = ctx.hazards.assign(ticket_id, body.assignee_id, actor_id=actor)
    except TicketNotFound:
        raise HTTPException(404, f"no hazard ticket {ticket_id!r}") from None
    audit(ctx, principal, "hazard.assign", ticket_id, {"from": ticket.assignee_id, "to": body.assignee_id})
    return _respond(ctx, updated, camera_id, event_type)


@router.get(
    "/api/hazards/{ticket_id}/comments",
    response_model=list[CommentOut],
    summary="Comments and history (viewer)",
)
def list_comments(
    *,
    ticket_id: TicketId,
    ctx: Ctx,
    principal: Viewer,
) -> list[CommentOut]:
    _load(ctx, principal, ticket_id)
    comments = ctx.hazards.comments(ticket_id)
    with ctx.db.session() as session:
        names = user_names(session, (c.author_id for c in comments))
    return [CommentOut.from_record(c, names) for c in comments]


@router.post(
    "/api/hazards/{ticket_id}/comments",
    response_model=CommentOut,
    status_code=201,
    summary="Comment (reviewer)",
)
def add_comment(
    *,
    body: CommentIn,
    ticket_id: TicketId,
    ctx: Ctx,
    principal: Reviewer,
) -> CommentOut:
    _load(ctx, principal, ticket_id)
    with ctx.db.session() as session:
        author = actor_user_id(session, principal)
    try:
        comment = ctx.hazards.comment(ticket_id, body.body, author_id=author)
    except TicketNotFound:
        raise HTTPException(404, f"no hazard ticket {ticket_id!r}") from None
    audit(ctx, principal, "hazard.comment", ticket_id, {"comment_id": comment.id})
    with ctx.db.session() as session:
        names = user_names(session, [comment.author_id])
    out = CommentOut.from_record(comment, names)
    if out.author_name is None:
        out.author_name = principal.name
    return out
