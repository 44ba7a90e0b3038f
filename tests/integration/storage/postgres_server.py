"""Find or start a real PostgreSQL server for the storage tests.

Why real: JSONB, ``timestamptz``, ``ON CONFLICT``, row locks and cascade
behaviour differ between SQLite and PostgreSQL; only a real server shows it.

Order of attempts:

1. ``$SIGHTLINE_TEST_POSTGRES_URL`` if set (CI service containers), else the
   local server at ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``
   (trust authentication);
2. Debian's cluster: ``apt-get install -y postgresql`` when the server is not
   installed (as root), then ``pg_ctlcluster --skip-systemctl-redirect <v> main
   start``;
3. a throwaway cluster: ``initdb`` in a temporary folder (as the ``postgres``
   user when we are root; initdb refuses root), trust authentication, a free
   port on 127.0.0.1, stopped and removed at the end of the session.

``SIGHTLINE_TEST_POSTGRES_MODE=throwaway`` skips 1 and 2 (to test step 3).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
ENV_URL = "SIGHTLINE_TEST_POSTGRES_URL"
ENV_MODE = "SIGHTLINE_TEST_POSTGRES_MODE"


@dataclass
class PostgresServer:
    admin_url: str  # SQLAlchemy URL of a database we may CREATE DATABASE from
    how: str
    cleanup: Callable[[], None] = field(default=lambda: None)


def libpq_dsn(sqlalchemy_url: str) -> str:
    return sqlalchemy_url.replace("postgresql+psycopg://", "postgresql://", 1)


def problem_connecting(url: str) -> str | None:
    try:
        with psycopg.connect(libpq_dsn(url), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as err:
        return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return None


def _run(cmd: list[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg_bin_dir() -> Path | None:
    found = Path("/usr/lib/postgresql").glob("*/bin/initdb")
    versions = sorted(found, key=lambda p: int(p.parent.parent.name))
    return versions[-1].parent if versions else None


def _install_debian_package(log: list[str]) -> None:
    if _pg_bin_dir() is not None:
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        log.append("PostgreSQL is not installed and we cannot apt-get install it (not root / no apt)")
        return
    env_cmd = ["env", "DEBIAN_FRONTEND=noninteractive"]
    r = _run([*env_cmd, "apt-get", "install", "-y", "postgresql"], timeout=600)
    if r.returncode != 0:
        _run(["apt-get", "update"], timeout=600)
        r = _run([*env_cmd, "apt-get", "install", "-y", "postgresql"], timeout=600)
    log.append(f"apt-get install postgresql: exit {r.returncode} {r.stderr.strip()[-300:]}")


def _start_debian_cluster(log: list[str]) -> PostgresServer | None:
    if shutil.which("pg_ctlcluster") is None or not Path("/etc/postgresql").is_dir():
        log.append("no Debian cluster (pg_ctlcluster or /etc/postgresql missing)")
        return None
    for version in sorted(os.listdir("/etc/postgresql")):
        conf = Path("/etc/postgresql") / version / "main" / "postgresql.conf"
        if not conf.is_file():
            continue
        port = 5432
        for line in conf.read_text().splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "port":
                port = int(value.split("#")[0].strip())
        r = _run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"])
        log.append(f"pg_ctlcluster {version} main start: exit {r.returncode} {r.stderr.strip()[-300:]}")
        url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
        problem = problem_connecting(url)
        if problem is None:
            return PostgresServer(url, f"Debian cluster {version}/main")
        log.append(f"Debian cluster {version}/main does not accept us: {problem}")
    return None


def _start_throwaway(log: list[str]) -> PostgresServer | None:
    bin_dir = _pg_bin_dir()
    if bin_dir is None:
        log.append("no initdb found under /usr/lib/postgresql")
        return None
    as_postgres: list[str] = []
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            log.append("running as root without runuser: cannot run initdb as postgres")
            return None
        as_postgres = ["runuser", "-u", "postgres", "--"]
    tmp = Path(tempfile.mkdtemp(prefix="sightline-pg-"))
    data, port = tmp / "data", _free_port()
    if as_postgres:
        shutil.chown(tmp, user="postgres")
    initdb = [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"]
    r = _run([*as_postgres, *initdb])
    if r.returncode != 0:
        log.append(f"initdb failed: {r.stderr.strip()[-300:]}")
        shutil.rmtree(tmp, ignore_errors=True)
        return None
    opts = f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1 -c fsync=off"
    pg_ctl = [*as_postgres, str(bin_dir / "pg_ctl"), "-D", str(data)]
    r = _run([*pg_ctl, "-o", opts, "-l", str(tmp / "log"), "-w", "-t", "60", "start"])
    if r.returncode != 0:
        log.append(f"pg_ctl start failed: {r.stderr.strip()[-300:]}")
        shutil.rmtree(tmp, ignore_errors=True)
        return None

    def cleanup() -> None:
        with contextlib.suppress(Exception):
            _run([*pg_ctl, "-m", "immediate", "-w", "stop"], timeout=60)
        shutil.rmtree(tmp, ignore_errors=True)

    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    problem = problem_connecting(url)
    if problem is not None:
        log.append(f"throwaway cluster does not answer: {problem}")
        cleanup()
        return None
    return PostgresServer(url, f"throwaway cluster in {tmp} on port {port}", cleanup)


def find_or_start() -> tuple[PostgresServer | None, str]:
    """A server we can use, or None and what was tried."""
    log: list[str] = []
    mode = os.environ.get(ENV_MODE, "")
    url = os.environ.get(ENV_URL) or DEFAULT_ADMIN_URL
    if mode != "throwaway":
        problem = problem_connecting(url)
        if problem is None:
            return PostgresServer(url, "running server"), ""
        log.append(f"{url}: {problem}")
        if os.environ.get(ENV_URL):
            return None, "; ".join(log)  # an explicit URL is not second-guessed
        _install_debian_package(log)
        server = _start_debian_cluster(log)
        if server is not None:
            return server, ""
    server = _start_throwaway(log)
    return server, "; ".join(log)
