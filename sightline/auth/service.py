"""Who is calling: ``authenticate(conn, ctx)``, login/logout, and ``install_auth(app)``.

``sightline.api.deps.current_principal`` calls ``app.state.authenticate``;
:func:`install_auth` puts :meth:`AuthService.authenticate` there. Credentials,
in the order they are looked at (the first one present decides; an invalid
one is never "rescued" by another):

1. ``X-API-Key: sl_...`` — an application's key (:mod:`sightline.auth.apikeys`);
2. ``Authorization: Bearer <token>`` — a login token, or an API key sent as a
   bearer token (many HTTP clients only know that header);
3. the ``sightline_session`` cookie — the web UI's copy of the login token,
   ``HttpOnly`` (scripts cannot read it) and ``SameSite=Strict`` (other sites
   cannot make the browser send it). As a second line against cross-site
   requests, a cookie is refused when the request carries an ``Origin`` that
   is not this host. ``Secure`` is set when the request came over HTTPS, or
   always/never with ``SIGHTLINE_COOKIE_SECURE=1/0``.

Every check reads the database (one indexed query): disabling a user,
changing their role, revoking a key or a session acts on the next request.
``authenticate`` takes any ``HTTPConnection``, so WebSocket routes use it too.
Time comes from ``AuthSettings.clock`` so tests move it instead of sleeping.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, cast
from urllib.parse import urlsplit

from fastapi import Depends, FastAPI, Request, WebSocket, WebSocketException, status
from starlette.requests import HTTPConnection

from sightline.api.audit import write_audit
from sightline.api.context import AppContext
from sightline.api.deps import Principal, Role
from sightline.auth import apikeys, tokens
from sightline.auth.passwords import burn_time, hash_password, needs_rehash, verify_password
from sightline.auth.throttle import LoginThrottle
from sightline.auth.users import (  # re-exported: the first admin is part of the service's API
    bootstrap_admin_from_env,
    ensure_first_admin,
    find_user,
    set_password,
)
from sightline.core.clock import Clock, SystemClock
from sightline.storage.models import User
from sightline.storage.types import from_unix

__all__ = [
    "API_KEY_HEADER",
    "AuthDep",
    "SESSION_COOKIE",
    "AccountDisabled",
    "AuthService",
    "AuthSettings",
    "LoginFailed",
    "LoginLocked",
    "LoginResult",
    "bootstrap_admin_from_env",
    "client_address",
    "ensure_first_admin",
    "get_auth",
    "install_auth",
    "websocket_principal",
]

log = logging.getLogger(__name__)

SESSION_COOKIE = "sightline_session"
API_KEY_HEADER = "X-API-Key"
TTL_ENV = "SIGHTLINE_TOKEN_TTL_HOURS"
COOKIE_SECURE_ENV = "SIGHTLINE_COOKIE_SECURE"


@dataclass
class AuthSettings:
    token_ttl: timedelta = tokens.DEFAULT_TTL
    cookie_secure: bool | None = None  # None: Secure when the request came over HTTPS
    max_failures: int = 5  # per username + address
    max_failures_per_address: int = 20  # any usernames: password spraying
    failure_window_s: float = 300.0
    lockout_s: float = 300.0  # doubles with each consecutive lock-out ...
    max_lockout_s: float = 3600.0  # ... up to this
    clock: Clock = field(default_factory=SystemClock)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AuthSettings:
        """Settings from ``SIGHTLINE_TOKEN_TTL_HOURS`` and ``SIGHTLINE_COOKIE_SECURE``."""
        env = os.environ if environ is None else environ
        settings = cls()
        ttl = env.get(TTL_ENV, "").strip()
        if ttl:
            try:
                hours = float(ttl)
            except ValueError:
                hours = -1.0
            if not 0 < hours <= 24 * 30:
                raise ValueError(
                    f"{TTL_ENV}={ttl!r}: give the login lifetime in hours, more than 0, at most 720"
                )
            settings.token_ttl = timedelta(hours=hours)
        secure = env.get(COOKIE_SECURE_ENV, "auto").strip().lower()
        choices = {
            "auto": None,
            "1": True,
            "true": True,
            "yes": True,
            "0": False,
            "false": False,
            "no": False,
        }
        if secure not in choices:
            raise ValueError(f"{COOKIE_SECURE_ENV}={secure!r}: use auto, 1 or 0")
        settings.cookie_secure = choices[secure]
        return settings


class LoginFailed(Exception):
    """Wrong username or password (deliberately not saying which)."""


class LoginLocked(Exception):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"too many failed sign-ins; try again in {retry_after:.0f} s")
        self.retry_after = retry_after


class AccountDisabled(Exception):
    """Right password, but an admin disabled the account."""


@dataclass(frozen=True)
class LoginResult:
    token: str
    session_id: str
    expires_at: datetime
    user: User


def client_address(conn: HTTPConnection) -> str:
    """The peer's address (behind a reverse proxy: its X-Forwarded-For, see serve --forwarded-allow-ips)."""
    return conn.client.host if conn.client is not None else "unknown"


