"""ROUTE-WIDE GUARD — protects every router, not only the auth ones.

C5: nothing but health and login is reachable without authentication. This
test walks every route the app serves — including those other modules add
later — and sends each one, for each of its methods, a request without
credentials and one with a bogus token. Anything but 401 fails the test and
names the route.

If it fails for a route you added: give the route (or its router)
``Depends(current_principal)`` or ``Depends(require_roles(...))`` from
``sightline.api.deps``, and make sure that dependency runs before anything
that can answer otherwise (a lookup that 404s, a body that 422s — FastAPI runs
dependencies before it reports validation errors). Do NOT add the route to
``PUBLIC_ROUTES`` unless the requirement changes; a static UI mount must be
listed in ``PUBLIC_MOUNTS`` deliberately.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import fastapi.routing
from fastapi import Depends, FastAPI, WebSocket
from fastapi.testclient import TestClient
from pydantic import BaseModel
from starlette.routing import Mount, WebSocketRoute
from starlette.websockets import WebSocketDisconnect

from sightline.api.context import AppContext
from sightline.api.deps import Principal, current_principal
from sightline.api.factory import build_app
from sightline.auth.service import websocket_principal

# path -> the methods that may answer without credentials; any other method on the path is checked.
PUBLIC_ROUTES: dict[str, set[str]] = {
    "/healthz": {"GET"},
    "/api/auth/login": {"POST"},
    "/docs": {"GET"},
    "/docs/oauth2-redirect": {"GET"},
    "/redoc": {"GET"},
    "/openapi.json": {"GET"},
    # The web UI's page shell, its static files and its string table: they carry no
    # data and the browser needs them to show the sign-in form (sightline/api/routers/ui.py).
    "/": {"GET"},
    "/ui/{path:path}": {"GET"},
    "/api/i18n": {"GET"},
}
PUBLIC_MOUNTS: set[str] = set()  # e.g. the built web UI, once it exists, if it must load before sign-in
PLACEHOLDER_FOR = {"int": "1", "float": "1.5", "uuid": "00000000-0000-0000-0000-000000000001"}
CALLERS = [("anonymous", {}), ("a bogus token", {"Authorization": "Bearer slt_" + "B" * 43})]


def _routes(app: FastAPI) -> list[tuple[str, Any]]:
    """(full path, route object) for every route, also through included routers.

    Newer FastAPI keeps included routers as lazy wrappers in ``app.routes``;
    ``fastapi.routing.iter_route_contexts`` flattens them. Older FastAPI has
    them flat already."""
    iter_contexts = getattr(fastapi.routing, "iter_route_contexts", None)
    if iter_contexts is None:
        return [(str(getattr(route, "path", "")), route) for route in app.routes]
    return [(rc.path, rc.original_route) for rc in iter_contexts(app.routes)]


def _concrete(path: str) -> str:
    def fill(m: re.Match[str]) -> str:
        _, _, convertor = m.group(1).partition(":")
        return PLACEHOLDER_FOR.get(convertor, "x")

    return re.sub(r"{([^}]+)}", fill, path)


def unprotected_routes(app: FastAPI) -> list[str]:
    """Every route that answers an anonymous or bogus caller with anything but 401."""
    problems: list[str] = []
    with TestClient(app, raise_server_exceptions=False) as client:
        for path, route in _routes(app):
            url = _concrete(path)
            if isinstance(route, Mount):
                if path not in PUBLIC_MOUNTS:
                    problems.append(f"MOUNT {path}: mounted apps bypass route dependencies")
                continue
            if isinstance(route, WebSocketRoute) or type(route).__name__ == "APIWebSocketRoute":
                for who, headers in CALLERS:
                    if _websocket_accepted(client, url, dict(headers)):  # (the test client edits the dict)
                        problems.append(f"WEBSOCKET {path} accepted {who}")
                continue
            for method in sorted(getattr(route, "methods", None) or ()):
                if method in ("HEAD", "OPTIONS") or method in PUBLIC_ROUTES.get(path, set()):
                    continue
                for who, headers in CALLERS:
                    status = client.request(method, url, headers=dict(headers)).status_code
                    if status != 401:
                        problems.append(f"{method} {path} answered {status} to {who}")
    return problems


def _websocket_accepted(client: TestClient, url: str, headers: dict[str, str]) -> bool:
    accepted = False
    try:
        with client.websocket_connect(url, headers=headers):
            accepted = True  # the handshake completed: the server accepted this caller
    except WebSocketDisconnect:
        pass  # closed before accepting (e.g. policy violation) — or closed by the server after accepting
    except Exception:  # refused in the handshake with an HTTP response (401/403)
        pass
    return accepted


def test_every_route_except_health_and_login_requires_authentication(tmp_path: Path) -> None:
    ctx = AppContext.open(tmp_path, f"sqlite:///{tmp_path / 'sightline.db'}")
    try:
        app = build_app(ctx)
        assert len(_routes(app)) > len(PUBLIC_ROUTES), "no routes found: the route walk is broken"
        assert unprotected_routes(app) == []
    finally:
        ctx.db.dispose()


def test_the_guard_catches_an_unprotected_route(tmp_path: Path) -> None:
    """The check itself can fail: an open route, an open WebSocket and a mount are all reported."""
    ctx = AppContext.open(tmp_path, f"sqlite:///{tmp_path / 'sightline.db'}")
    try:
        app = build_app(ctx)
        router = fastapi.APIRouter(prefix="/api/forgotten")

        @router.get("/{item_id}")
        def forgotten(item_id: str) -> dict[str, str]:
            return {"id": item_id}

        class Body(BaseModel):
            name: str

        @router.post("/{item_id}")  # protected: auth runs before the int and body validation
        def guarded(item_id: int, body: Body, _: Annotated[Principal, Depends(current_principal)]) -> None:
            return None

        @app.delete("/healthz")  # a public path, but not a public method
        def drop_health() -> None:
            return None

        @router.websocket("/ws")
        async def open_socket(ws: WebSocket) -> None:
            await ws.accept()
            await ws.close()

        @router.websocket("/ws-guarded")
        async def guarded_socket(
            ws: WebSocket, _: Annotated[Principal, Depends(websocket_principal)]
        ) -> None:
            await ws.accept()
            await ws.close()

        app.include_router(router)
        app.mount("/static", FastAPI())
        assert unprotected_routes(app) == [
            "DELETE /healthz answered 200 to anonymous",
            "DELETE /healthz answered 200 to a bogus token",
            "GET /api/forgotten/{item_id} answered 200 to anonymous",
            "GET /api/forgotten/{item_id} answered 200 to a bogus token",
            "WEBSOCKET /api/forgotten/ws accepted anonymous",
            "WEBSOCKET /api/forgotten/ws accepted a bogus token",
            "MOUNT /static: mounted apps bypass route dependencies",
        ]
    finally:
        ctx.db.dispose()
