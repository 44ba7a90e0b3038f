"""The first admin: CLI and environment; never a default or weak password."""

from __future__ import annotations

import argparse
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from sightline.api.context import AppContext
from sightline.auth.cli import add_parser, cmd_create_admin, cmd_set_password
from sightline.auth.passwords import WeakPassword
from sightline.auth.users import AdminExists, bootstrap_admin_from_env, ensure_first_admin
from sightline.storage.models import User
from tests.integration.auth.auth_helpers import audit_rows, login

GOOD = "Admin passphrase 2027"


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sightline")
    add_parser(p.add_subparsers(dest="command", required=True))
    return p


@pytest.fixture
def db_args(ctx: AppContext) -> list[str]:
    return ["--data", str(ctx.data_dir), "--database-url", f"sqlite:///{ctx.data_dir / 'sightline.db'}"]


class Run(Protocol):
    def __call__(
        self,
        *argv: str,
        env: dict[str, str] | None = None,
        stdin: io.StringIO | None = None,
        answers: tuple[str, ...] = (),
    ) -> tuple[int, str]: ...


@pytest.fixture
def run(db_args: list[str], capsys: pytest.CaptureFixture[str]) -> Iterator[Run]:
    def _run(
        *argv: str,
        env: dict[str, str] | None = None,
        stdin: io.StringIO | None = None,
        answers: tuple[str, ...] = (),
    ) -> tuple[int, str]:
        args = _parser().parse_args([*argv, *db_args])
        replies = iter(answers)
        code = args.func(
            args, environ=env or {}, stdin=stdin or io.StringIO(), prompt=lambda _: next(replies)
        )
        out = capsys.readouterr()
        return int(code), out.out + out.err

    yield _run


def _admins(ctx: AppContext) -> list[str]:
    with ctx.db.session() as s:
        return list(s.scalars(select(User.username).where(User.role == "admin")))


def test_create_admin_from_a_password_file(
    run: Run, ctx: AppContext, tmp_path: Path, client: TestClient
) -> None:
    secret = tmp_path / "admin.txt"
    secret.write_text(GOOD + "\n")
    code, out = run("users", "create-admin", "--username", "Root", "--password-file", str(secret))
    assert code == 0, out
    assert "created admin 'root'" in out and GOOD not in out
    assert _admins(ctx) == ["root"]
    assert login(client, "root", GOOD)  # the trailing newline was not part of the password
    record = [r for r in audit_rows(ctx) if r.action == "user.create_first_admin"]
    assert len(record) == 1 and record[0].actor == "system:cli" and GOOD not in repr(record[0].details)


def test_create_admin_refuses_when_an_admin_exists(run: Run, ctx: AppContext) -> None:
    assert run("users", "create-admin", "--username", "first", env={"SIGHTLINE_ADMIN_PASSWORD": GOOD})[0] == 0
    code, out = run("users", "create-admin", "--username", "second", env={"SIGHTLINE_ADMIN_PASSWORD": GOOD})
    assert code == 2 and "an admin already exists (first)" in out
    assert _admins(ctx) == ["first"]
    with pytest.raises(AdminExists):
        ensure_first_admin(ctx.db, "third", GOOD)


@pytest.mark.parametrize("password", ["", " ", "short", "onlylowercaseletters", "1234567890123"])
def test_create_admin_never_accepts_an_empty_or_weak_password(
    run: Run, ctx: AppContext, password: str
) -> None:
    code, out = run("users", "create-admin", "--username", "root", env={"SIGHTLINE_ADMIN_PASSWORD": password})
    assert code == 2 and "password too weak" in out
    code, out = run(
        "users", "create-admin", "--username", "root", "--password-file", "-", stdin=io.StringIO(password)
    )
    assert code == 2 and "password too weak" in out
    with pytest.raises(WeakPassword):
        ensure_first_admin(ctx.db, "root", password)
    assert _admins(ctx) == []


