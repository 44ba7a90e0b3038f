"""Migration 0002 creates exactly the ``sessions`` table the model describes."""

from __future__ import annotations

from pathlib import Path

from sightline.auth.models import LoginSession
from sightline.storage import Database
from sightline.storage.models import Base


def test_migration_0002_matches_the_model_and_downgrades(tmp_path: Path) -> None:
    assert LoginSession.__table__ is Base.metadata.tables["sessions"]
    db = Database(f"sqlite:///{tmp_path / 'sightline.db'}")
    try:
        db.upgrade()
        assert db.current_revision() == db.head_revision()  # the head is checked in test_storage_schema
        assert "sessions" in db.table_names()
        assert db.drift() == []
        db.downgrade("0001")
        assert "sessions" not in db.table_names() and "users" in db.table_names()
        db.upgrade()
        assert db.drift() == []
    finally:
        db.dispose()
