"""Login tokens: opaque random tokens whose SHA-256 is a row in ``sessions``.

Why opaque tokens in a table rather than signed tokens (JWT and the like):

- **Revocation and expiry are real.** Logout, a password reset, a disabled
  account or "sign out everywhere" end the session on the very next request,
  because the row says so. A signed token stays valid until it expires unless
  every process consults a revocation list — which is a table again, plus a
  signing key to generate, keep secret, share between processes and rotate.
- **It costs nothing extra.** Every request must read the user row anyway, so
  a role change or a disabled account acts at once; finding the session by its
  unique hash is one more index probe in the same query.
- **A copy of the database yields no usable token**: only ``sha256(token)`` is
  stored. A fast hash is right here: the token is 256 random bits, so there is
  nothing to guess, and a slow hash would tax every request.

Tokens look like ``slt_<43 url-safe characters>``; the prefix tells them
apart from API keys (``sl_...``) and lets secret scanners recognise them.
``last_seen_at`` is written at most once a minute per session, so reading the
API does not turn into a write per request (SQLite has one writer).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from sightline.auth.models import LoginSession
from sightline.storage.models import User

TOKEN_PREFIX = "slt_"
DEFAULT_TTL = timedelta(hours=12)
TOUCH_INTERVAL = timedelta(minutes=1)
KEEP_ENDED = timedelta(days=7)  # ended sessions stay this long (for "where am I signed in"), then go


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def looks_like_token(value: str) -> bool:
    return value.startswith(TOKEN_PREFIX) and 20 <= len(value) <= 200


def issue(
    session: Session, user_id: str, now: datetime, ttl: timedelta = DEFAULT_TTL
) -> tuple[str, LoginSession]:
    """Create a session for ``user_id``; returns the token (shown once) and the row."""
    token = new_token()
    row = LoginSession(
        id=uuid.uuid4().hex,
        user_id=user_id,
        token_hash=hash_token(token),
        created_at=now,
        expires_at=now + ttl,
        last_seen_at=now,
    )
    session.add(row)
    session.flush()
    return token, row


def is_active(row: LoginSession, now: datetime) -> bool:
    return row.revoked_at is None and now < row.expires_at


def resolve(session: Session, token: str, now: datetime) -> tuple[LoginSession, User] | None:
    """The live session and its user for ``token``; None when unknown, expired or revoked.

    Whether the user may act (disabled) is the caller's decision."""
    if not looks_like_token(token):
        return None
    found = session.execute(
        select(LoginSession, User)
        .join(User, User.id == LoginSession.user_id)
        .where(LoginSession.token_hash == hash_token(token))
    ).first()
    if found is None:
        return None
    row, user = found[0], found[1]
    if not is_active(row, now):
        return None
    if row.last_seen_at is None or now - row.last_seen_at >= TOUCH_INTERVAL:
        row.last_seen_at = now
    return row, user


def revoke(session: Session, session_id: str, now: datetime) -> bool:
    """End one session; False when it was already ended or does not exist."""
    result = session.execute(
        update(LoginSession)
        .where(LoginSession.id == session_id, LoginSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def revoke_user_sessions(session: Session, user_id: str, now: datetime, keep: str | None = None) -> int:
    """End every live session of ``user_id`` except ``keep``; returns how many ended."""
    stmt = update(LoginSession).where(
        LoginSession.user_id == user_id, LoginSession.revoked_at.is_(None), LoginSession.expires_at > now
    )
    if keep is not None:
        stmt = stmt.where(LoginSession.id != keep)
    return int(session.execute(stmt.values(revoked_at=now)).rowcount)  # type: ignore[attr-defined]


def purge(session: Session, now: datetime, keep_ended: timedelta = KEEP_ENDED) -> int:
    """Delete sessions that ended more than ``keep_ended`` ago (keeps the table small)."""
    cutoff = now - keep_ended
    stmt = delete(LoginSession).where(or_(LoginSession.expires_at < cutoff, LoginSession.revoked_at < cutoff))
    return int(session.execute(stmt).rowcount)  # type: ignore[attr-defined]
