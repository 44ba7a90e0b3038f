"""Put the server key to work on a freshly opened database (service and CLI).

The database remembers a fingerprint of its key (``server_settings.key_check``,
derived with its own HKDF label, so it reveals nothing of the key). Starting
with another key is refused at once: otherwise a lost key file silently
replaced by a new one, or a mistyped ``SIGHTLINE_SECRET_KEY``, would start a
service that cannot read its camera passwords and writes an audit chain no
one can verify, and the first sign would be a failure hours later.
"""

from __future__ import annotations

import hmac
import logging
import os
from collections.abc import Mapping
from pathlib import Path

from sqlalchemy import Text, select, type_coerce
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sightline.security.audit_chain import link_hash
from sightline.security.keys import KEY_ENV, KEY_FILE_NAME, ServerKeyError, ServerKeys, load_server_keys
from sightline.security.secretbox import SecretBox, SecretDecryptError
from sightline.storage.db import Database
from sightline.storage.encrypted import ENCRYPTED_PREFIX, encrypt_legacy_rows
from sightline.storage.models import AuditRecord, Camera, ServerSetting, Subscription

log = logging.getLogger(__name__)

KEY_CHECK = "key_check"
KEY_CHECK_PURPOSE = "sightline key check v1"


def secure_database(
    db: Database, data_dir: Path, environ: Mapping[str, str] | None = None, *, create_key: bool = True
) -> ServerKeys:
    """Load the server key, check it is this database's key, install it on ``db``,
    and encrypt secrets still stored in plaintext (rows from before encryption at rest).

    Audit records without a hash are deliberately *not* chained here: anyone
    who can write the database could then blank the hashes, edit records and
    have the next start bless them. ``audit verify`` reports such records."""
    env = os.environ if environ is None else environ
    key_file = Path(data_dir) / KEY_FILE_NAME
    key_configured = bool(env.get(KEY_ENV, "").strip()) or key_file.exists()
    if create_key and not key_configured and _holds_protected_data(db):
        raise ServerKeyError(
            f"this database holds data protected by a server key (encrypted camera passwords or webhook "
            f"secrets, a chained audit log) but {key_file} is missing and {KEY_ENV} is not set; restore the "
            f"key file from your backup or set {KEY_ENV} as before (a new key could read none of it)"
        )
    keys = load_server_keys(data_dir, environ, create=create_key)
    check_key(db, keys)
    db.install_server_keys(keys)
    with db.session() as session:
        encrypted = encrypt_legacy_rows(session, list(_ENCRYPTED_COLUMNS))
    if encrypted:
        log.info("encrypted %d stored camera URL(s) / webhook secret(s) at rest", encrypted)
    return keys


def key_fingerprint(keys: ServerKeys) -> str:
    return keys.derive(KEY_CHECK_PURPOSE, 16).hex()


def check_key(db: Database, keys: ServerKeys, *, remember: bool = True) -> None:
    """Refuse ``keys`` when the database was set up with another key; remember
    them (unless ``remember`` is False) when it was set up with none yet (new,
    or from before key checks)."""
    fingerprint = key_fingerprint(keys)
    for _ in range(2):  # a second try when another process wrote the check first
        with db.session() as session:
            stored = session.get(ServerSetting, KEY_CHECK)
            if stored is not None:
                if not hmac.compare_digest(stored.value, fingerprint):
                    raise _wrong_key(keys)
                return
        if not remember:
            return
        _prove_key(db, keys)
        try:
            with db.session() as session:
                session.add(ServerSetting(name=KEY_CHECK, value=fingerprint))
            return
        except IntegrityError:
            continue


_ENCRYPTED_COLUMNS = (Camera.url, Subscription.secret)


def _prove_key(db: Database, keys: ServerKeys) -> None:
    """Before a key is remembered for a database that already holds protected data
    (one from before key checks): it must open that data, or a mistyped key
    would become "the" key and the right one be refused from then on."""
    with db.session() as session:
        stored = _an_encrypted_value(session)
        if stored is not None:
            try:
                SecretBox(keys).decrypt(stored)
            except SecretDecryptError:
                raise _wrong_key(keys) from None
            return
        newest = _newest_chained_record(session)
        if newest is not None and not hmac.compare_digest(
            newest.hash or "", link_hash(keys.audit_key, newest.prev_hash, newest)
        ):
            raise _wrong_key(keys)


def _an_encrypted_value(session: Session) -> str | None:
    """One stored ``enc:v1:`` value (camera URL or webhook secret), as stored."""
    for column in _ENCRYPTED_COLUMNS:
        raw = type_coerce(column, Text)  # the stored text, not decrypted
        stored = session.scalar(select(raw).where(raw.like(ENCRYPTED_PREFIX + "%")).limit(1))
        if stored is not None:
            return str(stored)
    return None


def _newest_chained_record(session: Session) -> AuditRecord | None:
    return session.scalar(
        select(AuditRecord).where(AuditRecord.hash.is_not(None)).order_by(AuditRecord.id.desc()).limit(1)
    )


def _wrong_key(keys: ServerKeys) -> ServerKeyError:
    return ServerKeyError(
        f"the server key from {keys.source} is not the key this database was set up with; "
        f"start with the original key (restore {KEY_FILE_NAME} from your backup, or set "
        f"{KEY_ENV} as before): with another key stored camera passwords and webhook "
        "secrets cannot be read and the audit chain cannot be verified"
    )


def _holds_protected_data(db: Database) -> bool:
    """Whether anything in the database needs its existing key to be read or verified."""
    with db.session() as session:
        return (
            session.get(ServerSetting, KEY_CHECK) is not None
            or _newest_chained_record(session) is not None
            or _an_encrypted_value(session) is not None
        )
