"""The dispatcher: works the outbox until every delivery is delivered or dead.

Why it works from the table and never from memory: the outbox row is the
only source of truth, so a restart, a crash or a receiver that is away for an
hour loses nothing — the next dispatcher simply finds the rows still due.

How one row is handled:

1. **Claim** (one ``UPDATE … RETURNING``): a due row (``pending``/``failed``,
   ``next_try_at <= now``) gets ``next_try_at = now + lease``. The claim is
   atomic, so two dispatchers on one database never send a row twice at the
   same time, and a row whose dispatcher died mid-send becomes due again when
   the lease runs out: **at-least-once**. The receiver de-duplicates by the
   idempotency key.
2. **Send** on a bounded thread pool: webhook (:mod:`.webhook`) or MQTT
   (:mod:`.mqtt`), each with a hard timeout.
3. **Record**: delivered, failed with the next try from the retry policy, or
   dead — the same columns ``Outbox.mark_delivered`` / ``mark_failed`` set,
   but for every finished send of a round in *one* transaction (one disk
   sync per batch instead of per row; see :meth:`Dispatcher.flush`).

A dead or slow subscriber never blocks the others: at most
``per_subscription`` of its rows are in flight at once, its rows are skipped
by the claim query while it is saturated, and after a retryable failure it is
paused for a short while (up to ``pause_cap_s``), so a receiver that is down
costs one probe per pause instead of one timeout per queued row.

Time for scheduling comes from an injected :class:`~sightline.core.clock.Clock`
(tests move it by hand); the signature timestamp is always real time, because
the receiver checks it against its own clock.
"""

from __future__ import annotations

import functools
import logging
import random
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select, update

from sightline.api.context import AppContext
from sightline.core.clock import Clock, SystemClock
from sightline.core.event import Event
from sightline.core.event_types import EVENT_TYPES
from sightline.delivery.matching import enqueue_missing
from sightline.delivery.mqtt import MqttError, MqttPool, validate_topic_prefix
from sightline.delivery.store import SubscriptionRecord, SubscriptionStore
from sightline.delivery.webhook import Outcome, RetryPolicy, WebhookSender, build_body
from sightline.storage.models import Delivery, Subscription
from sightline.storage.outbox import DeliveryRecord
from sightline.storage.types import from_unix

log = logging.getLogger(__name__)

_DUE = ("pending", "failed")


