"""SQLAlchemy 2 models: the platform's durable state.

Why this shape:

- **String primary keys** (uuid hex, or the id a user gave a camera) for
  things that are named in URLs, configs and webhook bodies; the ``Event.id``
  made by the pipeline is the row's key, so storing an event twice is a no-op.
  Append-only history (reviews, comments, deliveries, audit) uses
  auto-increment integers, which also give a cheap insertion order.
- **Events do not reference cameras or tasks by foreign key.** Evidence must
  outlive the camera or task that produced it (a camera is replaced, the
  events of last month are still evidence), and the pipeline may emit for a
  camera that is configured only in YAML.
- Everything that hangs off an event (reviews, hazard tickets and their
  comments, deliveries) is deleted with it by ``ON DELETE CASCADE``, so
  retention is a single ``DELETE FROM events``. Retention never deletes a
  protected event (see :mod:`sightline.storage.retention`).
- **Time**: ``events.wall_time`` is UNIX seconds as a double, exactly the
  ``Event.wall_time`` float, so an event round-trips bit for bit and keyset
  cursors compare exactly; searches, sorting and statistics use it (days are
  computed arithmetically, which is portable and allows a time-zone offset).
  ``events.occurred_at`` holds the same instant as a UTC timestamp for people
  and tools (psql, Grafana, BI) that group with ``date_trunc``/``date()``.
  Every other timestamp is an aware UTC datetime (:class:`UTCDateTime`).
- Enumerations are short strings guarded by CHECK constraints (readable in SQL,
  no PostgreSQL ENUM types to migrate).
- Constraint names follow one naming convention so Alembic can alter them on
  every backend (SQLite batch mode recreates tables by name).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from sightline.storage.encrypted import EncryptedText
from sightline.storage.types import BigIntPK, JSONType, UTCDateTime, utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

EVENT_STATUSES = ("pending", "true", "false", "ignored")
HAZARD_STATES = ("reported", "rectifying", "verifying", "accepted")
ROLES = ("admin", "operator", "reviewer", "viewer")
TASK_DESIRED_STATES = ("running", "stopped")
TASK_STATUSES = ("created", "starting", "running", "stopping", "stopped", "error", "finished")
SUBSCRIPTION_KINDS = ("webhook", "mqtt")
DELIVERY_STATUSES = ("pending", "delivered", "failed", "dead")
EVENT_OUTCOMES = ("passed", "blocked")  # what the strategy chain decided (P1, P2)

ID_LEN = 64
BLOB_KEY_LEN = 80  # 64 hex digits + "." + extension


def _one_of(column: str, values: tuple[str, ...], name: str) -> CheckConstraint:
    allowed = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=name)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class _Timestamps:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Camera(_Timestamps, Base):
    """A camera or file source (C1). ``url`` may carry credentials: never log
    it, use :func:`sightline.sources.config.redact_url`; stored encrypted
    (:mod:`sightline.storage.encrypted`)."""

    __tablename__ = "cameras"
    __table_args__ = (
        CheckConstraint("latitude IS NULL OR (latitude >= -90 AND latitude <= 90)", name="latitude_range"),
        CheckConstraint(
            "longitude IS NULL OR (longitude >= -180 AND longitude <= 180)", name="longitude_range"
        ),
        Index("ix_cameras_region", "region"),
        Index("ix_cameras_department", "department"),
    )

    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(EncryptedText)  # may hold user:password@, so encrypted at rest
    latitude: Mapped[float | None] = mapped_column(Double)
    longitude: Mapped[float | None] = mapped_column(Double)
    region: Mapped[str | None] = mapped_column(String(100))
    department: Mapped[str | None] = mapped_column(String(100))
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)  # "a/b/c/d" paths, up to 4 levels
    zones: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)  # Zone.model_dump()
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)  # Line.model_dump()
    source_options: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)  # SourceConfig fields
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)

    def __repr__(self) -> str:  # no url: it may hold a password
        return f"Camera(id={self.id!r}, name={self.name!r})"


class Task(_Timestamps, Base):
    """An analysis task: one camera, one algorithm, its config and schedule (T1)."""

    __tablename__ = "tasks"
    __table_args__ = (
        _one_of("desired_state", TASK_DESIRED_STATES, "desired_state"),
        _one_of("status", TASK_STATUSES, "status"),
        Index("ix_tasks_camera_id", "camera_id"),
    )

    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    algorithm: Mapped[str] = mapped_column(String(200))  # "vendor/name@vN"
    config: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)  # AnalysisConfig.model_dump()
    schedule: Mapped[dict[str, Any] | None] = mapped_column(JSONType)  # None = always
    desired_state: Mapped[str] = mapped_column(String(16), default="stopped")
    status: Mapped[str] = mapped_column(String(16), default="created")
    last_error: Mapped[str | None] = mapped_column(Text)


class EventRow(Base):
    """One event (E1). Mapped to and from :class:`sightline.core.event.Event`
    by :mod:`sightline.storage.events`; ``status`` is the latest review."""

    __tablename__ = "events"
    __table_args__ = (
        _one_of("status", EVENT_STATUSES, "status"),
        _one_of("outcome", EVENT_OUTCOMES, "outcome"),
        # Each search index ends in (wall_time, id): the keyset order, so a
        # filtered, sorted page is an index range scan with no sort step.
        Index("ix_events_camera_id_wall_time", "camera_id", "wall_time", "id"),
        Index("ix_events_type_wall_time", "type", "wall_time", "id"),
        Index("ix_events_status_wall_time", "status", "wall_time", "id"),
        # Review queues are per type (E2): "pending line.cross, oldest first"
        # and its count are a range of this index (count 40 ms -> 3 ms at 100k
        # events on SQLite; costs ~35 % on bulk insert, see bench/events_search.py).
        # Queues show passed events only, hence outcome before wall_time.
        Index("ix_events_type_status_outcome_wall_time", "type", "status", "outcome", "wall_time", "id"),
        Index("ix_events_wall_time", "wall_time", "id"),
        # Effectiveness statistics (P4: raw / passed / blocked per type, camera,
        # day) and "passed only" counts over a time range: index-only scans.
        Index("ix_events_wall_time_type_camera_id_outcome", "wall_time", "type", "camera_id", "outcome"),
        # Blob reference checks (retention deletes a blob only when no row uses it).
        Index("ix_events_snapshot_blob", "snapshot_blob"),
        Index("ix_events_crop_blob", "crop_blob"),
        Index("ix_events_preview_blob", "preview_blob"),
    )

    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    type: Mapped[str] = mapped_column(String(64))
    rule_id: Mapped[str] = mapped_column(String(ID_LEN))
    camera_id: Mapped[str] = mapped_column(String(ID_LEN))
    task_id: Mapped[str | None] = mapped_column(String(ID_LEN))
    pts: Mapped[float] = mapped_column(Double)
    wall_time: Mapped[float] = mapped_column(Double)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    frame_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    track_id: Mapped[int | None] = mapped_column(BigInteger)
    class_name: Mapped[str | None] = mapped_column(String(64))
    confidence: Mapped[float] = mapped_column(Double, default=0.0)
    zone_id: Mapped[str | None] = mapped_column(String(ID_LEN))
    line_id: Mapped[str | None] = mapped_column(String(ID_LEN))
    direction: Mapped[str | None] = mapped_column(String(16))
    boxes: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    trace: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)  # strategy steps (P2)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    # The strategy decision (P2). Blocked events keep their row and crop only,
    # so they can be inspected and back-tested; searches show passed ones.
    outcome: Mapped[str] = mapped_column(String(16), default="passed", server_default="passed")
    blocked_by: Mapped[str | None] = mapped_column(String(ID_LEN))  # element id
    strategy_id: Mapped[str | None] = mapped_column(String(ID_LEN))
    strategy_version: Mapped[int | None] = mapped_column(Integer)
    snapshot_blob: Mapped[str | None] = mapped_column(String(BLOB_KEY_LEN))
    crop_blob: Mapped[str | None] = mapped_column(String(BLOB_KEY_LEN))
    preview_blob: Mapped[str | None] = mapped_column(String(BLOB_KEY_LEN))
    frame_width: Mapped[int | None] = mapped_column(Integer)
    frame_height: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)  # when stored
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Review(Base):
    """One review decision; the rows of an event are its review history and
    ``events.status`` mirrors the latest. A row with status ``pending`` means a
    reviewer claimed the event (or reopened it): it is then *under review*."""

    __tablename__ = "reviews"
    __table_args__ = (
        _one_of("status", EVENT_STATUSES, "status"),
        Index("ix_reviews_event_id_id", "event_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))
    reviewer_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class HazardTicket(_Timestamps, Base):
    """A hazard raised from an event (seed 000): reported → rectifying →
    verifying → accepted, with an assignee. One ticket per event."""

    __tablename__ = "hazard_tickets"
    __table_args__ = (
        _one_of("state", HAZARD_STATES, "state"),
        Index("ix_hazard_tickets_state", "state"),
    )

    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), unique=True)
    state: Mapped[str] = mapped_column(String(16), default="reported")
    title: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    reporter_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    assignee_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class HazardComment(Base):
    """A comment on a ticket; a state change is a comment with from/to states."""

    __tablename__ = "hazard_comments"
    __table_args__ = (Index("ix_hazard_comments_ticket_id_id", "ticket_id", "id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("hazard_tickets.id", ondelete="CASCADE"))
    author_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text, default="")
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Subscription(_Timestamps, Base):
    """Who wants which events (E4). Empty filter lists mean "all"."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        _one_of("kind", SUBSCRIPTION_KINDS, "kind"),
        CheckConstraint(
            "(kind = 'webhook' AND url IS NOT NULL) OR (kind = 'mqtt' AND topic IS NOT NULL)",
            name="target",
        ),
    )

    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    url: Mapped[str | None] = mapped_column(Text)  # webhook
    topic: Mapped[str | None] = mapped_column(String(300))  # MQTT
    secret: Mapped[str | None] = mapped_column(EncryptedText)  # HMAC key, encrypted at rest
    event_types: Mapped[list[str]] = mapped_column(JSONType, default=list)
    camera_ids: Mapped[list[str]] = mapped_column(JSONType, default=list)
    zone_ids: Mapped[list[str]] = mapped_column(JSONType, default=list)
    regions: Mapped[list[str]] = mapped_column(JSONType, default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)

    def __repr__(self) -> str:  # no url/secret
        return f"Subscription(id={self.id!r}, name={self.name!r}, kind={self.kind!r})"


