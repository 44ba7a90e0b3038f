"""Hazard tickets (seed 000's 隐患 workflow): reported → rectifying →
verifying → accepted, with an assignee and a comment thread.

Why the state machine lives with the storage: the rules of which transition
is allowed must hold for every writer (API, patrol reports, imports), and the
check has to be atomic with the write. Each transition is a conditional
``UPDATE ... WHERE state = <expected>``, so two people pressing "verify" at the
same moment cannot both succeed on any backend, and each successful
transition is recorded as a comment carrying ``from_state``/``to_state`` — the
ticket's history.

A failed verification sends the ticket back: ``verifying → rectifying``.
``accepted`` is final. A ticket that is not ``accepted`` is *open* and
protects its event from retention.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from sightline.storage.db import Database
from sightline.storage.events import EventNotFound
from sightline.storage.models import HAZARD_STATES, EventRow, HazardComment, HazardTicket
from sightline.storage.types import utcnow

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "reported": ("rectifying",),
    "rectifying": ("verifying",),
    "verifying": ("accepted", "rectifying"),
    "accepted": (),
}
OPEN_STATES = tuple(s for s in HAZARD_STATES if s != "accepted")


class InvalidTransition(ValueError):
    """The ticket cannot move to that state from the one it is in."""


class TicketNotFound(LookupError):
    pass


class TicketExists(ValueError):
    """The event already has a ticket (one ticket per event)."""


class HazardTicketRecord(BaseModel):
    id: str
    event_id: str
    state: str
    title: str
    description: str
    reporter_id: str | None
    assignee_id: str | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None

    @property
    def is_open(self) -> bool:
        return self.state != "accepted"


class CommentRecord(BaseModel):
    id: int
    ticket_id: str
    author_id: str | None
    body: str
    from_state: str | None
    to_state: str | None
    created_at: datetime


def _ticket(t: HazardTicket) -> HazardTicketRecord:
    return HazardTicketRecord.model_validate(t, from_attributes=True)


def _comment(c: HazardComment) -> CommentRecord:
    return CommentRecord.model_validate(c, from_attributes=True)


class HazardStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def report(
        self,
        event_id: str,
        *,
        title: str = "",
        description: str = "",
        reporter_id: str | None = None,
        assignee_id: str | None = None,
        now: datetime | None = None,
    ) -> HazardTicketRecord:
        """Open a ticket (state ``reported``) for an event."""
        at = now or utcnow()
        try:
            with self.db.session() as session:
                if session.get(EventRow, event_id) is None:
                    raise EventNotFound(f"no event {event_id!r}")
                ticket = HazardTicket(
                    id=uuid.uuid4().hex,
                    event_id=event_id,
                    state="reported",
                    title=title,
                    description=description,
                    reporter_id=reporter_id,
                    assignee_id=assignee_id,
                    created_at=at,
                    updated_at=at,
                )
                session.add(ticket)
                session.flush()  # the ticket row first: comments reference it
                session.add(
                    HazardComment(ticket_id=ticket.id, author_id=reporter_id, body=description,
                                  from_state=None, to_state="reported", created_at=at)
                )  # fmt: skip
                session.flush()
                return _ticket(ticket)
        except IntegrityError as err:
            if self.for_event(event_id) is not None:
                raise TicketExists(f"event {event_id!r} already has a hazard ticket") from None
            raise err

    def get(self, ticket_id: str) -> HazardTicketRecord | None:
        with self.db.session() as session:
            t = session.get(HazardTicket, ticket_id)
            return None if t is None else _ticket(t)

    def for_event(self, event_id: str) -> HazardTicketRecord | None:
        with self.db.session() as session:
            t = session.scalar(select(HazardTicket).where(HazardTicket.event_id == event_id))
            return None if t is None else _ticket(t)

    def list_tickets(
        self, *, states: list[str] | None = None, assignee_id: str | None = None, limit: int = 100
    ) -> list[HazardTicketRecord]:
        """Tickets, most recently updated first."""
        stmt = select(HazardTicket).order_by(HazardTicket.updated_at.desc(), HazardTicket.id).limit(limit)
        if states:
            stmt = stmt.where(HazardTicket.state.in_(states))
        if assignee_id is not None:
            stmt = stmt.where(HazardTicket.assignee_id == assignee_id)
        with self.db.session() as session:
            return [_ticket(t) for t in session.scalars(stmt)]

    def transition(
        self,
        ticket_id: str,
        to_state: str,
        *,
        actor_id: str | None = None,
        note: str = "",
        now: datetime | None = None,
    ) -> HazardTicketRecord:
        """Move a ticket to ``to_state``; raises :class:`InvalidTransition` if
        the workflow does not allow it from the ticket's current state."""
        if to_state not in TRANSITIONS:
            raise InvalidTransition(
                f"unknown hazard state {to_state!r}; states are {', '.join(HAZARD_STATES)}"
            )
        at = now or utcnow()
        with self.db.session() as session:
            current = session.scalar(select(HazardTicket.state).where(HazardTicket.id == ticket_id))
            if current is None:
                raise TicketNotFound(f"no hazard ticket {ticket_id!r}")
            allowed = TRANSITIONS[current]
            if to_state not in allowed:
                nxt = " or ".join(allowed) if allowed else "nothing (accepted is final)"
                raise InvalidTransition(
                    f"hazard ticket {ticket_id} is {current!r} and cannot become {to_state!r}; "
                    f"from {current!r} it can go to {nxt}"
                )
            result = session.execute(
                update(HazardTicket)
                .where(HazardTicket.id == ticket_id, HazardTicket.state == current)
                .values(state=to_state, updated_at=at, closed_at=at if to_state == "accepted" else None)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                raise InvalidTransition(
                    f"hazard ticket {ticket_id} changed state while moving it to {to_state!r}; reload, retry"
                )
            session.add(
                HazardComment(ticket_id=ticket_id, author_id=actor_id, body=note,
                              from_state=current, to_state=to_state, created_at=at)
            )  # fmt: skip
            session.flush()
            ticket = session.get(HazardTicket, ticket_id, populate_existing=True)
            assert ticket is not None
            return _ticket(ticket)

    def assign(
        self,
        ticket_id: str,
        assignee_id: str | None,
        *,
        actor_id: str | None = None,
        now: datetime | None = None,
    ) -> HazardTicketRecord:
        at = now or utcnow()
        with self.db.session() as session:
            ticket = session.get(HazardTicket, ticket_id)
            if ticket is None:
                raise TicketNotFound(f"no hazard ticket {ticket_id!r}")
            ticket.assignee_id = assignee_id
            ticket.updated_at = at
            session.add(
                HazardComment(ticket_id=ticket_id, author_id=actor_id, body=f"assigned to {assignee_id}",
                              created_at=at)
            )  # fmt: skip
            session.flush()
            return _ticket(ticket)

    def comment(
        self, ticket_id: str, body: str, *, author_id: str | None = None, now: datetime | None = None
    ) -> CommentRecord:
        at = now or utcnow()
        with self.db.session() as session:
            if session.get(HazardTicket, ticket_id) is None:
                raise TicketNotFound(f"no hazard ticket {ticket_id!r}")
            c = HazardComment(ticket_id=ticket_id, author_id=author_id, body=body, created_at=at)
            session.add(c)
            session.flush()
            return _comment(c)

    def comments(self, ticket_id: str) -> list[CommentRecord]:
        """The ticket's thread and state history, oldest first."""
        with self.db.session() as session:
            rows = session.scalars(
                select(HazardComment).where(HazardComment.ticket_id == ticket_id).order_by(HazardComment.id)
            )
            return [_comment(c) for c in rows]
