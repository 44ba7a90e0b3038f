"""Webhook delivery: the signed request, the receiver's check, the retry policy.

Why this format (close to what Stripe / Standard Webhooks do, so receivers
know it): the body is the Event JSON inside a small envelope that carries the
delivery id, the idempotency key and the attempt number; the signature
``X-Sightline-Signature: t=<unix>,v1=<hex>`` is HMAC-SHA256 with the
subscription's secret over ``f"{t}.{body}"``. Signing the timestamp with the
body lets a receiver refuse replays older than a tolerance; the ``v1=``
scheme prefix lets us add a new algorithm later, and several ``v1=`` entries
may be present while a secret is being rotated.

Outcome of one attempt:

- 2xx: delivered;
- 408, 429, 5xx, timeouts, connection errors: try again later, with
  exponential back-off and jitter (:class:`RetryPolicy`), until
  ``max_attempts``, then dead;
- any other status (4xx, 3xx — redirects are not followed, the URL is
  wrong): dead at once; retrying a request the receiver rejects as bad
  cannot succeed, and the last error stays in the delivery log.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field

from sightline import __version__
from sightline.core.event import Event

SIGNATURE_HEADER = "X-Sightline-Signature"
IDEMPOTENCY_HEADER = "X-Sightline-Idempotency-Key"
EVENT_TYPE_HEADER = "X-Sightline-Event-Type"
DELIVERY_HEADER = "X-Sightline-Delivery"
USER_AGENT = f"Sightline-Webhook/{__version__}"
DEFAULT_TOLERANCE_S = 300
_ERROR_SNIPPET = 300

Verdict = Literal["delivered", "retry", "dead"]


# -- body and signature ---------------------------------------------------------


def event_json(event: Event | dict[str, Any]) -> dict[str, Any]:
    """The Event as JSON: exactly the fields of :class:`Event` (a stored
    ``EventRecord``'s review status and trace are not part of the contract)."""
    if isinstance(event, dict):
        return event
    return event.model_dump(mode="json", include=set(Event.model_fields))


def build_body(event: Event | dict[str, Any], *, delivery_id: int | None, key: str, attempt: int) -> bytes:
    """The request body: ``{"event": ..., "delivery": {"id", "idempotency_key", "attempt"}}``
    as compact UTF-8 JSON. Sign and send these exact bytes."""
    envelope = {
        "event": event_json(event),
        "delivery": {"id": delivery_id, "idempotency_key": key, "attempt": attempt},
    }
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode()


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The ``X-Sightline-Signature`` value: ``t=<unix>,v1=<hex hmac_sha256(secret, f"{t}.{body}")>``."""
    return f"t={timestamp},v1={_digest(secret, timestamp, body)}"


def verify_signature(
    secret: str,
    header: str | None,
    body: bytes,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    now: float | None = None,
) -> bool:
    """For receivers: is ``header`` a valid signature of the raw ``body`` with
    ``secret``, made within ``tolerance_s`` seconds of ``now``?

    Pass the body bytes exactly as received (before any JSON parsing). Any
    one of several ``v1=`` entries may match. Constant-time comparison.
    """
    if not header:
        return False
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t":
            try:
                timestamp = int(value)
            except ValueError:
                return False
        elif name == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_s:
        return False
    expected = _digest(secret, timestamp, body)
    return any(hmac.compare_digest(expected, c) for c in candidates)


def headers_for(
    *, secret: str | None, body: bytes, timestamp: int, key: str, event_type: str, delivery_id: int | None
) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        IDEMPOTENCY_HEADER: key,
        EVENT_TYPE_HEADER: event_type,
    }
    if delivery_id is not None:
        headers[DELIVERY_HEADER] = str(delivery_id)
    if secret:
        headers[SIGNATURE_HEADER] = sign(secret, body, timestamp)
    return headers


# -- retry policy -----------------------------------------------------------------


class RetryPolicy(BaseModel):
    """Exponential back-off with jitter: after failed attempt ``n`` (1-based) wait
    ``min(cap_s, base_s * 2**(n-1))``, of which the last ``jitter`` fraction is
    random (so many deliveries failing together do not retry in lock-step).
    After ``max_attempts`` failed attempts the delivery is dead.

    Defaults: 2 s, 4 s, 8 s … capped at 10 min; 20 attempts span about two
    hours, long enough for a receiver's restart or a short outage."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_s: float = Field(default=2.0, gt=0)
    cap_s: float = Field(default=600.0, gt=0)
    max_attempts: int = Field(default=20, ge=1)
    jitter: float = Field(default=0.5, ge=0.0, le=1.0)

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        exp = min(self.cap_s, self.base_s * 2.0 ** max(0, attempt - 1))
        r = (rng or random).random()
        return exp * (1.0 - self.jitter) + exp * self.jitter * r

    def next_try(self, attempt: int, now: datetime, rng: random.Random | None = None) -> datetime | None:
        """When to try again after failed attempt ``attempt``; None: give up (dead)."""
        if attempt >= self.max_attempts:
            return None
        return now + timedelta(seconds=self.delay(attempt, rng))


# -- sending ------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What one attempt achieved."""

    verdict: Verdict
    response_code: int | None = None
    error: str | None = None


def classify_status(code: int) -> Verdict:
    """2xx delivered; 408/429/5xx retry; everything else dead."""
    if 200 <= code < 300:
        return "delivered"
    if code in (408, 429) or code >= 500:
        return "retry"
    return "dead"


class WebhookSender:
    """POSTs signed bodies with a shared, pooled ``httpx.Client``.

    Every request has a hard timeout (connect, read, write, pool), so one
    receiver that hangs holds one worker for at most ``timeout_s``.
    Thread-safe (``httpx.Client`` is)."""

    def __init__(self, timeout_s: float = 10.0, client: httpx.Client | None = None) -> None:
        self.timeout_s = timeout_s
        self._own_client = client is None
        self.client = client or httpx.Client(
            timeout=httpx.Timeout(timeout_s, connect=min(5.0, timeout_s)),
            follow_redirects=False,
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
        )

    def send(
        self,
        url: str,
        body: bytes,
        *,
        secret: str | None,
        key: str,
        event_type: str,
        delivery_id: int | None,
        timestamp: int | None = None,
    ) -> Outcome:
        """One attempt; never raises for network trouble (it becomes an Outcome)."""
        t = int(time.time()) if timestamp is None else timestamp
        headers = headers_for(
            secret=secret, body=body, timestamp=t, key=key, event_type=event_type, delivery_id=delivery_id
        )
        try:
            with self.client.stream("POST", url, content=body, headers=headers) as response:
                code = response.status_code
                snippet = b""
                if not 200 <= code < 300:
                    for chunk in response.iter_bytes():
                        snippet += chunk
                        if len(snippet) >= _ERROR_SNIPPET:
                            break
        except httpx.TimeoutException as err:
            return Outcome("retry", None, f"timeout after {self.timeout_s:g} s ({type(err).__name__})")
        except httpx.TransportError as err:
            return Outcome("retry", None, f"{type(err).__name__}: {err}"[:_ERROR_SNIPPET])
        verdict = classify_status(code)
        if verdict == "delivered":
            return Outcome("delivered", code)
        text = snippet[:_ERROR_SNIPPET].decode("utf-8", "replace").strip()
        error = f"HTTP {code}" + (f": {text}" if text else "")
        if 300 <= code < 400:
            error += f" (redirect to {response.headers.get('location', '?')}; redirects are not followed)"
        return Outcome(verdict, code, error)

    def close(self) -> None:
        if self._own_client:
            self.client.close()
