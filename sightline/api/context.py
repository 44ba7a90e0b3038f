"""What every route needs, built once per process and put on ``app.state``.

Routers get it with the ``get_ctx`` dependency; tests build one on a temporary
database. Nothing here is global, so two apps (tests) never share state."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sightline.security.startup import secure_database
from sightline.storage import BlobStore, Database, EventStore, HazardStore, Outbox


class TaskControl(Protocol):
    """The running side of tasks (implemented by sightline.service.tasks.TaskManager)."""

    def apply(self, task_id: str) -> None:
        """(Re)start or stop the task's worker to match its stored desired state."""
        ...

    def remove(self, task_id: str) -> None: ...

    def status(self, task_id: str) -> dict[str, Any]:
        """Live status of a task: state, error, fps, frames, events."""
        ...

    def camera_health(self, camera_id: str) -> dict[str, Any] | None: ...

    def latest_frame_jpeg(self, camera_id: str) -> bytes | None: ...


class EventBus(Protocol):
    """In-process fan-out of new events (live feed, MQTT)."""

    def publish(self, event: dict[str, Any]) -> None: ...


@dataclass
class AppContext:
    data_dir: Path
    db: Database
    blobs: BlobStore
    events: EventStore
    hazards: HazardStore
    outbox: Outbox
    tasks: TaskControl | None = None
    bus: EventBus | None = None
    secret_key: bytes = b""  # the server key (sightline.security.keys); sub-keys derive from it
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def open(cls, data_dir: Path, database_url: str | None = None) -> AppContext:
        data_dir.mkdir(parents=True, exist_ok=True)
        db = Database(database_url) if database_url else Database.from_env(data_dir)
        db.upgrade()
        keys = secure_database(db, data_dir)
        blobs = BlobStore(data_dir / "blobs")
        return cls(
            data_dir=data_dir,
            db=db,
            secret_key=keys.material,
            blobs=blobs,
            events=EventStore(db, blobs),
            hazards=HazardStore(db),
            outbox=Outbox(db),
        )
