"""The embedded service's HTTP API and page (FastAPI; OpenAPI at /docs).

This is the first, read-only slice of the platform: camera health, the latest
events with their snapshots, and a page that shows both, in English or
Chinese. It listens on 127.0.0.1 only; users, roles and write routes come with
the platform work (issue 3), and until then the server refuses to bind to
another address.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse

from sightline import __version__
from sightline.core.event import Event
from sightline.core.event_types import EVENT_TYPES
from sightline.i18n import MESSAGES, negotiate, t
from sightline.service.runtime import Runtime


def create_app(runtime: Runtime) -> FastAPI:
    app = FastAPI(title="Sightline", version=__version__)

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {"status": "ok", "cameras": len(runtime.workers)}

    @app.get("/api/cameras")
    def cameras() -> list[dict[str, Any]]:
        return runtime.camera_status()

    @app.get("/api/events", response_model=list[Event])
    def events(
        limit: int = Query(50, ge=1, le=1000),
        type: str | None = Query(None, description="event type code, e.g. line.cross"),
        camera_id: str | None = None,
    ) -> list[Event]:
        if type is not None and type not in EVENT_TYPES:
            raise HTTPException(422, f"unknown event type {type!r}; known: {sorted(EVENT_TYPES)}")
        return runtime.events.latest(limit, type, camera_id)

    @app.get("/api/event-types")
    def event_types() -> list[dict[str, Any]]:
        return [
            {"code": et.code, "number": et.number, "name_en": et.name_en, "name_zh": et.name_zh}
            for et in EVENT_TYPES.values()
        ]

    @app.get("/api/events/{event_id}", response_model=Event)
    def event(event_id: str) -> Event:
        found = runtime.events.get(event_id)
        if found is None:
            raise HTTPException(404, f"no event {event_id!r} among the latest events")
        return found

    @app.get("/media/{path:path}")
    def media(path: str) -> FileResponse:
        root = runtime.data_dir.resolve()
        target = (root / path).resolve()
        # Only snapshot files inside the data folder, never ../ escapes.
        if not target.is_relative_to(root / "snapshots") or not target.is_file():
            raise HTTPException(404, "no such snapshot")
        return FileResponse(target, media_type="image/jpeg")

    @app.get("/", response_class=HTMLResponse)
    def page(request: Request, lang: str | None = None) -> str:
        chosen = negotiate(lang, request.headers.get("accept-language"))
        return render_page(chosen)

    return app


def render_page(lang: str) -> str:
    strings = {k: t(k, lang) for k in MESSAGES}
    other = "en" if lang == "zh-CN" else "zh-CN"
    types = {code: (et.name_zh if lang == "zh-CN" else et.name_en) for code, et in EVENT_TYPES.items()}
    return (
        (Path(__file__).parent / "page.html")
        .read_text(encoding="utf-8")
        .replace("__LANG__", html.escape(lang))
        .replace("__TITLE__", html.escape(strings["app.title"]))
        .replace("__OTHER_LANG__", other)
        .replace("__SWITCH__", html.escape(strings["lang.switch"]))
        .replace("__STRINGS__", json.dumps(strings, ensure_ascii=False).replace("</", "<\\/"))
        .replace("__TYPES__", json.dumps(types, ensure_ascii=False).replace("</", "<\\/"))
    )