class Delivery(_Timestamps, Base):
    """Outbox row: one event for one subscription (at-least-once, E4).

    ``idempotency_key`` is unique, so enqueueing the same event for the same
    subscription twice (a retried request, a replay) adds nothing; receivers
    get it in a header to de-duplicate. The dispatcher polls
    ``status IN ('pending', 'failed') AND next_try_at <= now`` — the
    ``(status, next_try_at)`` index serves exactly that.
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        _one_of("status", DELIVERY_STATUSES, "status"),
        Index("ix_deliveries_status_next_try_at", "status", "next_try_at"),
        Index("ix_deliveries_event_id", "event_id"),
        Index("ix_deliveries_subscription_id", "subscription_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    subscription_id: Mapped[str] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"))
    idempotency_key: Mapped[str] = mapped_column(String(160), unique=True)
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    next_try_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    response_code: Mapped[int | None] = mapped_column(Integer)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class User(_Timestamps, Base):
    """A person who signs in (C5). Only a password hash is stored."""

    __tablename__ = "users"
    __table_args__ = (_one_of("role", ROLES, "role"),)

    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16))
    departments: Mapped[list[str]] = mapped_column(JSONType, default=list)  # empty = all
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def __repr__(self) -> str:  # no password hash
        return f"User(id={self.id!r}, username={self.username!r}, role={self.role!r})"


class ApiKey(Base):
    """An application's API key (C2). Only a hash of the key is stored;
    ``key_prefix`` (the first characters) lets people tell keys apart."""

    __tablename__ = "api_keys"
    __table_args__ = (_one_of("role", ROLES, "role"),)

    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    key_hash: Mapped[str] = mapped_column(String(128), unique=True)
    key_prefix: Mapped[str] = mapped_column(String(16), default="")
    role: Mapped[str] = mapped_column(String(16))
    departments: Mapped[list[str]] = mapped_column(JSONType, default=list)
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AuditRecord(Base):
    """Who did what to what (C5). ``prev_hash``/``hash`` are the HMAC chain that
    makes the log tamper-evident (:mod:`sightline.security.audit_chain`)."""

    __tablename__ = "audit_records"
    __table_args__ = (
        Index("ix_audit_records_at", "at"),
        Index("ix_audit_records_actor_at", "actor", "at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100))
    target: Mapped[str | None] = mapped_column(String(300))
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    prev_hash: Mapped[str | None] = mapped_column(String(128))
    hash: Mapped[str | None] = mapped_column(String(128))


class LoginSession(Base):
    """A signed-in browser or client. Only the SHA-256 of the token is stored,
    so a copy of the database gives nobody a usable token. A session ends at
    ``expires_at`` or when ``revoked_at`` is set (logout, password change,
    account disabled); rows are purged a while after they end."""

    __tablename__ = "sessions"
    __table_args__ = (
        Index("ix_sessions_user_id", "user_id"),
        Index("ix_sessions_expires_at", "expires_at"),
    )

    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def __repr__(self) -> str:  # no token hash
        return f"LoginSession(id={self.id!r}, user_id={self.user_id!r})"


class Strategy(_Timestamps, Base):
    """A strategy (P1): an ordered chain of elements bound to cameras and
    event types. The chain itself lives in its versions; ``current_version``
    is the one that runs. Empty ``cameras``/``event_types`` mean "all"."""

    __tablename__ = "strategies"

    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    cameras: Mapped[list[str]] = mapped_column(JSONType, default=list)
    event_types: Mapped[list[str]] = mapped_column(JSONType, default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    current_version: Mapped[int] = mapped_column(Integer, default=1)


class StrategyVersion(Base):
    """One immutable version of a strategy: every edit adds a row, so the
    ``strategy_id``/``strategy_version`` an event's trace names can always be
    looked up (until the strategy itself is deleted)."""

    __tablename__ = "strategy_versions"

    strategy_id: Mapped[str] = mapped_column(
        ForeignKey("strategies.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    spec: Mapped[dict[str, Any]] = mapped_column(JSONType)  # StrategySpec.model_dump(mode="json")
    author: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ErrorLibraryEntry(Base):
    """An operator-marked false positive of one camera and event type (P1).

    The crop blob is kept (retention counts it as referenced) and the source
    event is a plain id, not a foreign key: the entry outlives the event."""

    __tablename__ = "error_library"
    __table_args__ = (
        Index("ix_error_library_camera_id_event_type", "camera_id", "event_type"),
        Index("ix_error_library_crop_blob", "crop_blob"),
        Index("ix_error_library_event_id", "event_id"),
    )

    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    camera_id: Mapped[str] = mapped_column(String(ID_LEN))
    event_type: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[str | None] = mapped_column(String(ID_LEN))
    fingerprint: Mapped[str] = mapped_column(Text)
    crop_blob: Mapped[str | None] = mapped_column(String(BLOB_KEY_LEN))
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Video(Base):
    """An uploaded recording (T1 recorded-file analysis), stored whole or not at all.

    The file lies at ``videos/<sha256>.<extension>`` under the data directory
    (content-addressed: the same upload twice is one file); the row is written
    only after the file passed its checks and was moved into place. Analysis
    runs through a file camera ``video-<sha256[:16]>`` in the video's
    department, so tasks, events and department scoping work as for any camera.
    """

    __tablename__ = "videos"
    __table_args__ = (Index("ix_videos_department", "department"),)

    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)  # the sha256, hex
    filename: Mapped[str] = mapped_column(String(255))  # as uploaded, for people
    content_type: Mapped[str] = mapped_column(String(100))
    extension: Mapped[str] = mapped_column(String(16))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    container: Mapped[str] = mapped_column(String(100))
    codec: Mapped[str] = mapped_column(String(50))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    fps: Mapped[float | None] = mapped_column(Double)
    frames: Mapped[int] = mapped_column(Integer)
    duration_s: Mapped[float] = mapped_column(Double)
    department: Mapped[str | None] = mapped_column(String(100))
    uploaded_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ServerSetting(Base):
    """Small facts about this installation, by name. ``key_check`` ties the
    database to its server key (:mod:`sightline.security.startup`): a fingerprint
    derived from the key, never the key itself."""

    __tablename__ = "server_settings"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
