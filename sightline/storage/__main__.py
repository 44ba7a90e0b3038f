"""Schema maintenance from the command line.

    python -m sightline.storage upgrade  [--url URL]   # create / migrate to head
    python -m sightline.storage current  [--url URL]   # revision of the database
    python -m sightline.storage check    [--url URL]   # models vs. schema drift (exit 1 on drift)
    python -m sightline.storage revision -m "what changed" [--url URL]

``--url`` defaults to ``$SIGHTLINE_DATABASE_URL``; ``revision`` defaults to a
scratch SQLite database that is first migrated to head, so the draft it
writes under ``sightline/storage/migrations/versions/`` holds only the
change. Review every draft by hand.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from alembic import command

from sightline.storage.db import ENV_VAR, Database, DatabaseError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sightline.storage", description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=["upgrade", "current", "check", "revision"])
    parser.add_argument("--url", default=os.environ.get(ENV_VAR), help=f"database URL (default ${ENV_VAR})")
    parser.add_argument("-m", "--message", default="change", help="revision message")
    args = parser.parse_args(argv)
    try:
        if args.action == "revision":
            with tempfile.TemporaryDirectory() as tmp:
                db = Database(args.url or f"sqlite:///{Path(tmp) / 'scratch.db'}")
                db.upgrade()
                head = db.head_revision() or "0000"
                rev_id = f"{int(head) + 1:04d}" if head.isdigit() else None  # 0001, 0002, ...
                with db.connect() as conn:
                    command.revision(
                        db.alembic_config(conn), message=args.message, autogenerate=True, rev_id=rev_id
                    )
                db.dispose()
            return 0
        if not args.url:
            print(f"no database URL: pass --url or set {ENV_VAR}", file=sys.stderr)
            return 2
        db = Database(args.url)
        if args.action == "upgrade":
            db.upgrade()
            print(f"{db.url}: at revision {db.current_revision()}")
        elif args.action == "current":
            print(f"{db.url}: at revision {db.current_revision()} (head {db.head_revision()})")
        else:
            diffs = db.drift()
            for d in diffs:
                print(d)
            print(f"{db.url}: {'no drift' if not diffs else f'{len(diffs)} difference(s)'}")
            return 1 if diffs else 0
        return 0
    except DatabaseError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
