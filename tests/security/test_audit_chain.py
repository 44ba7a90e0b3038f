"""The tamper-evident audit log: records written through the API are
HMAC-chained; editing or deleting a row with raw SQL is caught by
``sightline audit verify``, which names the first broken record."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from sightline.api.audit import write_audit
from sightline.api.context import AppContext
from sightline.cli import main
from sightline.security.audit_chain import verify
from sightline.security.keys import load_server_keys
from sightline.storage.models import AuditRecord
from tests.security.conftest import add_user, login_headers


def _write_some_records(client: TestClient, ctx: AppContext) -> list[int]:
    add_user(ctx, "ada", "admin")
    admin = login_headers(client, "ada")
    for i in range(3):
        body = {"name": f"cam {i}", "url": f"rtsp://u:p@10.0.0.{i}/s", "department": "east"}
        assert client.post("/api/cameras", json=body, headers=admin).status_code == 201
    with ctx.db.session() as s:
        return list(s.scalars(select(AuditRecord.id).order_by(AuditRecord.id)))


def _verify_cli(data: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(
        ["audit", "verify", "--data", str(data), "--database-url", f"sqlite:///{data / 'sightline.db'}"]
    )
    return code, capsys.readouterr().out


def test_an_untouched_log_verifies(
    client: TestClient, ctx: AppContext, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = _write_some_records(client, ctx)
    assert len(ids) >= 4  # login + 3 camera.create
    code, out = _verify_cli(ctx.data_dir, capsys)
    assert code == 0 and f"audit log OK: {len(ids)} records" in out


def test_an_edited_record_is_named(
    client: TestClient, ctx: AppContext, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = _write_some_records(client, ctx)
    victim = ids[2]
    with ctx.db.connect() as conn:
        conn.execute(text("UPDATE audit_records SET actor = 'user:nobody' WHERE id = :id"), {"id": victim})
    code, out = _verify_cli(ctx.data_dir, capsys)
    assert code == 1
    assert f"BROKEN at record {victim}: its contents were changed" in out


def test_a_deleted_record_is_caught(
    client: TestClient, ctx: AppContext, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = _write_some_records(client, ctx)
    with ctx.db.connect() as conn:
        conn.execute(text("DELETE FROM audit_records WHERE id = :id"), {"id": ids[1]})
    code, out = _verify_cli(ctx.data_dir, capsys)
    assert code == 1
    assert f"BROKEN at record {ids[2]}: its link does not match record {ids[0]}" in out
    assert "deleted" in out


def test_recomputing_a_hash_without_the_key_does_not_help(client: TestClient, ctx: AppContext) -> None:
    ids = _write_some_records(client, ctx)
    with ctx.db.connect() as conn:  # blank the whole chain: nothing re-blesses it
        conn.execute(text("UPDATE audit_records SET hash = NULL, prev_hash = NULL"))
    keys = load_server_keys(ctx.data_dir)
    with ctx.db.session() as s:
        verdict = verify(s, keys.audit_key)
    assert not verdict.ok and verdict.broken_id == ids[0] and "no hash" in verdict.reason


def test_the_chain_stays_linear_under_concurrent_writers(ctx: AppContext) -> None:
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(15):
                with ctx.db.session() as s:
                    write_audit(s, f"system:thread-{n}", "test.write", str(i))
        except BaseException as err:  # reported below
            errors.append(err)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with ctx.db.session() as s:
        verdict = verify(s, load_server_keys(ctx.data_dir).audit_key)
        prev_hashes = [h for h in s.scalars(select(AuditRecord.prev_hash)) if h]
    assert verdict.ok and verdict.count == 60
    assert len(prev_hashes) == len(set(prev_hashes)) == 59  # no two records claim the same predecessor


def test_verify_without_the_key_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["audit", "verify", "--data", str(tmp_path / "nowhere")])
    err = capsys.readouterr().err
    assert code == 2 and "no server key" in err and "SIGHTLINE_SECRET_KEY" in err
