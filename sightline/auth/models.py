"""The ``sessions`` table (one row per login, see :mod:`sightline.auth.tokens`).

The model lives in :mod:`sightline.storage.models` with every other table, so
migrations and the drift check see it whatever is imported first; this module
keeps the auth package's import path. Migration: ``0002``.
"""

from sightline.storage.models import LoginSession

__all__ = ["LoginSession"]
