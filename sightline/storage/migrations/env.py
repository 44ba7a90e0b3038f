"""Alembic environment, driven by :meth:`sightline.storage.db.Database.upgrade`.

Why in code: the package ships its migrations, so ``pip install sightline``
is enough to create or upgrade a database; there is no ``alembic.ini``. The
caller hands over an open connection in ``config.attributes["connection"]``.

New revision (review the result, it is a draft):
``python -m sightline.storage revision -m "what changed" --url sqlite:///scratch.db``
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import types as sqltypes

from sightline.storage.models import Base
from sightline.storage.types import UTCDateTime

target_metadata = Base.metadata


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Write our portable column types as plain SQLAlchemy in migrations, so
    a migration never depends on application code that may change later."""
    if type_ != "type":
        return False
    if isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    variants = getattr(obj, "_variant_mapping", None)
    if variants and "postgresql" in variants:
        autogen_context.imports.add("from sqlalchemy.dialects import postgresql")
        if isinstance(obj, sqltypes.JSON):
            return "sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')"
    if variants and "sqlite" in variants and isinstance(obj, sqltypes.BigInteger):
        return "sa.BigInteger().with_variant(sa.Integer(), 'sqlite')"
    return False


def run_migrations() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError(
            "Sightline migrations run through sightline.storage.db.Database.upgrade() "
            "or `python -m sightline.storage upgrade`, which pass an open connection"
        )
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite ALTER = copy table
        compare_type=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
