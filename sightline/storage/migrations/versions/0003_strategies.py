"""Strategy center (P1–P4): strategies and their versions, the error library,
and the strategy outcome of every event.

- ``events.outcome`` ('passed' | 'blocked') with ``blocked_by`` (element id)
  and the ``strategy_id``/``strategy_version`` that decided. Existing rows
  become 'passed' through the server default, so nothing is rewritten.
- The review-queue index gains ``outcome`` (type, status, outcome, wall_time,
  id): queues and their counts show passed events only and stay an index range.
- ``ix_events_wall_time_type_camera_id_outcome`` covers the effectiveness
  statistics (raw / passed / blocked per type, camera and day over a time
  range) and the default "passed only" counts: index-only scans, no row reads.
- On SQLite the CHECK goes inline in ``ADD COLUMN`` (allowed there, and it
  avoids rebuilding a possibly large events table in batch mode); PostgreSQL
  adds it as a named constraint.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_OUTCOME_CHECK = "outcome IN ('passed', 'blocked')"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE events ADD COLUMN outcome VARCHAR(16) DEFAULT 'passed' NOT NULL "
            f"CONSTRAINT ck_events_outcome CHECK ({_OUTCOME_CHECK})"
        )
    else:
        op.add_column(
            "events", sa.Column("outcome", sa.String(length=16), server_default="passed", nullable=False)
        )
        op.create_check_constraint(op.f("ck_events_outcome"), "events", _OUTCOME_CHECK)
    op.add_column("events", sa.Column("blocked_by", sa.String(length=64), nullable=True))
    op.add_column("events", sa.Column("strategy_id", sa.String(length=64), nullable=True))
    op.add_column("events", sa.Column("strategy_version", sa.Integer(), nullable=True))
    op.drop_index("ix_events_type_status_wall_time", table_name="events")
    op.create_index(
        "ix_events_type_status_outcome_wall_time", "events", ["type", "status", "outcome", "wall_time", "id"]
    )
    op.create_index(
        "ix_events_wall_time_type_camera_id_outcome", "events", ["wall_time", "type", "camera_id", "outcome"]
    )

    op.create_table(
        "strategies",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("cameras", _JSON, nullable=False),
        sa.Column("event_types", _JSON, nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_strategies")),
    )
    op.create_table(
        "strategy_versions",
        sa.Column("strategy_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("spec", _JSON, nullable=False),
        sa.Column("author", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["strategy_id"],
            ["strategies.id"],
            name=op.f("fk_strategy_versions_strategy_id_strategies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("strategy_id", "version", name=op.f("pk_strategy_versions")),
    )
    op.create_table(
        "error_library",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("camera_id", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=True),
        sa.Column("fingerprint", sa.Text(), nullable=False),
        sa.Column("crop_blob", sa.String(length=80), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_error_library")),
    )
    op.create_index("ix_error_library_camera_id_event_type", "error_library", ["camera_id", "event_type"])
    op.create_index("ix_error_library_crop_blob", "error_library", ["crop_blob"])
    op.create_index("ix_error_library_event_id", "error_library", ["event_id"])


def downgrade() -> None:
    # Blocked events stay (a downgrade never deletes events), and a version
    # before the strategy center shows them as ordinary events. To hide them
    # there, first run: DELETE FROM events WHERE outcome = 'blocked'.
    op.drop_index("ix_error_library_event_id", table_name="error_library")
    op.drop_index("ix_error_library_crop_blob", table_name="error_library")
    op.drop_index("ix_error_library_camera_id_event_type", table_name="error_library")
    op.drop_table("error_library")
    op.drop_table("strategy_versions")
    op.drop_table("strategies")
    op.drop_index("ix_events_wall_time_type_camera_id_outcome", table_name="events")
    op.drop_index("ix_events_type_status_outcome_wall_time", table_name="events")
    op.create_index("ix_events_type_status_wall_time", "events", ["type", "status", "wall_time", "id"])
    op.drop_column("events", "strategy_version")
    op.drop_column("events", "strategy_id")
    op.drop_column("events", "blocked_by")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(op.f("ck_events_outcome"), "events", type_="check")
    op.drop_column("events", "outcome")
