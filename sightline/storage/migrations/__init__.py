"""Alembic migrations of the Sightline schema, run in code by ``Database.upgrade()``."""