def test_create_admin_prompts_twice(run: Run, ctx: AppContext) -> None:
    code, out = run("users", "create-admin", "--username", "root", stdin=Tty(), answers=(GOOD, GOOD + "x"))
    assert code == 2 and "differ" in out and _admins(ctx) == []
    code, out = run("users", "create-admin", "--username", "root", stdin=Tty(), answers=(GOOD, GOOD))
    assert code == 0 and _admins(ctx) == ["root"]


def test_create_admin_without_a_terminal_needs_a_password_source(run: Run, ctx: AppContext) -> None:
    code, out = run("users", "create-admin", "--username", "root")
    assert code == 2 and "--password-file" in out and "SIGHTLINE_ADMIN_PASSWORD" in out
    code, out = run("users", "create-admin", "--username", "root", "--password-file", "/nonexistent/pw")
    assert code == 2 and "cannot read the password file" in out
    assert _admins(ctx) == []


def test_bootstrap_from_the_environment(ctx: AppContext, client: TestClient) -> None:
    assert "sightline users create-admin" in bootstrap_admin_from_env(ctx.db, {})
    assert "sightline users create-admin" in bootstrap_admin_from_env(ctx.db, {"SIGHTLINE_ADMIN_USER": "ops"})
    with pytest.raises(WeakPassword):
        bootstrap_admin_from_env(ctx.db, {"SIGHTLINE_ADMIN_USER": "ops", "SIGHTLINE_ADMIN_PASSWORD": "weak"})
    env = {"SIGHTLINE_ADMIN_USER": "ops", "SIGHTLINE_ADMIN_PASSWORD": GOOD}
    assert "created the first admin 'ops'" in bootstrap_admin_from_env(ctx.db, env)
    assert login(client, "ops", GOOD)
    assert "ignoring" in bootstrap_admin_from_env(ctx.db, {**env, "SIGHTLINE_ADMIN_USER": "other"})
    assert _admins(ctx) == ["ops"]
    assert [r.actor for r in audit_rows(ctx) if r.action == "user.create_first_admin"] == ["system:env"]


def test_set_password_recovers_an_account(run: Run, ctx: AppContext, client: TestClient) -> None:
    run("users", "create-admin", "--username", "root", env={"SIGHTLINE_ADMIN_PASSWORD": GOOD})
    token = login(client, "root", GOOD)
    new = "Recovered passphrase 1"
    # SIGHTLINE_ADMIN_PASSWORD is for the first admin only: set-password must not pick it up.
    code, out = run("users", "set-password", "--username", "root", env={"SIGHTLINE_ADMIN_PASSWORD": GOOD})
    assert code == 2 and "no password given" in out
    code, out = run(
        "users", "set-password", "--username", "root", "--password-file", "-", stdin=io.StringIO(new)
    )
    assert code == 0 and "1 session(s) signed out" in out
    assert client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert login(client, "root", new)
    code, out = run(
        "users", "set-password", "--username", "nobody", "--password-file", "-", stdin=io.StringIO(new)
    )
    assert code == 2 and "no user named" in out


def test_list(run: Run, ctx: AppContext) -> None:
    run("users", "create-admin", "--username", "root", env={"SIGHTLINE_ADMIN_PASSWORD": GOOD})
    args = _parser().parse_args(
        [
            "users",
            "list",
            "--data",
            str(ctx.data_dir),
            "--database-url",
            f"sqlite:///{ctx.data_dir / 'sightline.db'}",
        ]
    )
    out = io.StringIO()
    assert args.func(args, out=out) == 0
    assert out.getvalue().split() == ["root", "admin"]


def test_parser_hooks_into_the_main_command() -> None:
    args = _parser().parse_args(["users", "create-admin", "--username", "x"])
    assert args.func is cmd_create_admin and args.password_file is None
    assert _parser().parse_args(["users", "set-password", "--username", "x"]).func is cmd_set_password
