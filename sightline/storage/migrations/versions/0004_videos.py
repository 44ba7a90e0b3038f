"""Uploaded videos (T1 recorded-file analysis) and the ``finished`` task status.

- ``videos``: one row per uploaded file that passed its checks (the file
  itself is on disk, content-addressed by its sha256).
- ``tasks.status`` may be ``finished``: a recorded-file analysis that reached
  the end of its file. The CHECK constraint is replaced; on SQLite that means
  rebuilding ``tasks`` in batch mode (a small table: one row per task).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_STATUSES = "'created', 'starting', 'running', 'stopping', 'stopped', 'error'"
_NEW_STATUSES = _OLD_STATUSES + ", 'finished'"


def _replace_status_check(statuses: str) -> None:
    with op.batch_alter_table("tasks", recreate="auto") as batch:
        batch.drop_constraint(op.f("ck_tasks_status"), type_="check")
        batch.create_check_constraint(op.f("ck_tasks_status"), f"status IN ({statuses})")


def upgrade() -> None:
    op.create_table(
        "videos",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("extension", sa.String(length=16), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("container", sa.String(length=100), nullable=False),
        sa.Column("codec", sa.String(length=50), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("fps", sa.Double(), nullable=True),
        sa.Column("frames", sa.Integer(), nullable=False),
        sa.Column("duration_s", sa.Double(), nullable=False),
        sa.Column("department", sa.String(length=100), nullable=True),
        sa.Column("uploaded_by", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_videos")),
    )
    op.create_index("ix_videos_department", "videos", ["department"])
    _replace_status_check(_NEW_STATUSES)


def downgrade() -> None:
    op.execute("UPDATE tasks SET status = 'stopped' WHERE status = 'finished'")
    _replace_status_check(_OLD_STATUSES)
    op.drop_index("ix_videos_department", table_name="videos")
    op.drop_table("videos")
