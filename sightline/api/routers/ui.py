"""Routes: the web UI (a single page app) and its message table.

Why these routes need no sign-in: they carry no data. ``/`` is the page shell,
``/ui/...`` are the static files under ``sightline/web/`` and ``/api/i18n`` is
the fixed table of UI strings and event type names. Everything the UI shows
about cameras, tasks and events comes from the authenticated API, with the
session cookie that ``POST /api/auth/login`` sets.

The page is served with a strict Content-Security-Policy: scripts, styles,
images and connections only from this origin, no inline script, no framing.
Together with the UI never building HTML from strings, a camera named
``<img onerror=...>`` stays text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import FileResponse

from sightline.core.event_types import EVENT_TYPES
from sightline.i18n import LANGS, MESSAGES, negotiate, t

router = APIRouter(tags=["ui"])

WEB_ROOT = Path(__file__).resolve().parents[2] / "web"

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    # Revalidate on every load (ETag makes that cheap), so an upgrade is seen at once.
    "Cache-Control": "no-cache",
}


def _file(path: Path) -> FileResponse:
    media_type = CONTENT_TYPES.get(path.suffix.lower())
    if media_type is None:
        raise HTTPException(404, "no such UI file")
    return FileResponse(path, media_type=media_type, headers=SECURITY_HEADERS)


@router.get("/", include_in_schema=False)
def index() -> FileResponse:
    """The single page app; it picks its language itself (?lang=, saved choice, browser)."""
    return _file(WEB_ROOT / "index.html")


@router.get("/ui/{path:path}", include_in_schema=False)
def static(path: str) -> FileResponse:
    root = WEB_ROOT.resolve()
    target = (root / path).resolve()
    # Only files inside sightline/web/, never a ../ escape.
    if not target.is_relative_to(root) or not target.is_file():
        raise HTTPException(404, f"no UI file {path!r}")
    return _file(target)


def message_table(lang: str) -> dict[str, Any]:
    """Every UI string and event type name in one language (English where a
    translation is missing, so the page never shows a bare key)."""
    zh = lang == "zh-CN"
    return {
        "lang": lang,
        "langs": list(LANGS),
        "messages": {key: t(key, lang) for key in MESSAGES},
        "event_types": {code: (et.name_zh if zh else et.name_en) for code, et in EVENT_TYPES.items()},
    }


@router.get("/api/i18n")
def i18n(
    request: Request,
    lang: str | None = Query(None, description="en or zh-CN; default from Accept-Language"),
) -> dict[str, Any]:
    """The UI's message table and event type names for one language."""
    if lang is not None and lang not in LANGS:
        raise HTTPException(422, f"unknown language {lang!r}; use one of {list(LANGS)}")
    return message_table(negotiate(lang, request.headers.get("accept-language")))
