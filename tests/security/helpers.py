"""Helpers for the security tests (imported, not collected)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import fastapi.routing
from fastapi import FastAPI

START = 1_800_000_000.0  # 2027-01-15, the ManualClock's "now"
ROLES = ("admin", "operator", "reviewer", "viewer")
RANK = {"viewer": 0, "reviewer": 1, "operator": 2, "admin": 3}
PLACEHOLDER_FOR = {"int": "1", "float": "1.5", "uuid": "00000000-0000-0000-0000-000000000001"}


def password_for(username: str) -> str:
    return f"Correct horse {username} 42"


@dataclass(frozen=True)
class Caller:
    name: str  # "admin", …, "apikey", "anonymous"
    role: str | None  # None: no credentials
    headers: dict[str, str]


def served_routes(app: FastAPI) -> list[tuple[str, Any]]:
    """(full path template, route) for every route, also through included routers."""
    iter_contexts = getattr(fastapi.routing, "iter_route_contexts", None)
    if iter_contexts is None:
        return [(str(getattr(route, "path", "")), route) for route in app.routes]
    return [(rc.path, rc.original_route) for rc in iter_contexts(app.routes)]


def concrete(path: str) -> str:
    """A request path for a template: placeholders become made-up ids."""

    def fill(m: re.Match[str]) -> str:
        _, _, convertor = m.group(1).partition(":")
        return PLACEHOLDER_FOR.get(convertor, "x")

    return re.sub(r"{([^}]+)}", fill, path)
