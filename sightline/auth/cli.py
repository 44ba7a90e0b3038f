"""``sightline users ...``: the first admin and account recovery, from the shell.

    sightline users create-admin --username alice            # prompts twice
    sightline users create-admin --username alice --password-file /run/secrets/admin
    SIGHTLINE_ADMIN_PASSWORD=... sightline users create-admin --username alice
    sightline users set-password --username alice            # recovery; signs alice out
    sightline users list

Why a CLI: there is no default password, so the first admin has to come from
someone who can already act on the server — whoever can run this command can
read the database anyway. Password sources, in order: ``--password-file``
(``-`` for standard input; one trailing newline is dropped), the
``SIGHTLINE_ADMIN_PASSWORD`` variable, then a prompt (twice, never echoed).
Nothing is ever taken from the command line itself, where ``ps`` and shell
history would show it. Every change is audited with actor ``system:cli``.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from sightline.auth import ADMIN_PASSWORD_ENV

if TYPE_CHECKING:
    from sightline.storage.db import Database

# Heavier imports (SQLAlchemy, argon2, the API) happen inside the commands:
# `sightline` builds this parser on every start, whatever the command.

Prompt = Callable[[str], str]


class PasswordInputError(Exception):
    pass


def _err(msg: str) -> int:
    print(f"sightline: error: {msg}", file=sys.stderr)
    return 2


def read_password(
    password_file: str | None,
    environ: Mapping[str, str],
    stdin: TextIO,
    prompt: Prompt = getpass.getpass,
    interactive: bool | None = None,
    env_var: str | None = ADMIN_PASSWORD_ENV,
) -> str:
    """The new password from the file, the environment variable ``env_var``, or two prompts."""
    if password_file is not None:
        try:
            text = stdin.read() if password_file == "-" else Path(password_file).read_text(encoding="utf-8")
        except OSError as err:
            raise PasswordInputError(
                f"cannot read the password file {password_file}: {err.strerror}"
            ) from None
        return text[:-2] if text.endswith("\r\n") else text[:-1] if text.endswith("\n") else text
    if env_var is not None and env_var in environ:
        return environ[env_var]
    if not (stdin.isatty() if interactive is None else interactive):
        variable = f", set {env_var}" if env_var else ""
        raise PasswordInputError(
            f"no password given: use --password-file FILE (or - for standard input){variable}, "
            "or run the command in a terminal to be prompted"
        )
    first = prompt("New password: ")
    if prompt("Repeat the password: ") != first:
        raise PasswordInputError("the two passwords differ; nothing was changed")
    return first


def _open_db(args: argparse.Namespace) -> Database:
    from platformdirs import user_data_dir

    from sightline.security.startup import secure_database
    from sightline.storage.db import Database

    data_dir = Path(args.data or user_data_dir("sightline"))
    db = Database(args.database_url) if args.database_url else Database.from_env(data_dir)
    db.upgrade()
    secure_database(db, data_dir)  # audit records are HMAC-chained with the server key
    return db


def _with_db(args: argparse.Namespace, action: Callable[[Database], int]) -> int:
    from sightline.security.keys import ServerKeyError
    from sightline.storage.db import DatabaseError

    try:
        db = _open_db(args)
    except (DatabaseError, ServerKeyError) as err:
        return _err(str(err))
    try:
        return action(db)
    finally:
        db.dispose()


def cmd_create_admin(
    args: argparse.Namespace,
    environ: Mapping[str, str] | None = None,
    stdin: TextIO | None = None,
    prompt: Prompt = getpass.getpass,
) -> int:
    import os

    from sightline.auth.passwords import WeakPassword
    from sightline.auth.users import UserError, ensure_first_admin

    try:
        password = read_password(
            args.password_file, os.environ if environ is None else environ, stdin or sys.stdin, prompt
        )
    except PasswordInputError as err:
        return _err(str(err))

    def create(db: Database) -> int:
        try:
            user = ensure_first_admin(db, args.username, password)
        except (UserError, WeakPassword) as err:
            return _err(str(err))
        print(f"created admin {user.username!r}; sign in at POST /api/auth/login or in the web UI")
        return 0

    return _with_db(args, create)


def cmd_set_password(
    args: argparse.Namespace,
    environ: Mapping[str, str] | None = None,
    stdin: TextIO | None = None,
    prompt: Prompt = getpass.getpass,
) -> int:
    import os

    from sightline.api.audit import write_audit
    from sightline.auth.passwords import WeakPassword
    from sightline.auth.users import find_user, set_password
    from sightline.storage.types import utcnow

    try:
        password = read_password(
            args.password_file,
            os.environ if environ is None else environ,
            stdin or sys.stdin,
            prompt,
            env_var=None,  # never the first admin's variable
        )
    except PasswordInputError as err:
        return _err(str(err))

    def change(db: Database) -> int:
        try:
            with db.session() as session:
                user = find_user(session, args.username)
                if user is None:
                    return _err(f"no user named {args.username!r} (see `sightline users list`)")
                ended = set_password(session, user, password, utcnow())
                details: dict[str, Any] = {"password_reset": True, "sessions_ended": ended}
                if args.enable and user.disabled:
                    user.disabled = False
                    details["disabled"] = False
                write_audit(session, "system:cli", "user.update", user.id, details)
        except WeakPassword as err:
            return _err(str(err))
        print(f"password of {user.username!r} changed; {ended} session(s) signed out")
        return 0

    return _with_db(args, change)


def cmd_list(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from sqlalchemy import select

    from sightline.storage.models import User

    stream = out or sys.stdout

    def show(db: Database) -> int:
        with db.session() as session:
            for user in session.scalars(select(User).order_by(User.username)):
                state = "  (disabled)" if user.disabled else ""
                print(f"{user.username:<30} {user.role:<9}{state}", file=stream)
        return 0

    return _with_db(args, show)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", help="data folder of the service (default: the user data dir)")
    p.add_argument(
        "--database-url", help="database URL (default: $SIGHTLINE_DATABASE_URL, else SQLite in --data)"
    )


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``users`` to the ``sightline`` command's sub-commands."""
    users: argparse.ArgumentParser = subparsers.add_parser(
        "users", help="user accounts: the first admin, password recovery, list"
    )
    sub = users.add_subparsers(dest="users_command", required=True)

    c = sub.add_parser("create-admin", help="create the first admin (refused once an admin exists)")
    c.add_argument("--username", required=True)
    c.add_argument(
        "--password-file",
        help=f"file holding the password, - for stdin (else ${ADMIN_PASSWORD_ENV}, else a prompt)",
    )
    _common(c)
    c.set_defaults(func=cmd_create_admin)

    s = sub.add_parser("set-password", help="set a user's password (recovery) and sign them out everywhere")
    s.add_argument("--username", required=True)
    s.add_argument("--password-file", help="file holding the password, - for stdin (else a prompt)")
    s.add_argument("--enable", action="store_true", help="also re-enable the account if it is disabled")
    _common(s)
    s.set_defaults(func=cmd_set_password)

    ls = sub.add_parser("list", help="list users and their roles")
    _common(ls)
    ls.set_defaults(func=cmd_list)
    return users
