"""``EncryptedText``: a text column stored encrypted (camera URLs, webhook secrets).

Why a column type rather than encrypting in the routers: every read and
write goes through it — ORM objects, ``select(Subscription.secret)``, bulk
updates — so no code path can store or hand out plaintext by forgetting a call.

The cipher belongs to one :class:`~sightline.storage.db.Database` (two apps in
one test process may use different keys), and SQLAlchemy hands a type only the
engine's dialect, so :meth:`Database.install_server_keys` hangs the cipher
there. A Database opened without server keys (storage tests, schema tools)
stores plaintext and refuses to read encrypted values; the service always
installs the keys (``AppContext.open``).
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import Text, select, type_coerce, update
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator

DIALECT_ATTR = "sightline_secret_box"
ENCRYPTED_PREFIX = "enc:v1:"


class Cipher(Protocol):
    def encrypt(self, plaintext: str) -> str: ...

    def decrypt(self, stored: str) -> str: ...


class SecretsUnavailable(RuntimeError):
    """An encrypted value was read from a database opened without the server key."""


class EncryptedText(TypeDecorator[str]):
    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        cipher: Cipher | None = getattr(dialect, DIALECT_ATTR, None)
        if value is None or cipher is None:
            return value
        return cipher.encrypt(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None or not value.startswith(ENCRYPTED_PREFIX):
            return value
        cipher: Cipher | None = getattr(dialect, DIALECT_ATTR, None)
        if cipher is None:
            raise SecretsUnavailable(
                "this database holds encrypted camera URLs or webhook secrets; open it through the "
                "service (AppContext.open) so the server key is loaded"
            )
        return cipher.decrypt(value)


def encrypt_legacy_rows(session: Session, columns: list[Any]) -> int:
    """Encrypt values of ``columns`` (EncryptedText ORM attributes) still stored in
    plaintext, e.g. written before encryption at rest existed. Returns how many."""
    changed = 0
    for column in columns:
        table = column.class_.__table__
        raw = type_coerce(column, Text)  # the stored text, not decrypted
        pk = table.primary_key.columns.values()[0]
        rows = session.execute(
            select(pk, raw).where(column.is_not(None), raw.not_like(ENCRYPTED_PREFIX + "%"))
        ).all()
        for key, plaintext in rows:
            session.execute(update(table).where(pk == key).values({column.key: plaintext}))
            changed += 1
    return changed
