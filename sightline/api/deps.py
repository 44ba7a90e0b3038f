"""FastAPI dependencies shared by every router: the app context, the caller
(``Principal``) and role checks.

Roles, from most to least power: admin > operator > reviewer > viewer.
``require_roles("operator")`` admits operators and admins; every route except
``/healthz`` and login depends on ``current_principal``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Literal

from fastapi import Depends, HTTPException, Request

from sightline.api.context import AppContext

Role = Literal["admin", "operator", "reviewer", "viewer"]
ROLE_RANK: dict[str, int] = {"viewer": 0, "reviewer": 1, "operator": 2, "admin": 3}


@dataclass(frozen=True)
class Principal:
    """Who is calling: a signed-in user or an application's API key."""

    subject: str  # user id, or "apikey:<id>"
    name: str
    role: Role
    departments: tuple[str, ...] = field(default_factory=tuple)  # empty = all departments
    api_key_id: str | None = None


def get_ctx(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


def current_principal(request: Request, ctx: Annotated[AppContext, Depends(get_ctx)]) -> Principal:
    """Resolve the caller from ``Authorization: Bearer <token>`` or ``X-API-Key``.

    The real verification lives in sightline.auth and is installed on
    ``app.state.authenticate`` by the app factory; without it nobody gets in."""
    authenticate = getattr(request.app.state, "authenticate", None)
    if authenticate is None:
        raise HTTPException(401, "authentication is not configured")
    principal: Principal | None = authenticate(request, ctx)
    if principal is None:
        raise HTTPException(
            401,
            "sign in first: send 'Authorization: Bearer <token>' from POST /api/auth/login, or 'X-API-Key'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return principal


def require_roles(minimum: Role) -> Callable[..., Principal]:
    """Dependency admitting callers whose role is at least ``minimum``."""

    def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if ROLE_RANK[principal.role] < ROLE_RANK[minimum]:
            raise HTTPException(403, f"this needs the {minimum} role or higher; you are {principal.role}")
        return principal

    return check


def require_all_departments(minimum: Role, what: str) -> Callable[..., Principal]:
    """Like :func:`require_roles`, and the caller must not be limited to departments.

    For resources that span every department (webhook subscriptions deliver
    events of all cameras): a department-scoped caller could otherwise read
    other departments' events through them. Refused with 403, since the
    resource exists for everyone but this caller may not use it."""

    role_check = require_roles(minimum)

    def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        role_check(principal)  # 403 below the role first, as everywhere
        if principal.departments:
            raise HTTPException(
                403,
                f"{what} cover every department; your access is limited to "
                f"{', '.join(principal.departments)} — ask an admin for an account without department limits",
            )
        return principal

    return check
