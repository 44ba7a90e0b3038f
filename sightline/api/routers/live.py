"""Routes: the live event feed (E4), as Server-Sent Events.

Why SSE and not WebSocket: the feed is one-way, SSE is plain HTTP (works
through proxies, carries the normal ``Authorization`` header or API key,
``EventSource`` reconnects by itself) and needs no extra dependency.

A caller limited to departments sees only events of those departments'
cameras (asking for another camera answers 404, as everywhere else).

``GET /api/live/events?type=line.cross&camera_id=cam1`` (viewer or higher)
streams::

    retry: 3000

    id: <event id>
    event: event
    data: {...the Event JSON...}

    : heartbeat                      (a comment every 15 s keeps proxies from closing it)

    event: dropped
    data: {"dropped": 12}            (this client was too slow; that many were skipped)

Each client reads its own bounded queue on the in-process bus (drop-oldest),
so a slow browser never slows the pipeline. The stream ends when the client
goes away (its queue is released at once).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import select

from sightline.api.context import AppContext
from sightline.api.deps import Principal, get_ctx, require_roles
from sightline.core.event_types import EVENT_TYPES
from sightline.delivery.bus import EventBus
from sightline.storage.models import Camera

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/live", tags=["live"])

HEARTBEAT_S = 15.0  # override per app with ctx.extra["live_heartbeat_s"]
DISCONNECT_CHECK_S = 1.0
RETRY_MS = 3000
SCOPE_REFRESH_S = 10.0  # how soon a department-scoped feed follows cameras moved in or out


class _CameraScope:
    """The camera ids a department-limited caller may see, re-read now and then.

    The bus calls ``accept`` on the publishing thread, so it only reads a
    frozenset; the stream re-queries the database every ``SCOPE_REFRESH_S``."""

    def __init__(self, ctx: AppContext, departments: tuple[str, ...]) -> None:
        self._ctx, self._departments = ctx, departments
        self.ids: frozenset[str] = frozenset()
        self.refresh()

    def refresh(self) -> None:
        with self._ctx.db.session() as session:
            rows = session.scalars(select(Camera.id).where(Camera.department.in_(self._departments)))
            self.ids = frozenset(rows)

    def refresh_or_keep(self) -> None:
        """Refresh; on a database error keep the last scope (the stream goes on)."""
        try:
            self.refresh()
        except Exception:  # e.g. SQLite busy for a moment: next refresh tries again
            log.warning("live feed: re-reading camera scope failed; keeping the last one", exc_info=True)


def _sse(event: dict[str, Any]) -> str:
    data = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
    return f"id: {event.get('id', '')}\nevent: event\ndata: {data}\n\n"


async def _stream(
    request: Request,
    bus: EventBus,
    accept: Callable[[dict[str, Any]], bool],
    heartbeat_s: float,
    refresh: Callable[[], None] | None = None,
) -> AsyncIterator[str]:
    # Subscribe inside the generator: its ``finally`` is then sure to release
    # the queue, however the response ends.
    loop = asyncio.get_running_loop()
    try:
        sub = bus.subscribe(accept)
    except RuntimeError as err:  # too many live clients
        yield f"event: error\ndata: {json.dumps({'detail': str(err)})}\n\n"
        return
    try:
        yield f"retry: {RETRY_MS}\n\n: connected\n\n"
        next_beat = loop.time() + heartbeat_s
        next_refresh = loop.time() + SCOPE_REFRESH_S
        reported_drops = 0
        while not sub.closed:
            if await request.is_disconnected():
                break
            if refresh is not None and loop.time() >= next_refresh:
                await asyncio.to_thread(refresh)
                next_refresh = loop.time() + SCOPE_REFRESH_S
            wait = max(0.0, min(DISCONNECT_CHECK_S, next_beat - loop.time()))
            item = await sub.aget(timeout=wait)
            dropped = sub.dropped  # read once: the publisher thread keeps counting
            if dropped > reported_drops:
                yield f"event: dropped\ndata: {json.dumps({'dropped': dropped - reported_drops})}\n\n"
                reported_drops = dropped
            if item is not None:
                yield _sse(item)
                next_beat = loop.time() + heartbeat_s
            elif loop.time() >= next_beat:
                yield ": heartbeat\n\n"
                next_beat = loop.time() + heartbeat_s
    finally:
        sub.close()


@router.get(
    "/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events"}},
)
async def live_events(
    request: Request,
    principal: Annotated[Principal, Depends(require_roles("viewer"))],
    ctx: Annotated[AppContext, Depends(get_ctx)],
    type: Annotated[list[str] | None, Query(description="event type codes; repeat for several")] = None,
    camera_id: Annotated[list[str] | None, Query(description="camera ids; repeat for several")] = None,
) -> StreamingResponse:
    """New events as they are stored, filtered by type and camera."""
    types, cameras = frozenset(type or ()), frozenset(camera_id or ())
    unknown = sorted(types - set(EVENT_TYPES))
    if unknown:
        raise HTTPException(422, f"unknown event type(s) {unknown}; known: {sorted(EVENT_TYPES)}")
    bus = ctx.bus
    if not isinstance(bus, EventBus):
        raise HTTPException(503, "the live feed is not running on this server (no event bus configured)")

    scope = (
        await asyncio.to_thread(_CameraScope, ctx, principal.departments) if principal.departments else None
    )
    outside = sorted(cameras - scope.ids) if scope is not None else []
    if outside:
        raise HTTPException(404, f"no camera(s) {outside}; list cameras with GET /api/cameras")

    def accept(event: dict[str, Any]) -> bool:
        if types and event.get("type") not in types:
            return False
        if scope is not None and event.get("camera_id") not in scope.ids:
            return False
        return not cameras or event.get("camera_id") in cameras

    if bus.subscriber_count >= bus.max_subscribers:
        raise HTTPException(503, f"too many live clients ({bus.max_subscribers}); try again later")
    heartbeat = float(ctx.extra.get("live_heartbeat_s", HEARTBEAT_S))
    return StreamingResponse(
        _stream(request, bus, accept, heartbeat, scope.refresh_or_keep if scope is not None else None),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
