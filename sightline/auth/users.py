"""User records: creation, password changes, the last-admin guard, the first admin.

Shared by the HTTP routes and the CLI so both enforce the same rules:

- usernames are lower-cased (``Alice`` and ``alice`` are one person) and limited
  to letters, digits and ``. _ @ -``;
- every password passes :func:`sightline.auth.passwords.check_policy`;
- the platform always keeps one enabled admin: deleting, disabling or demoting
  the last one is refused. The check locks the admin rows (``FOR UPDATE`` on
  PostgreSQL; SQLite has one writer anyway), so two admins removing each
  other at the same moment cannot both succeed;
- there is **no default password**: the first admin is created by
  ``sightline users create-admin`` or, for unattended installs, from
  ``SIGHTLINE_ADMIN_USER`` + ``SIGHTLINE_ADMIN_PASSWORD`` at start-up, and only
  while no admin exists.
"""

from __future__ import annotations

import logging
import os
import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sightline.api.audit import write_audit
from sightline.auth import ADMIN_PASSWORD_ENV, ADMIN_USER_ENV, tokens
from sightline.auth.passwords import check_policy, hash_password
from sightline.storage.db import Database
from sightline.storage.models import ROLES, User
from sightline.storage.types import utcnow

log = logging.getLogger(__name__)

_USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,99}$")


class UserError(ValueError):
    """A request about users that cannot be done; the message says why."""


class InvalidUsername(UserError):
    pass


class UserExists(UserError):
    pass


class LastAdmin(UserError):
    pass


class AdminExists(UserError):
    pass


def normalize_username(username: str) -> str:
    name = username.strip().lower()
    if not _USERNAME_RE.match(name):
        raise InvalidUsername(
            f"invalid username {username!r}: use 1-100 letters, digits, '.', '_', '@' or '-', "
            "starting with a letter or digit"
        )
    return name


def find_user(session: Session, username: str) -> User | None:
    return session.scalars(select(User).where(User.username == username.strip().lower())).first()


def create_user(
    session: Session,
    username: str,
    password: str,
    role: str,
    now: datetime | None = None,
    display_name: str = "",
    departments: Sequence[str] = (),
) -> User:
    """Add a user; raises :class:`UserError` or ``WeakPassword`` with a clear message."""
    name = normalize_username(username)
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    check_policy(password, name)
    if find_user(session, name) is not None:
        raise UserExists(f"a user named {name!r} already exists")
    now = now or utcnow()
    user = User(
        id=uuid.uuid4().hex,
        username=name,
        display_name=display_name,
        password_hash=hash_password(password),
        role=role,
        departments=list(departments),
        disabled=False,
        created_at=now,
        updated_at=now,
    )
    session.add(user)
    session.flush()
    return user


def set_password(
    session: Session, user: User, password: str, now: datetime, keep_session: str | None = None
) -> int:
    """Set a new password and end the user's other sessions; returns how many ended."""
    check_policy(password, user.username)
    user.password_hash = hash_password(password)
    user.updated_at = now
    return tokens.revoke_user_sessions(session, user.id, now, keep=keep_session)


def enabled_admin_ids(session: Session, lock: bool = False) -> list[str]:
    stmt = select(User.id).where(User.role == "admin", User.disabled.is_(False))
    if lock:
        stmt = stmt.with_for_update()
    return list(session.scalars(stmt))


def guard_last_admin(
    session: Session,
    user: User,
    *,
    deleting: bool = False,
    role: str | None = None,
    disabled: bool | None = None,
) -> None:
    """Raise :class:`LastAdmin` if the change would leave no enabled admin."""
    admins = enabled_admin_ids(session, lock=True)
    if user.id not in admins:
        return
    stays_admin = (
        not deleting
        and (role or user.role) == "admin"
        and not (disabled if disabled is not None else user.disabled)
    )
    if not stays_admin and len(admins) <= 1:
        raise LastAdmin(
            f"{user.username!r} is the last enabled admin: make another user admin first "
            "(Sightline must always keep one)"
        )


def count_users(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(User)) or 0)


def ensure_first_admin(db: Database, username: str, password: str, *, actor: str = "system:cli") -> User:
    """Create the first admin; refuses when an (enabled or disabled) admin already exists.

    Raises :class:`AdminExists`, :class:`UserExists`, :class:`InvalidUsername`
    or ``WeakPassword`` (never accepts an empty or weak password)."""
    with db.session() as session:
        admins = list(session.scalars(select(User.username).where(User.role == "admin").with_for_update()))
        if admins:
            raise AdminExists(
                f"an admin already exists ({', '.join(sorted(admins))}); sign in as an admin to add "
                "users, or use `sightline users set-password` to recover an account"
            )
        user = create_user(session, username, password, "admin")
        write_audit(session, actor, "user.create_first_admin", user.id, {"username": user.username})
    log.info("created the first admin %r", user.username)
    return user


def bootstrap_admin_from_env(db: Database, environ: Mapping[str, str] | None = None) -> str:
    """At ``serve`` start: create the first admin from ``SIGHTLINE_ADMIN_USER`` and
    ``SIGHTLINE_ADMIN_PASSWORD`` when both are set and no admin exists.

    Returns a line for the log. Raises :class:`UserError` / ``WeakPassword``
    when the variables are set but unusable (better to stop than to run with
    no way in)."""
    env = os.environ if environ is None else environ
    username, password = env.get(ADMIN_USER_ENV, ""), env.get(ADMIN_PASSWORD_ENV, "")
    with db.session() as session:
        has_admin = bool(session.scalar(select(func.count()).select_from(User).where(User.role == "admin")))
    if has_admin:
        if username or password:
            return f"an admin exists; ignoring {ADMIN_USER_ENV}/{ADMIN_PASSWORD_ENV} (unset them)"
        return "admin account present"
    if not username or not password:
        return (
            "no admin account yet: run `sightline users create-admin --username NAME`, or set "
            f"{ADMIN_USER_ENV} and {ADMIN_PASSWORD_ENV} for an unattended install"
        )
    user = ensure_first_admin(db, username, password, actor="system:env")
    return f"created the first admin {user.username!r} from {ADMIN_USER_ENV}/{ADMIN_PASSWORD_ENV}"
