"""Operations endpoints (C6): ``/healthz`` for load balancers and
orchestrators, ``/metrics`` for Prometheus.

Why a per-app ``CollectorRegistry``: the process-global registry would mix
the metrics of every app built in one process (tests build dozens) and
refuses a second registration of the same name. Each app gets its own on
``app.state``, created on first use.

What is measured:

- ``sightline_http_requests_total`` / ``sightline_http_request_duration_seconds``
  by method, **route template** (``/api/cameras/{camera_id}``, never the raw
  path, so label cardinality stays bounded) and status — recorded by
  :class:`MetricsMiddleware`, which the app factory installs
  (``app.add_middleware(MetricsMiddleware)``).
- Stored events by type (and how many await review), cameras by status, tasks
  by state: read from the database when Prometheus scrapes, so they are right
  after a restart and cost nothing between scrapes.

``/metrics`` needs a signed-in caller (viewer or higher) without department
limits: the figures count cameras and events of every department, and C5
allows only health and login without authentication. Configure Prometheus with an API key
(``authorization: {type: ..., credentials: ...}`` or an ``X-API-Key`` header).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, choose_encoder
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sightline import __version__
from sightline.api.context import AppContext
from sightline.api.deps import Principal, require_all_departments
from sightline.api.limits import BodyLimitMiddleware
from sightline.api.schemas.common import Ctx, validation_exception_handler
from sightline.sources.config import redact_url
from sightline.storage import DatabaseError
from sightline.storage.models import Camera, EventRow, Task

log = logging.getLogger(__name__)

router = APIRouter(tags=["system"])
MetricsReader = Annotated[
    Principal, Depends(require_all_departments("viewer", "metrics (they count all departments)"))
]

_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
CAMERA_STATUSES = ("online", "degraded", "connecting", "offline", "error", "idle")


class AppMetrics:
    """The metrics of one app: its registry, HTTP instruments and the state collector."""

    def __init__(self, app: FastAPI) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "sightline_http_requests",
            "HTTP requests by method, route template and status code.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "sightline_http_request_duration_seconds",
            "Time from request to the end of the response, by method and route template.",
            ["method", "route"],
            registry=self.registry,
        )
        self.registry.register(_StateCollector(app))


def install_api_hooks(app: FastAPI) -> None:
    """What a router cannot register itself: the request-metrics middleware,
    the request body limit (413) and the NaN-safe 422 handler. Called once by the app factory."""
    if not hooks_installed(app):
        app.add_middleware(BodyLimitMiddleware)
        app.add_middleware(MetricsMiddleware)
    app.add_exception_handler(RequestValidationError, validation_exception_handler)
    _document_message_422(app)


def _document_message_422(app: FastAPI) -> None:
    """Routes answer 422 both with FastAPI's list of field errors and with one
    message (``HTTPException(422, "zone 'x' crosses itself ...")``); the
    OpenAPI said only the list, so clients generated from it (and schema
    checks) rejected the message form. Document both."""
    base = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = base()
        error = schema.get("components", {}).get("schemas", {}).get("HTTPValidationError")
        if error and "detail" in error.get("properties", {}):
            listed = {k: v for k, v in error["properties"]["detail"].items() if k != "title"}
            error["properties"]["detail"] = {"title": "Detail", "anyOf": [listed, {"type": "string"}]}
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def hooks_installed(app: FastAPI) -> bool:
    """Whether :func:`install_api_hooks` ran on ``app``."""
    return any(getattr(m, "cls", None) is MetricsMiddleware for m in app.user_middleware)


def app_metrics(app: FastAPI) -> AppMetrics:
    metrics: AppMetrics | None = getattr(app.state, "metrics", None)
    if metrics is None:
        metrics = AppMetrics(app)
        app.state.metrics = metrics
    return metrics


class MetricsMiddleware:
    """Counts and times every HTTP request by route template (pure ASGI, so
    streamed responses are timed to their last byte)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path_format", None) or getattr(route, "path", None) or "<unmatched>"
            method = scope.get("method", "GET")
            method = method if method in _METHODS else "OTHER"
            app = scope.get("app")
            if isinstance(app, FastAPI):
                metrics = app_metrics(app)
                metrics.requests.labels(method, template, str(status)).inc()
                metrics.latency.labels(method, template).observe(time.perf_counter() - started)


