"""Put the server key to work on a freshly opened database (service and CLI)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from sightline.security.keys import ServerKeys, load_server_keys
from sightline.storage.db import Database
from sightline.storage.encrypted import encrypt_legacy_rows
from sightline.storage.models import Camera, Subscription

log = logging.getLogger(__name__)


def secure_database(
    db: Database, data_dir: Path, environ: Mapping[str, str] | None = None, *, create_key: bool = True
) -> ServerKeys:
    """Load the server key, install it on ``db``, and encrypt secrets still stored in
    plaintext (rows from before encryption at rest).

    Audit records without a hash are deliberately *not* chained here: anyone
    who can write the database could then blank the hashes, edit records and
    have the next start bless them. ``audit verify`` reports such records."""
    keys = load_server_keys(data_dir, environ, create=create_key)
    db.install_server_keys(keys)
    with db.session() as session:
        encrypted = encrypt_legacy_rows(session, [Camera.url, Subscription.secret])
    if encrypted:
        log.info("encrypted %d stored camera URL(s) / webhook secret(s) at rest", encrypted)
    return keys
