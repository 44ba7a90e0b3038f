"""Routes: sign in, sign out, who am I, change my password.

``POST /api/auth/login`` is the only route here (and, with ``/healthz``, in
the whole API) that needs no credentials. It answers the token in the body,
for scripts and apps, and also sets it as the ``sightline_session`` cookie
(``HttpOnly``, ``SameSite=Strict``, ``Secure`` over HTTPS) for the web UI. See
:mod:`sightline.auth.service` for how callers are recognised.
"""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response

from sightline.api.context import AppContext
from sightline.api.deps import Principal, current_principal, get_ctx
from sightline.auth.passwords import WeakPassword
from sightline.auth.schemas import LoginIn, LoginOut, MeOut, PasswordChangeIn, UserOut
from sightline.auth.service import (
    SESSION_COOKIE,
    AccountDisabled,
    AuthDep,
    AuthService,
    LoginFailed,
    LoginLocked,
    client_address,
)
from sightline.storage.models import User

router = APIRouter(prefix="/api/auth", tags=["auth"])
CtxDep = Annotated[AppContext, Depends(get_ctx)]
CallerDep = Annotated[Principal, Depends(current_principal)]

WRONG_CREDENTIALS = "wrong username or password"


def _locked(err: LoginLocked) -> HTTPException:
    seconds = max(1, math.ceil(err.retry_after))
    return HTTPException(
        429,
        f"too many failed sign-ins from your address; try again in {seconds} s "
        "(each further lock-out doubles the wait; an administrator can reset your password)",
        headers={"Retry-After": str(seconds)},
    )


def _cookie_secure(request: Request, auth: AuthService) -> bool:
    configured = auth.settings.cookie_secure
    return request.url.scheme == "https" if configured is None else configured


@router.post(
    "/login",
    response_model=LoginOut,
    responses={
        401: {"description": WRONG_CREDENTIALS},
        403: {"description": "account disabled"},
        429: {"description": "too many failures; see Retry-After"},
    },
)
def login(
    body: LoginIn,
    request: Request,
    response: Response,
    ctx: CtxDep,
    auth: AuthDep,
) -> LoginOut:
    """Exchange a username and password for a login token (valid 12 h by default)."""
    try:
        result = auth.login(ctx, body.username, body.password, client_address(request))
    except LoginLocked as err:
        raise _locked(err) from None
    except LoginFailed:
        raise HTTPException(401, WRONG_CREDENTIALS) from None
    except AccountDisabled:
        raise HTTPException(403, "this account is disabled; ask an administrator") from None
    max_age = max(1, int((result.expires_at - auth.now()).total_seconds()))
    response.set_cookie(
        SESSION_COOKIE,
        result.token,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="strict",
        secure=_cookie_secure(request, auth),
    )
    response.headers["Cache-Control"] = "no-store"
    return LoginOut(token=result.token, expires_at=result.expires_at, user=UserOut.of(result.user))


@router.post("/logout", status_code=204, response_class=Response)
def logout(
    request: Request,
    principal: CallerDep,
    ctx: CtxDep,
    auth: AuthDep,
) -> Response:
    """End the current login session (the token stops working at once) and clear the cookie."""
    session_id: str | None = getattr(request.state, "auth_session_id", None)
    if session_id is None:
        raise HTTPException(
            400, "API keys do not sign out; an admin revokes them with DELETE /api/api-keys/{id}"
        )
    auth.logout(ctx, principal, session_id, client_address(request))
    response = Response(status_code=204)
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="strict", secure=_cookie_secure(request, auth)
    )
    return response


@router.get("/me", response_model=MeOut)
def me(
    request: Request,
    principal: CallerDep,
    ctx: CtxDep,
) -> MeOut:
    """Who the credentials belong to, with role and departments."""
    if principal.api_key_id is not None:
        return MeOut(
            kind="api_key",
            subject=principal.subject,
            name=principal.name,
            role=principal.role,
            departments=list(principal.departments),
        )
    with ctx.db.session() as session:
        user = session.get(User, principal.subject)
        user_out = UserOut.of(user) if user is not None else None
    return MeOut(
        kind="user",
        subject=principal.subject,
        name=principal.name,
        role=principal.role,
        departments=list(principal.departments),
        user=user_out,
        session_expires_at=getattr(request.state, "auth_session_expires_at", None),
    )


@router.post("/password", status_code=204, response_class=Response)
def change_password(
    body: PasswordChangeIn,
    request: Request,
    principal: CallerDep,
    ctx: CtxDep,
    auth: AuthDep,
) -> Response:
    """Change your own password; your other sessions are signed out."""
    if principal.api_key_id is not None:
        raise HTTPException(400, "API keys have no password")
    try:
        auth.change_password(
            ctx,
            principal,
            body.current_password,
            body.new_password,
            getattr(request.state, "auth_session_id", None),
            client_address(request),
        )
    except LoginLocked as err:
        raise _locked(err) from None
    except LoginFailed:
        raise HTTPException(403, "the current password is wrong") from None
    except WeakPassword as err:
        raise HTTPException(422, str(err)) from None
    return Response(status_code=204)
