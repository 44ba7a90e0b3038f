"""Helpers for the auth tests (imported, not collected)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from sightline.api.context import AppContext
from sightline.auth.users import create_user
from sightline.storage.models import AuditRecord

START = 1_800_000_000.0  # 2027-01-15, a fixed "now" for the ManualClock
ROLES = ("admin", "operator", "reviewer", "viewer")


def password_for(username: str) -> str:
    return f"Correct horse {username} 42"


@dataclass
class Users:
    ids: dict[str, str]  # username -> id; usernames are the role names

    def password(self, username: str) -> str:
        return password_for(username)


def make_users(ctx: AppContext, names: tuple[str, ...] = ROLES) -> Users:
    ids: dict[str, str] = {}
    with ctx.db.session() as session:
        for name in names:
            role = name if name in ROLES else "viewer"
            ids[name] = create_user(session, name, password_for(name), role).id
    return Users(ids)


def login(client: TestClient, username: str, password: str | None = None) -> str:
    r = client.post(
        "/api/auth/login", json={"username": username, "password": password or password_for(username)}
    )
    assert r.status_code == 200, r.text
    client.cookies.clear()  # tests send the token explicitly unless they test the cookie
    return str(r.json()["token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def audit_rows(ctx: AppContext) -> list[AuditRecord]:
    with ctx.db.session() as session:
        return list(session.scalars(select(AuditRecord).order_by(AuditRecord.id)))


def audit_dump(ctx: AppContext) -> str:
    """Every audit row as one string, to search for leaked secrets."""
    parts: list[Any] = []
    for r in audit_rows(ctx):
        parts += [r.actor, r.action, r.target, r.details]
    return repr(parts)
