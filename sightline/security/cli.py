"""``sightline audit verify``: check the audit log's HMAC chain.

Exit 0 with ``audit log OK: N records`` (and the head hash, worth noting down:
the chain cannot show that its newest records were cut off), or exit 1 naming
the first record that does not check out and why."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from platformdirs import user_data_dir

    from sightline.security.audit_chain import verify
    from sightline.security.keys import ServerKeyError, load_server_keys
    from sightline.security.startup import check_key
    from sightline.storage.db import Database, DatabaseError

    data_dir = Path(args.data or user_data_dir("sightline"))
    try:
        # Read-only: no migration, no new key, no re-encryption. A check must
        # not change what it checks (and may run against a copy or a replica).
        db = Database(args.database_url) if args.database_url else Database.from_env(data_dir)
        keys = load_server_keys(data_dir, create=False)
        try:
            tables = db.table_names()
            if "audit_records" not in tables:
                raise DatabaseError(
                    "this database has no audit log (no audit_records table); "
                    "point --data or --database-url at the service's database"
                )
            if "server_settings" in tables:
                check_key(db, keys, remember=False)
            with db.session() as session:
                verdict = verify(session, keys.audit_key)
        finally:
            db.dispose()
    except (DatabaseError, ServerKeyError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if verdict.ok:
        print(f"audit log OK: {verdict.count} records, head {verdict.head or '-'}")
        return 0
    print(
        f"audit log BROKEN at record {verdict.broken_id}: {verdict.reason} "
        f"({verdict.count} records before it check out)"
    )
    return 1


def add_parser(sub: Any) -> None:
    a = sub.add_parser("audit", help="check the tamper-evident audit log")
    asub = a.add_subparsers(dest="audit_command", required=True)
    v = asub.add_parser("verify", help="verify the HMAC chain; exit 1 at the first broken record")
    v.add_argument("--data", help="data folder of the service (default: the user data dir)")
    v.add_argument(
        "--database-url", help="database URL (default: $SIGHTLINE_DATABASE_URL, else SQLite in --data)"
    )
    v.set_defaults(func=cmd_audit_verify)
