"""The database handle: engine, sessions, migrations, and clear errors.

Why a wrapper: every process (API, scheduler, workers, tests, bench) must open
the database the same way — SQLite pragmas on *every* pooled connection,
the psycopg 3 driver for PostgreSQL, Alembic migrations applied
programmatically (no ``alembic.ini`` to ship) — and a wrong URL or an
unreachable server must produce one message that names the URL (password
hidden) and the fix, not a driver traceback.

SQLite is the zero-setup default (``<data_dir>/sightline.db``, WAL so readers
never block the writer); PostgreSQL is selected with
``SIGHTLINE_DATABASE_URL=postgresql+psycopg://user:password@host:5432/db``.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from sightline.storage.models import Base

if TYPE_CHECKING:
    from sightline.security.keys import ServerKeys

log = logging.getLogger(__name__)

ENV_VAR = "SIGHTLINE_DATABASE_URL"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000

_FIX = (
    "use sqlite:///<path>/sightline.db (the default) or "
    "postgresql+psycopg://user:password@host:5432/dbname, set in " + ENV_VAR
)


class DatabaseError(RuntimeError):
    """The database cannot be used as configured; the message says why and how to fix it."""


def redact(url: str | URL) -> str:
    """``url`` with its password replaced by ``***`` (safe for logs and errors)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        from sightline.sources.config import redact_url

        return redact_url(str(url))


def default_url(data_dir: Path | str) -> str:
    """``sqlite:///<data_dir>/sightline.db``."""
    return f"sqlite:///{Path(data_dir).resolve() / 'sightline.db'}"


def resolve_url(url: str | None = None, data_dir: Path | str | None = None) -> str:
    """The URL to use: ``url``, else ``$SIGHTLINE_DATABASE_URL``, else SQLite in ``data_dir``."""
    url = url or os.environ.get(ENV_VAR) or None
    if url:
        return url
    if data_dir is None:
        raise DatabaseError(f"no database configured: pass a data directory or set {ENV_VAR}")
    return default_url(data_dir)


