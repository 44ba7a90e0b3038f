"""Routes: subscriptions (E4) and the delivery log of an event.

Who may: operators and admins manage subscriptions and read delivery logs
(they show where events go). The signing secret of a webhook is generated
when not given and returned **once**, in the response to the create (or
rotate-secret) call; no other response contains it, so a leaked list or log
never leaks a secret.

Targets are validated here so a typo fails at once with a clear message, not
later as a dead delivery: webhooks need an ``http(s)://host…`` URL; MQTT
subscriptions need a topic prefix (``site1/events``, no wildcards) and may
name their broker as ``mqtt://host:port`` (default: the server's broker).
"""

from __future__ import annotations

import os
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response
from pydantic import BaseModel, Field, StringConstraints, field_validator, model_validator

from sightline.api.audit import audit
from sightline.api.context import AppContext
from sightline.api.deps import Principal, get_ctx, require_all_departments
from sightline.api.schemas.common import Label, RequestModel
from sightline.core.event_types import EVENT_TYPES
from sightline.delivery.dispatcher import Dispatcher, TestDelivery, send_test_event
from sightline.delivery.hooks import DISPATCHER_KEY, MQTT_URL_ENV
from sightline.delivery.mqtt import parse_mqtt_url, validate_topic_prefix
from sightline.delivery.store import (
    DeliveryLogEntry,
    SubscriptionNotFound,
    SubscriptionRecord,
    SubscriptionStore,
)

router = APIRouter(tags=["subscriptions"])

# Subscriptions deliver events of every camera: department-scoped callers may not use them.
Operator = Annotated[
    Principal, Depends(require_all_departments("operator", "subscriptions and delivery logs"))
]
Ctx = Annotated[AppContext, Depends(get_ctx)]
SubscriptionId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f/]+$")]
FilterItem = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
FilterList = Annotated[list[FilterItem], Field(max_length=200)]
Secret = Annotated[str, StringConstraints(min_length=16, max_length=200, pattern=r"^[\x21-\x7e]+$")]

MAX_URL = 2000


def _check_webhook_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"webhook url must be http:// or https:// with a host, e.g. https://example.com/hook; got {url!r}"
        )
    if parts.username or parts.password:
        raise ValueError("put no credentials in the webhook url; the receiver checks the signature instead")
    return url.strip()


def _check_broker_url(url: str) -> str:
    parse_mqtt_url(url.strip())  # raises ValueError with the fix
    return url.strip()


def _known_event_types(v: list[str]) -> list[str]:
    unknown = sorted(set(v) - set(EVENT_TYPES))
    if unknown:
        raise ValueError(f"unknown event type(s) {unknown}; known: {sorted(EVENT_TYPES)}")
    return v


class _Filters(RequestModel):
    event_types: FilterList = Field(default_factory=list, description="type codes; empty = all")
    camera_ids: FilterList = Field(default_factory=list, description="camera ids; empty = all")
    zone_ids: FilterList = Field(default_factory=list, description="zone or line ids; empty = all")
    regions: FilterList = Field(default_factory=list, description="camera regions; empty = all")

    @field_validator("event_types")
    @classmethod
    def _known_types(cls, v: list[str]) -> list[str]:
        return _known_event_types(v)


class SubscriptionIn(_Filters):
    """A new subscription. ``secret`` (webhooks) is generated when omitted."""

    name: Label
    kind: Literal["webhook", "mqtt"]
    url: str | None = Field(default=None, max_length=MAX_URL, description="webhook URL, or MQTT broker URL")
    topic: str | None = Field(default=None, max_length=300, description="MQTT topic prefix")
    secret: Secret | None = Field(default=None, description="HMAC key for webhooks; generated if omitted")
    enabled: bool = True

    @model_validator(mode="after")
    def _target(self) -> SubscriptionIn:
        _validate_target(self.kind, self.url, self.topic)
        return self


def _validate_target(kind: str, url: str | None, topic: str | None) -> None:
    if kind == "webhook":
        if not url:
            raise ValueError("a webhook subscription needs a url (http:// or https://)")
        _check_webhook_url(url)
        if topic:
            raise ValueError("topic is for MQTT subscriptions; leave it out for a webhook")
    else:
        if not topic:
            raise ValueError("an MQTT subscription needs a topic prefix, e.g. 'sightline/events'")
        validate_topic_prefix(topic)
        if url:
            _check_broker_url(url)


class SubscriptionPatch(RequestModel):
    """Fields to change; the kind cannot change (create a new subscription)."""

    name: Label | None = None
    url: str | None = Field(default=None, max_length=MAX_URL)
    topic: str | None = Field(default=None, max_length=300)
    event_types: FilterList | None = None
    camera_ids: FilterList | None = None
    zone_ids: FilterList | None = None
    regions: FilterList | None = None
    enabled: bool | None = None

    @field_validator("event_types")
    @classmethod
    def _known_types(cls, v: list[str] | None) -> list[str] | None:
        return None if v is None else _known_event_types(v)


class SubscriptionCreated(SubscriptionRecord):
    """The new subscription with its secret — shown this once only."""

    secret: str | None = Field(description="store it now: it is never shown again")


