"""Subscriptions API: CRUD, roles, secret shown once, URL checks, test send, delivery log, audit."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from sightline.api.context import AppContext
from sightline.delivery import Dispatcher, enqueue_for_event
from sightline.storage.models import AuditRecord
from tests.integration.delivery.conftest import role
from tests.integration.delivery.helpers import make_event
from tests.integration.delivery.servers import Receiver, ReceiverState

OP = role("operator")


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


def create(client: TestClient, **body: object) -> dict[str, object]:
    payload = {"name": "hook", "kind": "webhook", "url": "https://example.com/hook", **body}
    r = client.post("/api/subscriptions", json=payload, headers=OP)
    assert r.status_code == 201, r.text
    data: dict[str, object] = r.json()
    return data


def test_secret_is_generated_and_shown_only_at_creation(client: TestClient, ctx: AppContext) -> None:
    created = create(client, event_types=["line.cross"], camera_ids=["cam1"])
    secret = created["secret"]
    assert isinstance(secret, str) and secret.startswith("whsec_") and len(secret) > 40
    assert created["has_secret"] is True and created["event_types"] == ["line.cross"]
    sub_id = created["id"]
    for r in (
        client.get("/api/subscriptions", headers=OP),
        client.get(f"/api/subscriptions/{sub_id}", headers=OP),
    ):
        assert r.status_code == 200 and secret not in r.text and '"secret"' not in r.text
    given = create(client, secret="whsec_mine_0123456789abcdef")
    assert given["secret"] == "whsec_mine_0123456789abcdef"
    rotated = client.post(f"/api/subscriptions/{sub_id}/rotate-secret", headers=OP).json()["secret"]
    assert rotated != secret and rotated not in client.get("/api/subscriptions", headers=OP).text
    with ctx.db.session() as s:
        records = s.scalars(select(AuditRecord).order_by(AuditRecord.id)).all()
        actions = [(r.action, r.target, r.actor) for r in records]
        details = " ".join(str(r.details) for r in records)
    assert ("subscription.create", sub_id, "user:u-operator") in actions
    assert ("subscription.rotate_secret", sub_id, "user:u-operator") in actions
    assert secret not in details and rotated not in details and "whsec_mine" not in details


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"url": "ftp://example.com/x"}, "http:// or https://"),
        ({"url": "mqtt://broker:1883"}, "http:// or https://"),
        ({"url": None}, "needs a url"),
        ({"url": "https://user:pw@example.com/"}, "credentials"),
        ({"event_types": ["no.such"]}, "unknown event type"),
        ({"kind": "mqtt", "url": "mqtt://broker:1883"}, "topic prefix"),
        ({"kind": "mqtt", "url": "http://broker", "topic": "a/b"}, "MQTT broker URL"),
        ({"kind": "mqtt", "url": None, "topic": "a/#"}, "invalid MQTT topic prefix"),
        ({"kind": "sms"}, "kind"),
        ({"secret": "short"}, "secret"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_invalid_subscriptions_are_refused_with_a_clear_message(
    client: TestClient, body: dict[str, object], needle: str
) -> None:
    payload = {"name": "hook", "kind": "webhook", "url": "https://example.com/hook", **body}
    r = client.post("/api/subscriptions", json=payload, headers=OP)
    assert r.status_code == 422 and needle in r.text, r.text


def test_mqtt_subscription_needs_no_secret(client: TestClient) -> None:
    created = create(client, kind="mqtt", url="mqtt://127.0.0.1:1883", topic="site1/events")
    assert created["secret"] is None and created["has_secret"] is False and created["topic"] == "site1/events"
    created = create(client, kind="mqtt", url=None, topic="site1/events")  # the server's broker
    assert created["url"] is None


def test_roles_update_and_delete(client: TestClient) -> None:
    assert client.get("/api/subscriptions").status_code == 401
    for weaker in ("viewer", "reviewer"):
        assert client.get("/api/subscriptions", headers=role(weaker)).status_code == 403
        r = client.post("/api/subscriptions", json={"name": "x", "kind": "webhook"}, headers=role(weaker))
        assert r.status_code == 403
    assert client.get("/api/subscriptions", headers=role("admin")).status_code == 200
    sub_id = create(client)["id"]
    r = client.patch(
        f"/api/subscriptions/{sub_id}", json={"camera_ids": ["cam9"], "enabled": False}, headers=OP
    )
    assert r.status_code == 200 and r.json()["camera_ids"] == ["cam9"] and r.json()["enabled"] is False
    r = client.patch(f"/api/subscriptions/{sub_id}", json={"camera_ids": None}, headers=OP)
    assert r.json()["camera_ids"] == []  # null clears the filter
    assert client.patch(f"/api/subscriptions/{sub_id}", json={"kind": "mqtt"}, headers=OP).status_code == 422
    r = client.patch(f"/api/subscriptions/{sub_id}", json={"url": "gopher://x"}, headers=OP)
    assert r.status_code == 422 and "http:// or https://" in r.text
    assert client.patch(f"/api/subscriptions/{sub_id}", json={"name": None}, headers=OP).status_code == 422
    assert client.delete(f"/api/subscriptions/{sub_id}", headers=OP).status_code == 204
    assert client.get(f"/api/subscriptions/{sub_id}", headers=OP).status_code == 404
    assert client.delete(f"/api/subscriptions/{sub_id}", headers=OP).status_code == 404
    assert client.patch("/api/subscriptions/nope", json={"name": "x"}, headers=OP).status_code == 404


def test_test_send_is_signed_with_the_subscription_secret(
    client: TestClient, ctx: AppContext, receiver: Receiver
) -> None:
    created = create(client, url=receiver.url)
    receiver.state.secret = str(created["secret"])  # the receiver stores the secret shown once
    r = client.post(f"/api/subscriptions/{created['id']}/test", headers=OP)
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["delivered"] is True and result["response_code"] == 200
    [(key, body)] = receiver.state.processed.items()
    assert key == result["idempotency_key"] and body["event"]["attributes"]["test"] is True
    assert body["event"]["camera_id"] == "sightline-test"
    receiver.state.secret = "whsec_rotated_elsewhere_000000"
    r = client.post(f"/api/subscriptions/{created['id']}/test", headers=OP)
    assert r.json()["delivered"] is False and r.json()["response_code"] == 401
    assert client.post("/api/subscriptions/nope/test", headers=OP).status_code == 404


def test_delivery_log_of_an_event(client: TestClient, ctx: AppContext) -> None:
    state = ReceiverState("unused")
    ok = Receiver(state).start()
    try:
        good = create(client, name="good", url=ok.url)
        state.secret = str(good["secret"])
        down = create(client, name="down", url=Receiver(ReceiverState("x")).url)  # never started
        event = make_event()
        ctx.events.add(event)
        assert len(enqueue_for_event(ctx.db, ctx.outbox, event)) == 2
        d = Dispatcher(ctx)
        try:
            d.run_once(wait=True)
        finally:
            d.stop()
    finally:
        ok.stop()
    r = client.get(f"/api/events/{event.id}/deliveries", headers=OP)
    assert r.status_code == 200
    log = {e["subscription_name"]: e for e in r.json()}
    assert log["good"]["status"] == "delivered" and log["good"]["response_code"] == 200
    assert log["good"]["attempts"] == 1 and log["good"]["delivered_at"] is not None
    assert log["good"]["idempotency_key"] == f"{event.id}:{good['id']}"
    assert log["down"]["status"] == "failed" and log["down"]["attempts"] == 1
    assert log["down"]["response_code"] is None and "ConnectError" in log["down"]["last_error"]
    assert log["down"]["next_try_at"] is not None and log["down"]["subscription_id"] == down["id"]
    assert client.get("/api/events/nope/deliveries", headers=OP).status_code == 404
    assert client.get(f"/api/events/{event.id}/deliveries", headers=role("viewer")).status_code == 403