def _normalise(url: str) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseError(f"cannot parse database URL {redact(url)!r}: {_FIX}") from None
    backend, _, driver = parsed.drivername.partition("+")
    if backend in ("postgres", "postgresql"):
        if driver not in ("", "psycopg"):
            raise DatabaseError(
                f"database URL {redact(parsed)!r} asks for the {driver!r} driver; Sightline ships "
                "psycopg 3: write postgresql+psycopg://..."
            )
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        if driver not in ("", "pysqlite"):
            raise DatabaseError(f"database URL {redact(parsed)!r}: use plain sqlite:///path/to/sightline.db")
        return parsed
    raise DatabaseError(
        f"unsupported database URL scheme {parsed.drivername!r} in {redact(parsed)!r}: {_FIX}"
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


class Database:
    """Engine + session factory for one database URL.

    ``Database(url)`` connects lazily; call :meth:`upgrade` once at start-up to
    create or migrate the schema (it also proves the database is reachable).
    """

    def __init__(self, url: str, *, echo: bool = False, pool_size: int = 10) -> None:
        self._url = _normalise(url)
        self.url = redact(self._url)
        kwargs: dict[str, Any] = {"echo": echo, "pool_pre_ping": True}
        if self.dialect == "sqlite":
            if sqlite3.sqlite_version_info < (3, 35):
                raise DatabaseError(
                    f"SQLite {sqlite3.sqlite_version} is too old (Sightline needs 3.35+ for RETURNING); "
                    "use a Python built with a newer SQLite, or PostgreSQL"
                )
            database = self._url.database or ""
            if database and database != ":memory:" and not database.startswith("file:"):
                try:
                    Path(database).parent.mkdir(parents=True, exist_ok=True)
                except OSError as err:
                    raise DatabaseError(
                        f"cannot create the folder of SQLite database {self.url!r}: {err.strerror}; "
                        "choose a writable data directory"
                    ) from None
        else:
            kwargs.update(pool_size=pool_size, max_overflow=pool_size)
        try:
            self.engine: Engine = create_engine(self._url, **kwargs)
        except (NoSuchModuleError, ImportError) as err:
            raise DatabaseError(f"no driver for {self.url!r} ({err}): {_FIX}") from None
        if self.dialect == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._session_info: dict[str, Any] = {}  # copied into every session (the audit key)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False, info=self._session_info)

    def install_server_keys(self, keys: ServerKeys) -> None:
        """Encrypt secrets at rest and chain audit records with ``keys`` (see
        :mod:`sightline.storage.encrypted` for why the cipher hangs on the dialect)."""
        from sightline.security.audit_chain import SESSION_INFO_KEY
        from sightline.security.secretbox import SecretBox
        from sightline.storage.encrypted import DIALECT_ATTR

        setattr(self.engine.dialect, DIALECT_ATTR, SecretBox(keys))
        self._session_info[SESSION_INFO_KEY] = keys.audit_key

    @classmethod
    def from_env(cls, data_dir: Path | str | None = None, **kwargs: Any) -> Database:
        """Open ``$SIGHTLINE_DATABASE_URL``, or SQLite in ``data_dir`` when unset."""
        return cls(resolve_url(None, data_dir), **kwargs)

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self._url.get_backend_name()

    def __repr__(self) -> str:
        return f"Database({self.url!r})"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in a transaction: committed on success, rolled back on error."""
        with self._errors(), self.sessions() as session, session.begin():
            yield session

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A Core connection in a transaction (bulk work)."""
        with self._errors(), self.engine.begin() as conn:
            yield conn

    def ping(self) -> None:
        """Raise :class:`DatabaseError` unless the database answers."""
        with self.connect() as conn:
            conn.execute(text("SELECT 1"))

    # -- migrations ---------------------------------------------------------

    def alembic_config(self, connection: Connection | None = None) -> Config:
        """An Alembic config for the package's migrations, built in code."""
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        cfg.attributes["connection"] = connection
        return cfg

    def upgrade(self, revision: str = "head") -> None:
        """Create or migrate the schema to ``revision`` (idempotent)."""
        with self.connect() as conn:
            command.upgrade(self.alembic_config(conn), revision)
        log.info("database %s at revision %s", self.url, self.current_revision())

    def downgrade(self, revision: str) -> None:
        with self.connect() as conn:
            command.downgrade(self.alembic_config(conn), revision)

    def current_revision(self) -> str | None:
        with self.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def head_revision(self) -> str | None:
        return ScriptDirectory.from_config(self.alembic_config()).get_current_head()

    def drift(self) -> list[Any]:
        """Differences between the models and the live schema (``alembic check``);
        empty when the migrations produce exactly what the models describe."""
        with self.connect() as conn:
            opts = {"compare_type": True, "compare_server_default": True}
            ctx = MigrationContext.configure(conn, opts=opts)
            return list(compare_metadata(ctx, Base.metadata))

    def table_names(self) -> list[str]:
        with self.connect() as conn:
            return sorted(inspect(conn).get_table_names())

    def dispose(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Turn "cannot connect" driver errors into one clear :class:`DatabaseError`."""
        try:
            yield
        except OperationalError as err:
            if not _is_connect_error(err):
                raise
            reason = str(err.orig).strip().splitlines()[0] if err.orig else str(err)
            if self._url.password:
                reason = reason.replace(str(self._url.password), "***")
            if self.dialect == "sqlite":
                fix = "check that the folder exists and is writable by this user"
            else:
                fix = (
                    "check that the PostgreSQL server is running and reachable, that the database "
                    f"exists and the user/password are right, or change {ENV_VAR}"
                )
            raise DatabaseError(f"cannot open database {self.url!r}: {reason}; {fix}") from None


def _is_connect_error(err: DBAPIError) -> bool:
    if err.connection_invalidated:
        return True
    message = str(err.orig).lower()
    needles = (
        "connection",
        "could not connect",
        "unable to open database",
        "does not exist",
        "authentication failed",
        "could not translate host",
        "timeout expired",
    )
    return any(n in message for n in needles)