class SecretOut(BaseModel):
    secret: str = Field(description="the new signing secret; store it now: it is never shown again")


def _details(record: SubscriptionRecord) -> dict[str, Any]:
    return record.model_dump(mode="json", exclude={"created_at", "updated_at", "has_secret"})


def _not_found(subscription_id: str) -> HTTPException:
    return HTTPException(404, f"no subscription {subscription_id!r}; list them with GET /api/subscriptions")


@router.get("/api/subscriptions", response_model=list[SubscriptionRecord])
def list_subscriptions(_: Operator, ctx: Ctx) -> list[SubscriptionRecord]:
    return SubscriptionStore(ctx.db).list()


@router.post("/api/subscriptions", status_code=201, response_model=SubscriptionCreated)
def create_subscription(
    body: SubscriptionIn, principal: Operator, ctx: Ctx, request: Request
) -> SubscriptionCreated:
    record, secret = SubscriptionStore(ctx.db).create(**body.model_dump())
    audit(ctx, principal, "subscription.create", record.id, _details(record), request=request)
    return SubscriptionCreated(**record.model_dump(), secret=secret)


@router.get("/api/subscriptions/{subscription_id}", response_model=SubscriptionRecord)
def get_subscription(subscription_id: SubscriptionId, _: Operator, ctx: Ctx) -> SubscriptionRecord:
    record = SubscriptionStore(ctx.db).get(subscription_id)
    if record is None:
        raise _not_found(subscription_id)
    return record


@router.patch("/api/subscriptions/{subscription_id}", response_model=SubscriptionRecord)
def update_subscription(
    subscription_id: SubscriptionId, body: SubscriptionPatch, principal: Operator, ctx: Ctx, request: Request
) -> SubscriptionRecord:
    store = SubscriptionStore(ctx.db)
    current = store.get(subscription_id)
    if current is None:
        raise _not_found(subscription_id)
    changes = body.model_dump(exclude_unset=True)
    for key in ("name", "enabled"):
        if key in changes and changes[key] is None:
            raise HTTPException(422, f"{key} cannot be null")
    for key in _Filters.model_fields:
        if key in changes and changes[key] is None:
            changes[key] = []  # null clears a filter: "all"
    try:
        _validate_target(current.kind, changes.get("url", current.url), changes.get("topic", current.topic))
    except ValueError as err:
        raise HTTPException(422, str(err)) from None
    try:
        record = store.update(subscription_id, changes)
    except SubscriptionNotFound:
        raise _not_found(subscription_id) from None
    audit(ctx, principal, "subscription.update", subscription_id, {"changes": changes}, request=request)
    return record


@router.delete("/api/subscriptions/{subscription_id}", status_code=204)
def delete_subscription(
    subscription_id: SubscriptionId, principal: Operator, ctx: Ctx, request: Request
) -> Response:
    """Delete it with its pending deliveries (the delivery log of past events goes too)."""
    store = SubscriptionStore(ctx.db)
    current = store.get(subscription_id)
    if current is None or not store.delete(subscription_id):
        raise _not_found(subscription_id)
    audit(ctx, principal, "subscription.delete", subscription_id, _details(current), request=request)
    return Response(status_code=204)


@router.post("/api/subscriptions/{subscription_id}/rotate-secret", response_model=SecretOut)
def rotate_secret(
    subscription_id: SubscriptionId, principal: Operator, ctx: Ctx, request: Request
) -> SecretOut:
    """A new signing secret, effective for the next attempt (shown once)."""
    try:
        secret = SubscriptionStore(ctx.db).rotate_secret(subscription_id)
    except SubscriptionNotFound:
        raise _not_found(subscription_id) from None
    audit(ctx, principal, "subscription.rotate_secret", subscription_id, request=request)
    return SecretOut(secret=secret)


@router.post("/api/subscriptions/{subscription_id}/test", response_model=TestDelivery)
def test_subscription(
    subscription_id: SubscriptionId, principal: Operator, ctx: Ctx, request: Request
) -> TestDelivery:
    """Send a signed test event now (camera ``sightline-test``, ``attributes.test = true``),
    bypassing the outbox; the answer says whether the receiver accepted it."""
    dispatcher = ctx.extra.get(DISPATCHER_KEY)
    try:
        if isinstance(dispatcher, Dispatcher):
            result = dispatcher.send_test(subscription_id)
        else:
            result = send_test_event(ctx, subscription_id, mqtt_url=os.environ.get(MQTT_URL_ENV) or None)
    except LookupError:
        raise _not_found(subscription_id) from None
    audit(
        ctx,
        principal,
        "subscription.test",
        subscription_id,
        {"verdict": result.verdict, "response_code": result.response_code},
        request=request,
    )
    return result


@router.get("/api/events/{event_id}/deliveries", response_model=list[DeliveryLogEntry])
def event_deliveries(event_id: SubscriptionId, _: Operator, ctx: Ctx) -> list[DeliveryLogEntry]:
    """The delivery log of one event: one entry per subscription, with attempts,
    status, last response code and error, and timestamps."""
    if ctx.events.get(event_id) is None:
        raise HTTPException(404, f"no event {event_id!r}")
    return SubscriptionStore(ctx.db).delivery_log(event_id)
