"""Storage: SQL models and migrations, the event store, the blob store and retention.

Why one package: events, their images and the rules that delete them must
agree on what is referenced by what; keeping them together keeps that
contract in one place (see ``docs/storage.md``).

    db = Database.from_env(data_dir)   # SQLite in data_dir unless SIGHTLINE_DATABASE_URL is set
    db.upgrade()                       # create / migrate the schema
    events = EventStore(db, BlobStore(data_dir / "blobs"))
"""

from sightline.storage.blobs import BlobInfo, BlobStore, BlobWriteError
from sightline.storage.db import Database, DatabaseError
from sightline.storage.events import (
    CameraStats,
    Decision,
    EventFilter,
    EventNotFound,
    EventQuery,
    EventRecord,
    EventStore,
    Page,
    ReviewRecord,
    TypeDayCount,
)
from sightline.storage.hazards import HazardStore, InvalidTransition, TicketExists, TicketNotFound
from sightline.storage.outbox import Outbox
from sightline.storage.retention import RetentionPolicy, RetentionReport, RetentionScheduler

__all__ = [
    "BlobInfo",
    "BlobStore",
    "BlobWriteError",
    "CameraStats",
    "Database",
    "DatabaseError",
    "Decision",
    "EventFilter",
    "EventNotFound",
    "EventQuery",
    "EventRecord",
    "EventStore",
    "HazardStore",
    "InvalidTransition",
    "Outbox",
    "Page",
    "RetentionPolicy",
    "RetentionReport",
    "RetentionScheduler",
    "ReviewRecord",
    "TicketExists",
    "TicketNotFound",
    "TypeDayCount",
]
