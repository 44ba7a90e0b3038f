"""CORS: off unless origins are listed.

The web UI is served by the API itself (same origin), so it needs no CORS. A
dashboard on another origin that calls the API from the browser must be
listed in ``SIGHTLINE_CORS_ORIGINS`` (comma-separated, exact origins such as
``https://wall.example.org``; ``*`` is refused: it would let any site drive
the API with whatever token a user pastes into it). Listed origins get
``Authorization`` and ``X-API-Key`` headers but no credentials mode: the
session cookie is ``SameSite=Strict`` and refused with a foreign ``Origin``
anyway, so cross-origin callers send a bearer token or an API key.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import urlsplit

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

CORS_ENV = "SIGHTLINE_CORS_ORIGINS"
ALLOWED_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
ALLOWED_HEADERS = ["Authorization", "X-API-Key", "Content-Type", "Accept-Language"]


def cors_origins(environ: Mapping[str, str] | None = None) -> list[str]:
    """The allow-list from ``SIGHTLINE_CORS_ORIGINS``; raises ValueError naming a bad entry."""
    env = os.environ if environ is None else environ
    origins = []
    for item in env.get(CORS_ENV, "").split(","):
        origin = item.strip().rstrip("/")
        if not origin:
            continue
        parts = urlsplit(origin)
        if origin == "*" or parts.scheme not in ("http", "https") or not parts.netloc or parts.path:
            raise ValueError(
                f"{CORS_ENV}: {origin!r} is not an origin; list exact origins such as "
                "https://dashboard.example.org (scheme and host, no path, no '*')"
            )
        origins.append(origin)
    return origins


def install_cors(app: FastAPI, origins: list[str] | None = None) -> None:
    """Answer CORS requests from ``origins`` (default: the environment); nothing when empty."""
    allowed = cors_origins() if origins is None else origins
    if not allowed:
        return
    app.add_middleware(
        CORSMiddleware,
        allow_origins=allowed,
        allow_methods=ALLOWED_METHODS,
        allow_headers=ALLOWED_HEADERS,
        allow_credentials=False,
        max_age=600,
    )
