"""Hazard ticket workflow and the delivery outbox on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from sightline.storage import (
    EventNotFound,
    EventStore,
    HazardStore,
    InvalidTransition,
    Outbox,
    TicketExists,
    TicketNotFound,
)
from sightline.storage.models import Delivery, Subscription, User
from tests.integration.storage.helpers import make_event

T0 = datetime(2024, 6, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def hazards(store: EventStore) -> HazardStore:
    with store.db.session() as s:
        s.add_all([User(id="op", username="op", password_hash="h", role="operator"),
                   User(id="fixer", username="fixer", password_hash="h", role="operator")])  # fmt: skip
    return HazardStore(store.db)


def test_ticket_walks_the_workflow_with_history(store: EventStore, hazards: HazardStore) -> None:
    event = make_event()
    store.add(event)
    ticket = hazards.report(
        event.id, title="Blocked fire lane", description="pallets", reporter_id="op", now=T0
    )
    assert ticket.state == "reported" and ticket.is_open and ticket.closed_at is None
    assert hazards.for_event(event.id) == ticket
    hazards.assign(ticket.id, "fixer", actor_id="op", now=T0 + timedelta(minutes=1))
    steps = ["rectifying", "verifying", "rectifying", "verifying", "accepted"]
    for i, state in enumerate(steps, start=2):
        ticket = hazards.transition(
            ticket.id, state, actor_id="fixer", note=f"step {i}", now=T0 + timedelta(minutes=i)
        )
        assert ticket.state == state
    assert ticket.assignee_id == "fixer" and not ticket.is_open
    assert ticket.closed_at == T0 + timedelta(minutes=6) == ticket.updated_at
    hazards.comment(ticket.id, "well done", author_id="op")
    history = [(c.from_state, c.to_state) for c in hazards.comments(ticket.id) if c.to_state]
    assert history == [
        (None, "reported"),
        ("reported", "rectifying"),
        ("rectifying", "verifying"),
        ("verifying", "rectifying"),  # verification failed: back to rectifying
        ("rectifying", "verifying"),
        ("verifying", "accepted"),
    ]
    assert hazards.comments(ticket.id)[-1].body == "well done"
    assert [t.id for t in hazards.list_tickets(states=["accepted"])] == [ticket.id]
    assert hazards.list_tickets(states=["reported"]) == []


def test_invalid_transitions_are_rejected_clearly(store: EventStore, hazards: HazardStore) -> None:
    event = make_event()
    store.add(event)
    ticket = hazards.report(event.id)
    with pytest.raises(InvalidTransition, match="is 'reported' and cannot become 'accepted'.*rectifying"):
        hazards.transition(ticket.id, "accepted")
    with pytest.raises(InvalidTransition, match="unknown hazard state"):
        hazards.transition(ticket.id, "closed")
    for state in ("rectifying", "verifying", "accepted"):
        hazards.transition(ticket.id, state)
    with pytest.raises(InvalidTransition, match="accepted is final"):
        hazards.transition(ticket.id, "rectifying")
    got = hazards.get(ticket.id)
    assert got is not None and got.state == "accepted"
    assert len([c for c in hazards.comments(ticket.id) if c.to_state]) == 4  # rejected moves left no trace
    with pytest.raises(TicketNotFound):
        hazards.transition("nope", "rectifying")


def test_one_ticket_per_event_and_only_for_stored_events(store: EventStore, hazards: HazardStore) -> None:
    event = make_event()
    store.add(event)
    hazards.report(event.id)
    with pytest.raises(TicketExists):
        hazards.report(event.id)
    with pytest.raises(EventNotFound):
        hazards.report("no-such-event")


@pytest.fixture
def outbox(store: EventStore) -> Outbox:
    with store.db.session() as s:
        s.add(
            Subscription(id="hook", name="park platform", kind="webhook", url="https://park.example/alarms")
        )
        s.add(Subscription(id="mq", name="mqtt", kind="mqtt", topic="sightline/events"))
    return Outbox(store.db)


def test_outbox_idempotency_key_is_unique(store: EventStore, outbox: Outbox) -> None:
    event = make_event()
    store.add(event)
    assert outbox.enqueue(event.id, "hook", now=T0)
    assert not outbox.enqueue(event.id, "hook", now=T0)  # same key: nothing added
    assert outbox.enqueue(event.id, "mq", now=T0)
    assert len(outbox.due(T0)) == 2
    # The database itself refuses a duplicate key, whoever writes it.
    with pytest.raises(IntegrityError), store.db.session() as s:
        s.add(
            Delivery(
                event_id=event.id, subscription_id="hook", idempotency_key=f"{event.id}:hook", next_try_at=T0
            )
        )


def test_outbox_attempts(store: EventStore, outbox: Outbox) -> None:
    events = [make_event(wall_time=1_700_000_000 + i) for i in range(3)]
    for i, e in enumerate(events):
        store.add(e)
        outbox.enqueue(e.id, "hook", now=T0 + timedelta(seconds=i))
    first, second, third = outbox.due(T0 + timedelta(minutes=1))
    assert [d.event_id for d in (first, second, third)] == [e.id for e in events]
    outbox.mark_delivered(first.id, 200, now=T0 + timedelta(minutes=1))
    outbox.mark_failed(second.id, "503 busy", response_code=503, next_try_at=T0 + timedelta(minutes=5))
    outbox.mark_failed(third.id, "410 gone", response_code=410, next_try_at=None)
    assert outbox.due(T0 + timedelta(minutes=2)) == []
    due = outbox.due(T0 + timedelta(minutes=5))
    assert [(d.id, d.status, d.attempt, d.response_code) for d in due] == [(second.id, "failed", 1, 503)]
    done, dead = outbox.get(first.id), outbox.get(third.id)
    assert done is not None and done.status == "delivered" and done.delivered_at == T0 + timedelta(minutes=1)
    assert dead is not None and dead.status == "dead" and dead.last_error == "410 gone"
