"""Hazard-ticket models: seed 000's 隐患排查 workflow — 隐患上报 (reported),
隐患整改 (rectifying), 隐患核实 (verifying), 隐患验收 (accepted).

Why ``next_states`` is in every response: the allowed transitions live in
the storage layer (they must hold for every writer); handing them to the
client means a UI shows only the buttons that will work, instead of copying
the state machine.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from sightline.api.schemas.common import IdRef, Note, RequestModel
from sightline.storage.hazards import TRANSITIONS, CommentRecord, HazardTicketRecord

HazardState = Literal["reported", "rectifying", "verifying", "accepted"]


class HazardReport(RequestModel):
    title: str = Field(default="", max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")
    description: Note = ""
    assignee_id: IdRef | None = Field(default=None, description="user id of the person to rectify it")


class HazardTransition(RequestModel):
    to_state: HazardState
    note: Note = ""


class HazardAssign(RequestModel):
    assignee_id: IdRef | None = Field(description="user id, or null to unassign")


class CommentIn(RequestModel):
    body: Note = Field(min_length=1)


class CommentOut(BaseModel):
    id: int
    ticket_id: str
    author_id: str | None
    author_name: str | None
    body: str
    from_state: str | None
    to_state: str | None
    created_at: datetime

    @classmethod
    def from_record(cls, c: CommentRecord, names: dict[str, str]) -> CommentOut:
        return cls(**c.model_dump(), author_name=names.get(c.author_id) if c.author_id else None)


class HazardOut(BaseModel):
    id: str
    event_id: str
    camera_id: str | None
    event_type: str | None
    state: HazardState
    next_states: list[str]
    title: str
    description: str
    reporter_id: str | None
    reporter_name: str | None
    assignee_id: str | None
    assignee_name: str | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None

    @classmethod
    def from_record(
        cls, t: HazardTicketRecord, names: dict[str, str], camera_id: str | None, event_type: str | None
    ) -> HazardOut:
        return cls(
            **t.model_dump(),
            camera_id=camera_id,
            event_type=event_type,
            next_states=list(TRANSITIONS.get(t.state, ())),
            reporter_name=names.get(t.reporter_id) if t.reporter_id else None,
            assignee_name=names.get(t.assignee_id) if t.assignee_id else None,
        )


class HazardDetail(HazardOut):
    comments: list[CommentOut] = Field(description="thread and state history, oldest first")


class HazardList(BaseModel):
    items: list[HazardOut]
    total: int