class _StateCollector(Collector):
    """Gauges read from the database and the task runner at scrape time."""

    def __init__(self, app: FastAPI) -> None:
        self._app = app

    def collect(self) -> Iterator[GaugeMetricFamily]:
        ctx: AppContext = self._app.state.ctx
        up = GaugeMetricFamily("sightline_database_up", "1 when the database answered this scrape.")
        try:
            families = list(self._state(ctx))
        except (DatabaseError, SQLAlchemyError) as err:
            log.warning("metrics: database unavailable: %s", err)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    @staticmethod
    def _state(ctx: AppContext) -> Iterator[GaugeMetricFamily]:
        from sightline.api.routers.cameras import camera_statuses  # late: cameras imports this module

        stored = GaugeMetricFamily(
            "sightline_events_stored", "Events in the database, by type.", labels=["type"]
        )
        pending = GaugeMetricFamily(
            "sightline_events_pending_review",
            "Events awaiting review (status pending), by type.",
            labels=["type"],
        )
        cameras = GaugeMetricFamily(
            "sightline_cameras", "Cameras by status (idle = no running task).", labels=["status"]
        )
        tasks = GaugeMetricFamily("sightline_tasks", "Tasks by live state.", labels=["state"])
        with ctx.db.session() as session:
            by_type: dict[str, list[int]] = {}
            rows = session.execute(
                select(EventRow.type, EventRow.status, func.count()).group_by(EventRow.type, EventRow.status)
            )
            for type_, status, n in rows:
                counts = by_type.setdefault(type_, [0, 0])
                counts[0] += int(n)
                if status == "pending":
                    counts[1] += int(n)
            camera_rows = list(session.scalars(select(Camera)))
            task_rows = list(session.execute(select(Task.id, Task.desired_state, Task.status)))
        for type_, (total, waiting) in sorted(by_type.items()):
            stored.add_metric([type_], total)
            pending.add_metric([type_], waiting)
        status_counts = dict.fromkeys(CAMERA_STATUSES, 0)
        for status, _health in camera_statuses(ctx, camera_rows).values():
            status_counts[status] += 1
        for status, n in status_counts.items():
            cameras.add_metric([status], n)
        task_counts: dict[str, int] = {}
        for task_id, desired, stored_status in task_rows:
            state = stored_status
            if ctx.tasks is not None and desired == "running":  # only running tasks are worth a live query
                state = str(ctx.tasks.status(task_id).get("state") or stored_status)
            task_counts[state] = task_counts.get(state, 0) + 1
        for state, n in sorted(task_counts.items()):
            tasks.add_metric([state], n)
        yield from (stored, pending, cameras, tasks)


@router.get(
    "/healthz",
    summary="Liveness and database check (no authentication)",
    responses={503: {"description": "the database does not answer; the body says why"}},
)
def healthz(ctx: Ctx) -> JSONResponse:
    body: dict[str, Any] = {"status": "ok", "version": __version__, "database": "ok"}
    try:
        ctx.db.ping()
    except (DatabaseError, SQLAlchemyError) as err:
        reason = redact_url(str(err).splitlines()[0]) if str(err) else type(err).__name__
        body.update(status="unavailable", database=f"database unavailable: {reason}")
        return JSONResponse(body, status_code=503)
    body["tasks"] = "running" if ctx.tasks is not None else "not started"
    return JSONResponse(body)


@router.get(
    "/metrics",
    summary="Prometheus metrics (text exposition format); viewer or higher",
    response_class=Response,
    responses={
        200: {
            "content": {CONTENT_TYPE_PLAIN_0_0_4: {}, "application/openmetrics-text": {}},
            "description": "Prometheus text format, or OpenMetrics when the scraper asks for it",
        }
    },
)
def metrics(request: Request, _: MetricsReader) -> Response:
    encoder, content_type = choose_encoder(request.headers.get("accept", ""))
    return Response(content=encoder(app_metrics(request.app).registry), media_type=content_type)
