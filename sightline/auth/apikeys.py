"""API keys for applications (C2): ``sl_<prefix>_<secret>``, shown once, stored hashed.

- The key is ``sl_`` + an 8-character public prefix + ``_`` + 256 random
  bits (43 url-safe characters). The prefix is stored in clear so people can
  tell keys apart in lists and logs; it proves nothing on its own.
- Only ``sha256(key)`` is stored, under a unique index, so checking a key is
  one index probe. **Why not argon2 here:** slow hashes protect *guessable*
  secrets (human passwords). A 256-bit random key cannot be guessed however
  fast the hash, so argon2 would add ~50 ms of CPU to every API call — turning
  API keys into a denial-of-service lever — and protect nothing more.
- A key carries a role and departments like a user; it is revoked, never
  deleted, so the audit log keeps pointing at something.
- ``last_used_at`` is written at most once a minute per key, so a busy
  application does not turn every read into a write.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import string
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from sightline.storage.models import ApiKey

KEY_PREFIX = "sl_"
PUBLIC_PREFIX_LEN = 8
TOUCH_INTERVAL = timedelta(minutes=1)
_ALPHABET = string.ascii_lowercase + string.digits
_KEY_RE = re.compile(r"^sl_[a-z0-9]{8}_[A-Za-z0-9_-]{40,64}$")


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def looks_like_key(value: str) -> bool:
    return bool(_KEY_RE.match(value))


def generate() -> tuple[str, str]:
    """A new key and its public prefix: ``("sl_ab12cd34_<secret>", "ab12cd34")``."""
    prefix = "".join(secrets.choice(_ALPHABET) for _ in range(PUBLIC_PREFIX_LEN))
    return f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}", prefix


def create(
    session: Session,
    name: str,
    role: str,
    now: datetime,
    departments: Sequence[str] = (),
    owner_id: str | None = None,
) -> tuple[ApiKey, str]:
    """Store a new key; returns the row and the key itself (shown to the caller once)."""
    key, prefix = generate()
    row = ApiKey(
        id=uuid.uuid4().hex,
        name=name,
        key_hash=hash_key(key),
        key_prefix=prefix,
        role=role,
        departments=list(departments),
        owner_id=owner_id,
        created_at=now,
        revoked=False,
    )
    session.add(row)
    session.flush()
    return row, key


def verify(session: Session, key: str, now: datetime) -> ApiKey | None:
    """The live key row for ``key``; None when malformed, unknown or revoked."""
    if not looks_like_key(key):
        return None
    row = session.scalars(select(ApiKey).where(ApiKey.key_hash == hash_key(key))).first()
    if row is None or row.revoked:
        return None
    if row.last_used_at is None or now - row.last_used_at >= TOUCH_INTERVAL:
        row.last_used_at = now
    return row


def revoke(session: Session, key_id: str, now: datetime) -> ApiKey | None:
    """Revoke a key (idempotent); None when there is no such key."""
    row = session.get(ApiKey, key_id)
    if row is None:
        return None
    if not row.revoked:
        row.revoked = True
        row.revoked_at = now
    return row
