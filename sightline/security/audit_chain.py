"""The audit log's HMAC chain: each record's ``hash`` is

    HMAC-SHA256(audit key, prev_hash + "\\n" + canonical JSON of the record)

where ``prev_hash`` is the previous record's ``hash`` (empty for the first).
Editing a record changes its hash; recomputing it needs the key; deleting a
record breaks the next record's link. What the chain cannot show alone is
that the newest records were cut off: ``sightline audit verify`` prints the
count and the head hash so an operator (or a monitor) can note them and
compare later.

Linear under concurrency: records come from many threads and processes, so
appending serialises on the database itself — on PostgreSQL a transaction-
scoped advisory lock taken before the insert, on SQLite the single write lock
that the INSERT takes — and the predecessor is read *after* that, inside the
same transaction. Holding the lock until commit means no two records ever
claim the same predecessor.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from sightline.storage.models import AuditRecord

SESSION_INFO_KEY = "sightline.audit_key"
PG_LOCK_ID = 0x5347_4C41  # "SGLA": the advisory lock that serialises audit appends


class AuditChainUnavailable(RuntimeError):
    """An audit record was written through a database opened without the server key."""


def canonical(record: AuditRecord) -> bytes:
    """The record's fields as compact, key-sorted JSON (the bytes the HMAC covers)."""
    at = record.at.astimezone(UTC).isoformat()
    body = {
        "id": record.id,
        "at": at,
        "actor": record.actor,
        "action": record.action,
        "target": record.target,
        "details": record.details,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def link_hash(key: bytes, prev_hash: str | None, record: AuditRecord) -> str:
    message = (prev_hash or "").encode("ascii") + b"\n" + canonical(record)
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def audit_key_of(session: Session) -> bytes:
    key: bytes | None = session.info.get(SESSION_INFO_KEY)
    if not key:
        raise AuditChainUnavailable(
            "audit records need the server key for their HMAC chain; open the database through "
            "AppContext.open (or Database.install_server_keys)"
        )
    return key


def append(session: Session, record: AuditRecord) -> AuditRecord:
    """Add ``record`` to the chain inside the caller's transaction."""
    key = audit_key_of(session)
    # JSON round trip: hash exactly what the database will give back (tuples become lists, …).
    record.details = json.loads(json.dumps(record.details))
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": PG_LOCK_ID})
    session.add(record)
    session.flush()  # assigns the id; on SQLite also takes the write lock until commit
    record.prev_hash = session.scalar(
        select(AuditRecord.hash).where(AuditRecord.id < record.id).order_by(AuditRecord.id.desc()).limit(1)
    )
    record.hash = link_hash(key, record.prev_hash, record)
    session.flush()
    return record


@dataclass(frozen=True)
class Verdict:
    ok: bool
    count: int  # records checked (all of them when ok)
    head: str | None = None  # hash of the last record when ok
    broken_id: int | None = None
    reason: str = ""


def _records(session: Session, batch: int = 1000) -> Iterator[AuditRecord]:
    last = 0
    while True:
        rows = list(
            session.scalars(
                select(AuditRecord).where(AuditRecord.id > last).order_by(AuditRecord.id).limit(batch)
            )
        )
        if not rows:
            return
        yield from rows
        last = rows[-1].id
        session.expunge_all()


def verify(session: Session, key: bytes) -> Verdict:
    """Walk the chain in id order; the first record that does not check out is reported."""
    prev: AuditRecord | None = None
    count = 0
    for record in _records(session):
        expected_prev = prev.hash if prev is not None else None
        if record.hash is None:
            return Verdict(
                False, count, broken_id=record.id, reason="it has no hash (removed, or never chained)"
            )
        if record.prev_hash != expected_prev:
            before = f"record {prev.id}" if prev is not None else "the start of the log"
            gap = (
                " (records in between were deleted)" if prev is not None and record.id != prev.id + 1 else ""
            )
            return Verdict(
                False,
                count,
                broken_id=record.id,
                reason=f"its link does not match {before}: a record before it was deleted or altered{gap}",
            )
        if not hmac.compare_digest(record.hash, link_hash(key, record.prev_hash, record)):
            return Verdict(
                False, count, broken_id=record.id, reason="its contents were changed after it was written"
            )
        prev = record
        count += 1
    return Verdict(True, count, head=prev.hash if prev is not None else None)
