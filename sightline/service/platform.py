"""The embedded platform in one process (`sightline serve`): database and
blobs, analysis tasks, delivery, retention, and the HTTP app.

Start-up order matters: the schema is migrated before anything reads it; the
dispatcher starts before the tasks so the first event's deliveries go out at
once; on shutdown tasks stop first (no new events), then delivery and
retention.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import FastAPI

from sightline.api.context import AppContext
from sightline.api.factory import build_app
from sightline.auth.users import bootstrap_admin_from_env, ensure_first_admin
from sightline.core.event import Event
from sightline.delivery.dispatcher import Dispatcher
from sightline.delivery.hooks import on_events_stored, start_delivery
from sightline.service.camera_state import CameraStatePublisher
from sightline.service.demo import seed_demo
from sightline.service.strategies import start_strategies
from sightline.service.tasks import TaskManager
from sightline.storage import RetentionPolicy, RetentionScheduler
from sightline.storage.models import User
from sightline.uploads.receive import remove_stale_uploads

log = logging.getLogger(__name__)


@dataclass
class Platform:
    ctx: AppContext
    tasks: TaskManager
    dispatcher: Dispatcher
    retention: RetentionScheduler
    app: FastAPI
    camera_states: CameraStatePublisher
    notices: list[str] = field(default_factory=list)

    def stop(self) -> None:
        self.camera_states.stop()
        self.tasks.stop_all()
        self.dispatcher.stop()
        self.retention.stop()
        self.ctx.db.dispose()


def _first_admin(ctx: AppContext) -> str:
    """Create an admin on first start so a fresh install can be used at once.

    The password is random, printed once and stored only as a hash: there is
    no default password. Unattended installs set SIGHTLINE_ADMIN_USER and
    SIGHTLINE_ADMIN_PASSWORD instead."""
    line = bootstrap_admin_from_env(ctx.db)
    with ctx.db.session() as s:
        if s.query(User).filter(User.role == "admin").first() is not None:
            return line
    password = f"{secrets.token_urlsafe(12)}-{secrets.randbelow(90) + 10}"
    ensure_first_admin(ctx.db, "admin", password, actor="system:first-run")
    return (
        "first start: created user 'admin' with password "
        f"{password}\n  (shown once; change it after signing in, or create your own admin with "
        "`sightline users create-admin`)"
    )


def start_platform(
    data_dir: Path,
    database_url: str | None = None,
    demo: bool = True,
    realtime: bool = True,
    retention: RetentionPolicy | None = None,
) -> Platform:
    ctx = AppContext.open(data_dir, database_url)
    notices = [_first_admin(ctx)]
    stale = remove_stale_uploads(ctx.data_dir, time.time())
    if stale:
        notices.append(f"removed {stale} unfinished upload(s) left by an earlier run")
    if demo and seed_demo(ctx):
        notices.append("first start: added the demo camera 'vtest' and its people task")
    start_strategies(ctx)  # presets on first start; loaded before any task produces an event
    dispatcher = start_delivery(ctx)
    manager = TaskManager(ctx, realtime=realtime)
    ctx.tasks = manager

    def deliver(events: list[Event]) -> None:
        on_events_stored(ctx, events)  # one outbox INSERT per ingested batch

    manager.after_store_many.append(deliver)
    scheduler = RetentionScheduler(retention or RetentionPolicy(), ctx.db, ctx.blobs)
    scheduler.start()
    app = build_app(ctx)
    manager.start_all()
    manager.start_schedules()
    camera_states = CameraStatePublisher(ctx, manager).start()
    return Platform(ctx, manager, dispatcher, scheduler, app, camera_states, notices)