class DeliverySettings(BaseModel):
    """Knobs of the dispatcher (all have working defaults)."""

    model_config = ConfigDict(extra="forbid")

    concurrency: int = Field(default=16, ge=1, le=256)
    per_subscription: int | None = Field(default=None, ge=1, description="default: half the concurrency")
    timeout_s: float = Field(default=10.0, gt=0, description="per webhook request / MQTT PUBACK")
    poll_interval_s: float = Field(default=1.0, gt=0)
    batch: int = Field(default=100, ge=1, le=1000)
    lease_s: float | None = Field(default=None, gt=0, description="default: 3 x timeout + 30 s")
    pause_cap_s: float = Field(default=60.0, ge=0)
    subscription_cache_s: float = Field(default=2.0, ge=0, description="how long edits may take to apply")
    recover_window_s: float = Field(default=86_400.0, ge=0, description="crash-window sweep at start")
    mqtt_url: str | None = Field(default=None, description="broker for MQTT subscriptions without a URL")
    retry: RetryPolicy = Field(default_factory=RetryPolicy)

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.lease_s or 3 * self.timeout_s + 30)

    @property
    def cap_per_subscription(self) -> int:
        return self.per_subscription or max(1, self.concurrency // 2)


@dataclass
class _Job:
    record: DeliveryRecord
    subscription: SubscriptionRecord
    secret: str | None


@dataclass
class _Result:
    record: DeliveryRecord
    subscription: SubscriptionRecord
    attempt: int
    outcome: Outcome
    at: datetime
    next_try: datetime | None  # None: delivered or dead


class Dispatcher:
    """Delivers outbox rows in a background thread (``start``/``stop``), or
    one round at a time (``run_once``) for tests and tools."""

    def __init__(
        self,
        ctx: AppContext,
        clock: Clock | None = None,
        concurrency: int | None = None,
        *,
        settings: DeliverySettings | None = None,
        sender: WebhookSender | None = None,
        mqtt: MqttPool | None = None,
        rng: random.Random | None = None,
    ) -> None:
        s = settings or DeliverySettings()
        if concurrency is not None:
            s = s.model_copy(update={"concurrency": concurrency})
        self.ctx = ctx
        self.settings = s
        self.clock: Clock = clock or SystemClock()
        self.subscriptions = SubscriptionStore(ctx.db)
        self._own_sender = sender is None
        self.sender = sender or WebhookSender(timeout_s=s.timeout_s)
        self._own_mqtt = mqtt is None
        self.mqtt = mqtt or MqttPool(publish_timeout_s=s.timeout_s)
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._in_flight: Counter[str] = Counter()  # subscription id -> rows being sent
        self._paused: dict[str, datetime] = {}  # subscription id -> until
        self._futures: dict[Future[None], int] = {}  # in flight -> delivery id
        self._results: list[_Result] = []  # finished sends not yet recorded
        self._subs_cache: dict[str, tuple[SubscriptionRecord, str | None]] = {}
        self._subs_loaded_at = float("-inf")
        self._executor: ThreadPoolExecutor | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._recovered = False
        self.counters: Counter[str] = Counter()  # delivered, retried, dead, errors, db_errors

    # -- lifecycle --------------------------------------------------------------

    def start(self) -> Dispatcher:
        """Run in a daemon thread until :meth:`stop`. Sweeps the crash window first."""
        if self._thread is not None and self._thread.is_alive():
            return self
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="delivery-dispatcher", daemon=True)
        self._thread.start()
        return self

    def wake(self) -> None:
        """Look at the outbox now (call after enqueueing) instead of at the next poll."""
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop promptly: no new claims; in-flight sends get up to ``timeout`` seconds.
        A send cut short stays leased and is retried by the next dispatcher."""
        deadline = time.monotonic() + timeout
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(max(0.0, deadline - time.monotonic()))
            self._thread = None
        with self._lock:
            executor, self._executor = self._executor, None
            futures = dict(self._futures)
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
            if futures:
                wait_futures(futures, timeout=max(0.0, deadline - time.monotonic()))
        try:
            self.flush()  # record what finished, so a clean restart re-sends nothing
            # Claimed but never started: hand them back now rather than at lease expiry.
            self._release([i for f, i in futures.items() if f.cancelled()])
        except Exception:
            log.exception("could not record delivery outcomes at stop; those rows will be re-sent")
        if self._own_sender:
            self.sender.close()
        if self._own_mqtt:
            self.mqtt.close()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stats(self) -> dict[str, int]:
        """Counters since start: delivered, retried, dead, errors, db_errors; and in_flight."""
        with self._lock:
            return {**self.counters, "in_flight": sum(self._in_flight.values())}

    def _count(self, name: str) -> None:
        with self._lock:
            self.counters[name] += 1

    # -- the loop ------------------------------------------------------------------

    def _now(self) -> datetime:
        return from_unix(self.clock.now())

    def recover(self) -> int:
        """Enqueue rows for events stored just before a crash (see :mod:`.matching`)."""
        window = timedelta(seconds=self.settings.recover_window_s)
        added = enqueue_missing(self.ctx.db, self.ctx.outbox, window=window, now=self._now())
        self._recovered = True
        return added

    def _loop(self) -> None:
        poll = self.settings.poll_interval_s
        backoff = poll
        while not self._stop.is_set():
            try:
                if not self._recovered and self.settings.recover_window_s > 0:
                    self.recover()
                self.flush()
                claimed = self.run_once()
                backoff = poll
            except Exception:  # the database is away, a bug in one round: log, wait, go on
                self._count("db_errors")
                log.exception("delivery dispatcher round failed; retrying in %.1f s", backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            if claimed == 0:
                self._wake.wait(poll)
                self._wake.clear()

    def run_once(self, wait: bool = False) -> int:
        """Claim what is due (within the free slots) and start sending it.
        Returns how many rows were claimed; ``wait=True`` returns only when they are done."""
        now = self._now()
        s = self.settings
        with self._lock:
            free = s.concurrency - sum(self._in_flight.values())
            saturated = {sid for sid, n in self._in_flight.items() if n >= s.cap_per_subscription}
            self._paused = {sid: t for sid, t in self._paused.items() if t > now}
            excluded = saturated | set(self._paused)
            in_flight = Counter(self._in_flight)
        if free <= 0:
            return 0
        chosen: list[int] = []
        for delivery_id, sid in self._candidates(now, min(s.batch, free * 4), excluded):
            if in_flight[sid] < s.cap_per_subscription:
                in_flight[sid] += 1
                chosen.append(delivery_id)
                if len(chosen) >= free:
                    break
        if not chosen:
            return 0
        records = self._claim(chosen, now, now + s.lease)
        if not records:
            return 0
        subs = self._subscriptions({r.subscription_id for r in records})
        started: list[Future[None]] = []
        for rec in records:
            found = subs.get(rec.subscription_id)
            if found is None:  # deleted between claim and now; its rows are gone too
                continue
            started.append(self._submit(_Job(rec, found[0], found[1])))
        if wait:
            wait_futures(started)
            self.flush()
        return len(records)

    def _subscriptions(self, ids: set[str]) -> dict[str, tuple[SubscriptionRecord, str | None]]:
        """Subscriptions with secrets, cached for ``subscription_cache_s`` (one query
        per round otherwise; an edited URL or secret is used within that time)."""
        ttl = self.settings.subscription_cache_s
        now = time.monotonic()
        with self._lock:
            if now - self._subs_loaded_at > ttl:
                self._subs_cache = {}
                self._subs_loaded_at = now
            missing = ids - set(self._subs_cache)
        if missing:
            loaded = self.subscriptions.with_secrets(missing)
            with self._lock:
                self._subs_cache.update(loaded)
        with self._lock:
            return {i: self._subs_cache[i] for i in ids if i in self._subs_cache}

    def _candidates(self, now: datetime, limit: int, excluded: set[str]) -> list[tuple[int, str]]:
        stmt = (
            select(Delivery.id, Delivery.subscription_id)
            .join(Subscription, Subscription.id == Delivery.subscription_id)
            .where(Delivery.status.in_(_DUE), Delivery.next_try_at <= now, Subscription.enabled.is_(True))
            .order_by(Delivery.next_try_at, Delivery.id)
            .limit(limit)
        )
        if excluded:
            stmt = stmt.where(Delivery.subscription_id.not_in(sorted(excluded)))
        with self.ctx.db.session() as session:
            return [(int(i), str(sid)) for i, sid in session.execute(stmt)]

    def _claim(self, ids: list[int], now: datetime, lease_until: datetime) -> list[DeliveryRecord]:
        stmt = (
            update(Delivery)
            .where(Delivery.id.in_(ids), Delivery.status.in_(_DUE), Delivery.next_try_at <= now)
            .values(next_try_at=lease_until, updated_at=now)
            .returning(*Delivery.__table__.c)
        )
        with self.ctx.db.connect() as conn:
            rows = conn.execute(stmt).mappings().all()
        return sorted((DeliveryRecord.model_validate(dict(r)) for r in rows), key=lambda r: r.id)

    def _release(self, ids: list[int]) -> None:
        if not ids:
            return
        now = self._now()
        stmt = (
            update(Delivery)
            .where(Delivery.id.in_(ids), Delivery.status.in_(_DUE))
            .values(next_try_at=now, updated_at=now)
        )
        with self.ctx.db.connect() as conn:
            conn.execute(stmt)

    def _submit(self, job: _Job) -> Future[None]:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self.settings.concurrency, thread_name_prefix="delivery")
            self._in_flight[job.subscription.id] += 1
            future = self._executor.submit(self._work, job)
            self._futures[future] = job.record.id
        future.add_done_callback(functools.partial(self._done, subscription_id=job.subscription.id))
        return future

    def _done(self, future: Future[None], subscription_id: str) -> None:
        with self._lock:
            self._futures.pop(future, None)
            self._in_flight[subscription_id] -= 1
            if self._in_flight[subscription_id] <= 0:
                del self._in_flight[subscription_id]
        self._wake.set()

    # -- one delivery -------------------------------------------------------------

    def _work(self, job: _Job) -> None:
        rec, sub = job.record, job.subscription
        try:
            attempt = rec.attempt + 1
            event = self.ctx.events.get(rec.event_id)
            if event is None:  # retention removed it; its deliveries normally go with it
                outcome = Outcome("dead", None, f"event {rec.event_id} no longer exists")
            else:
                body = build_body(event, delivery_id=rec.id, key=rec.idempotency_key, attempt=attempt)
                outcome = self._send(sub, job.secret, event, body, rec.idempotency_key, rec.id)
            now = self._now()
            next_try = None
            if outcome.verdict == "retry":
                next_try = self.settings.retry.next_try(attempt, now, self._rng)
                if next_try is not None:  # probe this subscriber again only after a while
                    until = now + min(next_try - now, timedelta(seconds=self.settings.pause_cap_s))
                    with self._lock:
                        self._paused[sub.id] = max(self._paused.get(sub.id, until), until)
            with self._lock:
                self._results.append(_Result(rec, sub, attempt, outcome, now, next_try))
        except Exception:
            # Reading the event failed (database away) or a bug: the row stays
            # leased and is sent again when the lease runs out (at-least-once).
            self._count("errors")
            log.exception("delivery %s (subscription %s) failed unexpectedly", rec.id, sub.id)

    def flush(self) -> int:
        """Record the outcomes of finished sends, all in one transaction.

        Why batched: each commit costs a disk sync (milliseconds on SQLite),
        so one commit per batch instead of per row is what lets delivery keep
        up with hundreds of events per second. If the write fails, the
        outcomes are kept and written by the next round; if the process dies
        first, the rows are still leased and are sent again (at-least-once)."""
        with self._lock:
            results, self._results = self._results, []
        if not results:
            return 0
        try:
            self._write_results(results)
        except Exception:
            with self._lock:
                self._results = results + self._results
            raise
        for r in results:
            self._log_result(r)
        return len(results)

    def _write_results(self, results: list[_Result]) -> None:
        rows: list[dict[str, Any]] = []
        for r in results:
            row: dict[str, Any] = {"id": r.record.id, "attempt": r.attempt, "updated_at": r.at}
            row["response_code"] = r.outcome.response_code
            if r.outcome.verdict == "delivered":
                row.update(status="delivered", delivered_at=r.at, last_error=None)
            else:
                row.update(status="dead" if r.next_try is None else "failed")
                row["last_error"] = (r.outcome.error or r.outcome.verdict)[:2000]
                if r.next_try is not None:
                    row["next_try_at"] = r.next_try
            rows.append(row)
        with self.ctx.db.session() as session:
            session.execute(update(Delivery), rows)  # ORM bulk UPDATE by primary key

    def _log_result(self, r: _Result) -> None:
        verdict = r.outcome.verdict
        if verdict == "delivered":
            self._count("delivered")
        elif r.next_try is None:
            self._count("dead")
            log.warning(
                "delivery %s to subscription %s (%s) is dead after %d attempt(s): %s",
                r.record.id, r.subscription.id, r.subscription.name, r.attempt, r.outcome.error,
            )  # fmt: skip
        else:
            self._count("retried")
            log.info(
                "delivery %s attempt %d failed (%s); next try %s",
                r.record.id, r.attempt, r.outcome.error, r.next_try.isoformat(),
            )  # fmt: skip

    def _send(
        self,
        sub: SubscriptionRecord,
        secret: str | None,
        event: Event,
        body: bytes,
        key: str,
        delivery_id: int | None,
    ) -> Outcome:
        if sub.kind == "webhook":
            if not sub.url:
                return Outcome("dead", None, "webhook subscription has no URL")
            return self.sender.send(
                sub.url, body, secret=secret, key=key, event_type=event.type, delivery_id=delivery_id
            )
        url = sub.url or self.settings.mqtt_url
        if not url:
            return Outcome("retry", None, "no MQTT broker: set the subscription's url (mqtt://host:port)")
        try:
            prefix = validate_topic_prefix(sub.topic or "")
            self.mqtt.get(url).publish_event({"camera_id": event.camera_id, "type": event.type},
                                             prefix=prefix, payload=body)  # fmt: skip
        except ValueError as err:
            return Outcome("dead", None, str(err))
        except MqttError as err:
            return Outcome("retry", None, str(err))
        return Outcome("delivered", None)

    # -- test event ---------------------------------------------------------------

    def send_test(self, subscription_id: str) -> TestDelivery:
        """Send a signed test event to one subscription now (not through the outbox)."""
        return send_test_event(self.ctx, subscription_id, sender=self.sender, mqtt=self.mqtt,
                               mqtt_url=self.settings.mqtt_url, dispatcher=self)  # fmt: skip


class TestDelivery(BaseModel):
    """Result of ``POST /api/subscriptions/{id}/test``."""

    __test__ = False  # not a pytest class

    delivered: bool
    verdict: str
    response_code: int | None
    error: str | None
    idempotency_key: str
    event: dict[str, Any]


def make_test_event(now: float | None = None) -> Event:
    """A recognisable test event: camera ``sightline-test``, ``attributes.test = true``."""
    return Event(
        id=f"test-{uuid.uuid4().hex}",
        type="line.cross" if "line.cross" in EVENT_TYPES else next(iter(EVENT_TYPES)),
        rule_id="sightline-test",
        camera_id="sightline-test",
        pts=0.0,
        wall_time=time.time() if now is None else now,
        attributes={"test": True, "message": "Test delivery from Sightline"},
    )


def send_test_event(
    ctx: AppContext,
    subscription_id: str,
    *,
    sender: WebhookSender | None = None,
    mqtt: MqttPool | None = None,
    mqtt_url: str | None = None,
    dispatcher: Dispatcher | None = None,
) -> TestDelivery:
    """Deliver a test event to one subscription, signed like a real one."""
    store = SubscriptionStore(ctx.db)
    sub = store.get(subscription_id)
    if sub is None:
        raise LookupError(subscription_id)
    secret = store.secrets_for([sub.id]).get(sub.id)
    event = make_test_event()
    key = f"{event.id}:{sub.id}"
    body = build_body(event, delivery_id=None, key=key, attempt=1)
    own_sender = sender is None
    own_mqtt = mqtt is None
    d = dispatcher or Dispatcher(
        ctx,
        settings=DeliverySettings(mqtt_url=mqtt_url),
        sender=sender or WebhookSender(),
        mqtt=mqtt or MqttPool(),
    )
    try:
        outcome = d._send(sub, secret, event, body, key, None)
    finally:
        if dispatcher is None:
            if own_sender:
                d.sender.close()
            if own_mqtt:
                d.mqtt.close()
    return TestDelivery(
        delivered=outcome.verdict == "delivered",
        verdict=outcome.verdict,
        response_code=outcome.response_code,
        error=outcome.error,
        idempotency_key=key,
        event=event.model_dump(mode="json"),
    )
