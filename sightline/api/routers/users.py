"""Routes: user accounts and applications' API keys (admin only).

Every write is audited in the same transaction as the change. Rules enforced
here (and by :mod:`sightline.auth.users`): usernames are unique and
lower-case, passwords meet the policy, nobody deletes or disables
themselves, and the last enabled admin cannot be deleted, disabled or
demoted. A password reset or disabling a user ends that user's sessions.
API keys are shown once, at creation; revoking keeps the row (the audit log
points at it) and the key stops working on the next request.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from sqlalchemy import select

from sightline.api.audit import audit
from sightline.api.context import AppContext
from sightline.api.deps import Principal, get_ctx, require_roles
from sightline.auth import apikeys, tokens
from sightline.auth.passwords import WeakPassword
from sightline.auth.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyOut, UserCreate, UserOut, UserPatch
from sightline.auth.service import AuthDep
from sightline.auth.users import LastAdmin, UserError, UserExists, create_user, guard_last_admin, set_password
from sightline.storage.models import ApiKey, User

router = APIRouter(tags=["users"])
CtxDep = Annotated[AppContext, Depends(get_ctx)]
AdminDep = Annotated[Principal, Depends(require_roles("admin"))]


def _get_user(session: Any, user_id: str) -> User:
    user: User | None = session.get(User, user_id)
    if user is None:
        raise HTTPException(404, f"no user with id {user_id!r}")
    return user


def _user_error(err: Exception) -> HTTPException:
    if isinstance(err, UserExists | LastAdmin):
        return HTTPException(409, str(err))
    return HTTPException(422, str(err))


@router.get("/api/users", response_model=list[UserOut])
def list_users(_: AdminDep, ctx: CtxDep) -> list[UserOut]:
    with ctx.db.session() as session:
        return [UserOut.of(u) for u in session.scalars(select(User).order_by(User.username))]


@router.get("/api/users/{user_id}", response_model=UserOut)
def get_user(user_id: str, _: AdminDep, ctx: CtxDep) -> UserOut:
    with ctx.db.session() as session:
        return UserOut.of(_get_user(session, user_id))


@router.post("/api/users", response_model=UserOut, status_code=201)
def create(
    body: UserCreate,
    request: Request,
    principal: AdminDep,
    ctx: CtxDep,
    auth: AuthDep,
) -> UserOut:
    """Add a user with a role; they sign in with the password given here."""
    try:
        with ctx.db.session() as session:
            user = create_user(
                session,
                body.username,
                body.password,
                body.role,
                now=auth.now(),
                display_name=body.display_name,
                departments=body.departments,
            )
            audit(
                ctx,
                principal,
                "user.create",
                user.id,
                {"username": user.username, "role": user.role, "departments": user.departments},
                session=session,
                request=request,
            )
            return UserOut.of(user)
    except (UserError, WeakPassword) as err:
        raise _user_error(err) from None


@router.patch("/api/users/{user_id}", response_model=UserOut)
def update(
    user_id: str,
    body: UserPatch,
    request: Request,
    principal: AdminDep,
    ctx: CtxDep,
    auth: AuthDep,
) -> UserOut:
    """Change role, departments, display name, disabled, or reset the password."""
    fields = body.model_fields_set
    if body.role is None and "role" in fields:
        raise HTTPException(422, "role cannot be null")
    if body.disabled is None and "disabled" in fields:
        raise HTTPException(422, "disabled cannot be null")
    now = auth.now()
    try:
        with ctx.db.session() as session:
            user = _get_user(session, user_id)
            if body.disabled and user.id == principal.subject:
                raise HTTPException(400, "you cannot disable your own account")
            guard_last_admin(session, user, role=body.role, disabled=body.disabled)
            changes: dict[str, Any] = {}
            if body.role is not None and body.role != user.role:
                changes["role"] = {"from": user.role, "to": body.role}
                user.role = body.role
            if body.display_name is not None and body.display_name != user.display_name:
                changes["display_name"] = body.display_name
                user.display_name = body.display_name
            if body.departments is not None and body.departments != user.departments:
                changes["departments"] = {"from": user.departments, "to": body.departments}
                user.departments = list(body.departments)
            ended = 0
            if body.disabled is not None and body.disabled != user.disabled:
                changes["disabled"] = body.disabled
                user.disabled = body.disabled
                if body.disabled:
                    ended += tokens.revoke_user_sessions(session, user.id, now)
            if body.password is not None:
                changes["password_reset"] = True
                keep = (
                    getattr(request.state, "auth_session_id", None) if user.id == principal.subject else None
                )
                ended += set_password(session, user, body.password, now, keep_session=keep)
            if changes:
                user.updated_at = now
                changes["sessions_ended"] = ended
                audit(ctx, principal, "user.update", user.id, changes, session=session, request=request)
            return UserOut.of(user)
    except (UserError, WeakPassword) as err:
        raise _user_error(err) from None


@router.delete("/api/users/{user_id}", status_code=204, response_class=Response)
def delete(
    user_id: str,
    request: Request,
    principal: AdminDep,
    ctx: CtxDep,
) -> Response:
    """Delete a user (their sessions go with them). Disabling keeps their name in history."""
    if user_id == principal.subject:
        raise HTTPException(400, "you cannot delete your own account")
    try:
        with ctx.db.session() as session:
            user = _get_user(session, user_id)
            guard_last_admin(session, user, deleting=True)
            details = {"username": user.username, "role": user.role}
            session.delete(user)
            audit(ctx, principal, "user.delete", user_id, details, session=session, request=request)
    except UserError as err:
        raise _user_error(err) from None
    return Response(status_code=204)


# -- API keys ---------------------------------------------------------------


@router.get("/api/api-keys", response_model=list[ApiKeyOut])
def list_api_keys(
    _: AdminDep,
    ctx: CtxDep,
    include_revoked: Annotated[bool, Query(description="also list revoked keys")] = False,
) -> list[ApiKeyOut]:
    stmt = select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)
    if not include_revoked:
        stmt = stmt.where(ApiKey.revoked.is_(False))
    with ctx.db.session() as session:
        return [ApiKeyOut.of(k) for k in session.scalars(stmt)]


@router.post("/api/api-keys", response_model=ApiKeyCreated, status_code=201)
def create_api_key(
    body: ApiKeyCreate,
    request: Request,
    principal: AdminDep,
    ctx: CtxDep,
    auth: AuthDep,
) -> ApiKeyCreated:
    """Create a key for an application. The key is in this answer only: store it now."""
    owner = None if principal.api_key_id is not None else principal.subject
    with ctx.db.session() as session:
        row, key = apikeys.create(session, body.name, body.role, auth.now(), body.departments, owner)
        audit(
            ctx,
            principal,
            "api_key.create",
            row.id,
            {"name": row.name, "role": row.role, "departments": row.departments, "prefix": row.key_prefix},
            session=session,
            request=request,
        )
        out = ApiKeyOut.of(row)
    return ApiKeyCreated(**out.model_dump(), key=key)


@router.delete("/api/api-keys/{key_id}", status_code=204, response_class=Response)
def revoke_api_key(
    key_id: str,
    request: Request,
    principal: AdminDep,
    ctx: CtxDep,
    auth: AuthDep,
) -> Response:
    """Revoke a key: it stops working at once. Idempotent."""
    with ctx.db.session() as session:
        was_revoked = session.scalar(select(ApiKey.revoked).where(ApiKey.id == key_id))
        row = apikeys.revoke(session, key_id, auth.now())
        if row is None:
            raise HTTPException(404, f"no API key with id {key_id!r}")
        if not was_revoked:
            audit(
                ctx, principal, "api_key.revoke", key_id, {"name": row.name}, session=session, request=request
            )
    return Response(status_code=204)
