"""The audit log: one ``AuditRecord`` row for every write (C5).

Every route that changes state calls :func:`audit` (or the :class:`Auditor`
dependency) with a dotted action — ``camera.create``, ``task.start``,
``user.update`` — the id of the thing changed and a small JSON ``details``.

- **Same transaction when you can**: pass ``session=`` to write the record in
  the transaction that makes the change, so there is never a change without
  its record (or a record of a change that rolled back).
- **No secrets, ever**: ``details`` is scrubbed before it is stored — values
  under keys that look secret (password, secret, token, key, hash, cookie,
  authorization, credential) become ``"***"`` and ``user:password@`` in URLs
  becomes ``***@`` — so a careless caller cannot leak a camera password or an
  API key into the log. Still, pass what changed, not the request body.
- **Actor** is ``user:<id>``, ``apikey:<id>`` or ``system:<what>`` (CLI,
  start-up); the name and role at the time go into ``details`` because names
  can change later.
- **Chained**: :func:`write_audit` appends through
  :func:`sightline.security.audit_chain.append`, which fills ``prev_hash`` and
  ``hash`` (HMAC with the server key) so ``sightline audit verify`` detects an
  edited or deleted record. It flushes the caller's session.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import PurePath
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from sightline.api.context import AppContext
from sightline.api.deps import Principal, current_principal, get_ctx
from sightline.security.audit_chain import append as append_to_chain
from sightline.sources.config import redact_url
from sightline.storage.models import AuditRecord
from sightline.storage.types import utcnow

REDACTED = "***"
_SECRET_WORDS = ("password", "passwd", "secret", "token", "hash", "cookie", "authorization", "credential")
_SECRET_NAMES = {"key", "api_key", "apikey", "x-api-key", "private_key"}
_MAX_DEPTH = 8
_MAX_STRING = 2000


def is_secret_name(name: str) -> bool:
    lowered = name.lower()
    return lowered in _SECRET_NAMES or any(word in lowered for word in _SECRET_WORDS)


def scrub(value: Any, _depth: int = 0) -> Any:
    """``value`` as JSON-safe data with secrets replaced by ``"***"``."""
    if _depth > _MAX_DEPTH:
        return "…"
    if isinstance(value, Mapping):
        return {  # a flag such as {"password_reset": true} holds no secret; anything else is hidden
            str(k): REDACTED
            if is_secret_name(str(k)) and not isinstance(v, bool | None)
            else scrub(v, _depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [scrub(v, _depth + 1) for v in value]
    if isinstance(value, str):
        text = redact_url(value) if "@" in value or "=" in value else value
        return text if len(text) <= _MAX_STRING else text[:_MAX_STRING] + "…"
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return scrub(value.value, _depth + 1)
    if isinstance(value, uuid.UUID | PurePath):
        return str(value)
    model_dump = getattr(value, "model_dump", None)  # pydantic models
    if callable(model_dump):
        return scrub(model_dump(mode="json"), _depth + 1)
    return scrub(str(value), _depth + 1)


def actor_of(principal: Principal | None) -> str:
    """``user:<id>``, ``apikey:<id>`` or ``anonymous``."""
    if principal is None:
        return "anonymous"
    if principal.api_key_id is not None:
        return f"apikey:{principal.api_key_id}"
    return f"user:{principal.subject}"


def write_audit(
    session: Session,
    actor: str,
    action: str,
    target: str | None = None,
    details: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditRecord:
    """Add one record to ``session`` (the caller's transaction). Low level: routes use :func:`audit`."""
    record = AuditRecord(
        at=at or utcnow(),
        actor=actor[:200],
        action=action[:100],
        target=None if target is None else str(target)[:300],
        details=scrub(dict(details or {})),
    )
    return append_to_chain(session, record)


def audit(
    ctx: AppContext,
    principal: Principal | None,
    action: str,
    target: str | None = None,
    details: Mapping[str, Any] | None = None,
    *,
    session: Session | None = None,
    request: Request | None = None,
) -> None:
    """Record that ``principal`` did ``action`` to ``target``.

    With ``session`` the record joins that transaction; without, it is
    written in a transaction of its own."""
    full: dict[str, Any] = {}
    if principal is not None:
        full["actor_name"] = principal.name
        full["actor_role"] = principal.role
    if request is not None and request.client is not None:
        full["ip"] = request.client.host
    full.update(details or {})
    if session is not None:
        write_audit(session, actor_of(principal), action, target, full)
        return
    with ctx.db.session() as own:
        write_audit(own, actor_of(principal), action, target, full)


class Auditor:
    """``audit`` bound to the request's context, caller and client address.

    In a route::

        def create_camera(body: CameraIn, auditor: AuditorDep) -> CameraOut:
            with auditor.ctx.db.session() as s:
                ...
                auditor("camera.create", camera.id, {"name": camera.name}, session=s)
    """

    def __init__(self, ctx: AppContext, principal: Principal, request: Request | None = None) -> None:
        self.ctx = ctx
        self.principal = principal
        self.request = request

    def __call__(
        self,
        action: str,
        target: str | None = None,
        details: Mapping[str, Any] | None = None,
        *,
        session: Session | None = None,
    ) -> None:
        audit(self.ctx, self.principal, action, target, details, session=session, request=self.request)


def get_auditor(
    request: Request,
    ctx: Annotated[AppContext, Depends(get_ctx)],
    principal: Annotated[Principal, Depends(current_principal)],
) -> Auditor:
    """FastAPI dependency: an :class:`Auditor` for the signed-in caller (implies authentication)."""
    return Auditor(ctx, principal, request)


AuditorDep = Annotated[Auditor, Depends(get_auditor)]