def principal_of_user(user: User) -> Principal:
    return Principal(
        subject=user.id, name=user.username, role=cast(Role, user.role), departments=tuple(user.departments)
    )


def _same_origin(conn: HTTPConnection) -> bool:
    origin = conn.headers.get("origin")
    if origin is None:
        return True
    host = conn.headers.get("host", "").lower()
    return bool(host) and urlsplit(origin).netloc.lower() == host


class AuthService:
    def __init__(self, settings: AuthSettings | None = None) -> None:
        self.settings = settings or AuthSettings()
        s = self.settings
        self.throttle = LoginThrottle(
            s.clock,
            s.max_failures,
            s.failure_window_s,
            s.lockout_s,
            max_failures_per_address=s.max_failures_per_address,
            max_lockout_s=s.max_lockout_s,
        )

    def now(self) -> datetime:
        return from_unix(self.settings.clock.now())

    # -- every request ----------------------------------------------------

    def authenticate(self, conn: HTTPConnection, ctx: AppContext) -> Principal | None:
        """The caller, or None when no valid credential was presented."""
        api_key = conn.headers.get(API_KEY_HEADER)
        if api_key is not None:
            return self._by_api_key(ctx, api_key.strip())
        authorization = conn.headers.get("authorization")
        if authorization is not None:
            scheme, _, value = authorization.strip().partition(" ")
            value = value.strip()
            if scheme.lower() != "bearer" or not value:
                return None
            if apikeys.looks_like_key(value):
                return self._by_api_key(ctx, value)
            return self._by_token(conn, ctx, value)
        cookie = conn.cookies.get(SESSION_COOKIE)
        if cookie:
            if not _same_origin(conn):
                log.warning("refused a session cookie sent from origin %r", conn.headers.get("origin"))
                return None
            return self._by_token(conn, ctx, cookie)
        return None

    def _by_token(self, conn: HTTPConnection, ctx: AppContext, token: str) -> Principal | None:
        with ctx.db.session() as session:
            found = tokens.resolve(session, token, self.now())
            if found is None:
                return None
            row, user = found
            if user.disabled:
                return None
            conn.state.auth_session_id = row.id
            conn.state.auth_session_expires_at = row.expires_at
            return principal_of_user(user)

    def _by_api_key(self, ctx: AppContext, key: str) -> Principal | None:
        with ctx.db.session() as session:
            row = apikeys.verify(session, key, self.now())
            if row is None:
                return None
            return Principal(
                subject=f"apikey:{row.id}",
                name=row.name,
                role=cast(Role, row.role),
                departments=tuple(row.departments),
                api_key_id=row.id,
            )

    # -- login, logout, password ------------------------------------------

    def login(self, ctx: AppContext, username: str, password: str, client: str) -> LoginResult:
        """Check the password and open a session; raises LoginLocked / LoginFailed / AccountDisabled."""
        retry = self.throttle.begin(username, client)
        if retry is not None:
            raise LoginLocked(retry)
        try:
            return self._login(ctx, username, password, client)
        finally:
            self.throttle.end(username, client)

    def _login(self, ctx: AppContext, username: str, password: str, client: str) -> LoginResult:
        with ctx.db.session() as session:  # short: no argon2 while holding a connection
            user = find_user(session, username)
        if user is None:
            burn_time(password)  # "no such user" takes as long as "wrong password"
        if user is None or not verify_password(user.password_hash, password):
            lock = self.throttle.failure_detail(username, client)
            log.warning("failed sign-in for %r from %s", username[:100], client)
            if lock is not None:
                with ctx.db.session() as session:
                    write_audit(
                        session,
                        "anonymous",
                        "auth.lockout",
                        user.id if user is not None else None,
                        {
                            "username": username[:100],
                            "ip": client,
                            "seconds": lock.seconds,
                            "scope": lock.scope,
                        },
                    )
            raise LoginFailed()
        self.throttle.success(username, client)
        if user.disabled:
            raise AccountDisabled()
        now = self.now()
        new_hash = hash_password(password) if needs_rehash(user.password_hash) else None
        with ctx.db.session() as session:
            row_user = session.get(User, user.id)
            if row_user is None:  # deleted between the two transactions
                raise LoginFailed()
            if new_hash is not None:
                row_user.password_hash = new_hash
            row_user.last_login_at = now
            row_user.updated_at = now  # explicit, or the column's onupdate uses the wall clock
            token, row = tokens.issue(session, row_user.id, now, self.settings.token_ttl)
            tokens.purge(session, now)
            write_audit(
                session,
                f"user:{row_user.id}",
                "auth.login",
                row_user.id,
                {"actor_name": row_user.username, "ip": client, "session_id": row.id},
            )
            return LoginResult(token, row.id, row.expires_at, row_user)

    def logout(self, ctx: AppContext, principal: Principal, session_id: str, client: str) -> None:
        now = self.now()
        with ctx.db.session() as session:
            tokens.revoke(session, session_id, now)
            write_audit(
                session,
                f"user:{principal.subject}",
                "auth.logout",
                principal.subject,
                {"actor_name": principal.name, "ip": client, "session_id": session_id},
            )

    def change_password(
        self,
        ctx: AppContext,
        principal: Principal,
        current: str,
        new: str,
        session_id: str | None,
        client: str,
    ) -> int:
        """A user changes their own password; their other sessions end. Raises LoginFailed
        for a wrong current password (counted by the throttle) and WeakPassword."""
        retry = self.throttle.begin(principal.name, client)
        if retry is not None:
            raise LoginLocked(retry)
        try:
            with ctx.db.session() as session:
                user = session.get(User, principal.subject)
                stored_hash = user.password_hash if user is not None else ""
            if user is None or not verify_password(stored_hash, current):
                self.throttle.failure(principal.name, client)
                raise LoginFailed()
        finally:
            self.throttle.end(principal.name, client)
        now = self.now()
        with ctx.db.session() as session:
            row_user = session.get(User, principal.subject)
            if row_user is None:
                raise LoginFailed()
            ended = set_password(session, row_user, new, now, keep_session=session_id)
            write_audit(
                session,
                f"user:{row_user.id}",
                "user.password_change",
                row_user.id,
                {"actor_name": row_user.username, "ip": client, "sessions_ended": ended},
            )
        return ended


def install_auth(app: FastAPI, settings: AuthSettings | None = None) -> AuthService:
    """Make ``app`` authenticate callers (``app.state.authenticate``); replaces a previous install."""
    service = AuthService(settings or AuthSettings.from_env())
    app.state.auth = service
    app.state.authenticate = service.authenticate
    return service


def websocket_principal(websocket: WebSocket) -> Principal:
    """Dependency for WebSocket routes (``current_principal`` takes a ``Request``,
    which WebSocket routes do not have). Browsers cannot set headers on a
    WebSocket, so the web UI is recognised by its session cookie (checked
    against ``Origin``); other clients send a header. Refuses the handshake
    with close code 1008 (policy violation)."""
    principal: Principal | None = websocket.app.state.authenticate(websocket, websocket.app.state.ctx)
    if principal is None:
        raise WebSocketException(status.WS_1008_POLICY_VIOLATION, "sign in first")
    return principal


def get_auth(request: Request) -> AuthService:
    """FastAPI dependency: the app's :class:`AuthService`."""
    service: AuthService = request.app.state.auth
    return service


AuthDep = Annotated[AuthService, Depends(get_auth)]
