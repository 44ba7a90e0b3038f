"""CORS is off by default; only origins listed in SIGHTLINE_CORS_ORIGINS get CORS headers."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from sightline.api.context import AppContext
from sightline.api.factory import build_app
from sightline.security.cors import CORS_ENV, cors_origins

LISTED = "https://wall.example.org"
PREFLIGHT = {"Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization"}


def _preflight(client: TestClient, origin: str) -> dict[str, str]:
    r = client.options("/api/cameras", headers={"Origin": origin, **PREFLIGHT})
    return {k.lower(): v for k, v in r.headers.items()}


@pytest.mark.parametrize("configured", [None, LISTED])
def test_cross_origin_preflight(
    ctx: AppContext, monkeypatch: pytest.MonkeyPatch, configured: str | None
) -> None:
    if configured:
        monkeypatch.setenv(CORS_ENV, configured)
    else:
        monkeypatch.delenv(CORS_ENV, raising=False)
    with TestClient(build_app(ctx)) as client:
        unlisted = _preflight(client, "https://evil.example.com")
        # No Access-Control-Allow-Origin: the browser refuses to send the real request.
        # (With CORS on, Starlette still lists its methods in a 400 answer; that grants nothing.)
        assert "access-control-allow-origin" not in unlisted
        if not configured:
            assert not any(k.startswith("access-control-") for k in unlisted)
        listed = _preflight(client, LISTED)
        if configured:
            assert listed["access-control-allow-origin"] == LISTED
            assert "authorization" in listed["access-control-allow-headers"].lower()
            assert "access-control-allow-credentials" not in listed  # tokens, never the cookie
        else:
            assert not any(k.startswith("access-control-") for k in listed)


def test_a_cookie_from_another_origin_is_refused(ctx: AppContext, tmp_path: Path) -> None:
    """CSRF: the session cookie is SameSite=Strict and refused with a foreign Origin header."""
    from tests.security.conftest import add_user
    from tests.security.helpers import password_for

    add_user(ctx, "cora", "viewer")
    with TestClient(build_app(ctx), base_url="http://sightline.local") as client:
        r = client.post("/api/auth/login", json={"username": "cora", "password": password_for("cora")})
        assert "samesite=strict" in r.headers["set-cookie"].lower()
        assert client.get("/api/auth/me").status_code == 200  # the cookie alone, same origin
        assert client.get("/api/auth/me", headers={"Origin": "http://sightline.local"}).status_code == 200
        assert client.get("/api/auth/me", headers={"Origin": "https://evil.example.com"}).status_code == 401


@pytest.mark.parametrize("bad", ["*", "wall.example.org", "https://wall.example.org/path", "ftp://x.org"])
def test_a_bad_origin_setting_is_named(bad: str) -> None:
    with pytest.raises(ValueError, match="is not an origin"):
        cors_origins({CORS_ENV: f"{LISTED}, {bad}"})
    assert cors_origins({CORS_ENV: f" {LISTED}/ ,http://localhost:3000"}) == [LISTED, "http://localhost:3000"]
