"""Camera credentials and webhook secrets are encrypted at rest with a key
derived from the server key, never returned by the API, never logged; the
server key comes from the environment or a 0600 key file."""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from sightline.api.audit import audit
from sightline.api.context import AppContext
from sightline.api.deps import Principal
from sightline.security.keys import KEY_ENV, ServerKeyError, load_server_keys
from sightline.storage.models import Camera, Subscription
from tests.security.conftest import add_user, login_headers

PASSWORD = "Pa55-w0rd-in-url"
URL = f"rtsp://cam-admin:{PASSWORD}@10.1.2.3:554/Streaming/Channels/101"
HOOK_SECRET = "hook-secret-0123456789abcdef"


def _raw_rows(ctx: AppContext) -> str:
    """Every row of the tables that hold secrets, read with plain sqlite3 (no decryption)."""
    with sqlite3.connect(ctx.data_dir / "sightline.db") as conn:
        rows = [
            *conn.execute("SELECT * FROM cameras"),
            *conn.execute("SELECT * FROM subscriptions"),
            *conn.execute("SELECT * FROM audit_records"),
        ]
    return repr(rows)


def test_secrets_are_encrypted_redacted_and_not_logged(
    client: TestClient, ctx: AppContext, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    add_user(ctx, "ops", "admin")
    h = login_headers(client, "ops")
    r = client.post("/api/cameras", json={"id": "gate", "name": "Gate", "url": URL}, headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["url"] == "rtsp://***@10.1.2.3:554/Streaming/Channels/101"  # user and password hidden
    hook = {"name": "soc", "kind": "webhook", "url": "http://127.0.0.1:9/hook", "secret": HOOK_SECRET}
    r = client.post("/api/subscriptions", json=hook, headers=h)
    assert r.status_code == 201, r.text
    sub_id = r.json()["id"]

    # an edit that sends back the redacted URL keeps the stored password
    redacted = client.get("/api/cameras/gate", headers=h).json()["url"]
    assert (
        client.patch("/api/cameras/gate", json={"url": redacted, "name": "Gate 2"}, headers=h).status_code
        == 200
    )
    with ctx.db.session() as s:  # the service decrypts
        assert s.get(Camera, "gate").url == URL  # type: ignore[union-attr]
        assert s.get(Subscription, sub_id).secret == HOOK_SECRET  # type: ignore[union-attr]

    answers = [
        client.get("/api/cameras", headers=h).text,
        client.get("/api/cameras/gate", headers=h).text,
        client.get("/api/subscriptions", headers=h).text,
        client.get(f"/api/subscriptions/{sub_id}", headers=h).text,
    ]
    raw = _raw_rows(ctx)
    for secret in (PASSWORD, HOOK_SECRET):
        assert secret not in raw, "plaintext secret in the database"
        assert all(secret not in a for a in answers), "secret in an API answer"
        assert secret not in caplog.text, "secret in the logs"
    assert "enc:v1:" in raw


def test_plaintext_rows_from_before_are_encrypted_at_the_next_start(ctx: AppContext, tmp_path: Path) -> None:
    with sqlite3.connect(ctx.data_dir / "sightline.db") as conn:
        conn.execute(
            "INSERT INTO cameras (id, name, url, tags, zones, lines, source_options, enabled, created_at, "
            "updated_at) VALUES ('old', 'old', ?, '[]', '[]', '[]', '{}', 1, '2026-01-01 00:00:00', "
            "'2026-01-01 00:00:00')",
            (URL,),
        )
    reopened = AppContext.open(ctx.data_dir, f"sqlite:///{ctx.data_dir / 'sightline.db'}")
    try:
        assert PASSWORD not in _raw_rows(ctx)
        with reopened.db.session() as s:
            assert s.get(Camera, "old").url == URL  # type: ignore[union-attr]
    finally:
        reopened.db.dispose()


def test_another_key_is_refused_at_start(ctx: AppContext, monkeypatch: pytest.MonkeyPatch) -> None:
    with ctx.db.session() as s:
        s.add(Camera(id="c", name="c", url=URL))
    url = f"sqlite:///{ctx.data_dir / 'sightline.db'}"
    monkeypatch.setenv(KEY_ENV, "a-completely-different-key-of-40-characters")
    with pytest.raises(ServerKeyError, match=r"not the key this database was set up with.*original key"):
        AppContext.open(ctx.data_dir, url)

    # A lost key file is not silently replaced by a new one ...
    monkeypatch.delenv(KEY_ENV)
    key_file = ctx.data_dir / "secret.key"
    original = key_file.read_bytes()
    key_file.unlink()
    with pytest.raises(ServerKeyError, match=r"secret.key is missing.*restore the key file"):
        AppContext.open(ctx.data_dir, url)
    assert not key_file.exists()

    # ... and with the original key back, everything reads as before.
    key_file.write_bytes(original)
    key_file.chmod(0o600)
    again = AppContext.open(ctx.data_dir, url)
    try:
        with again.db.session() as s:
            assert s.get(Camera, "c").url == URL  # type: ignore[union-attr]
    finally:
        again.db.dispose()


def test_a_database_from_before_key_checks_remembers_only_a_key_that_opens_its_data(
    ctx: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    with ctx.db.session() as s:
        s.add(Camera(id="c", name="c", url=URL))
    with sqlite3.connect(ctx.data_dir / "sightline.db") as conn:  # as if from before key checks
        conn.execute("DELETE FROM server_settings")
    url = f"sqlite:///{ctx.data_dir / 'sightline.db'}"
    monkeypatch.setenv(KEY_ENV, "a-mistyped-key-of-forty-characters-long!")
    with pytest.raises(ServerKeyError, match="not the key this database was set up with"):
        AppContext.open(ctx.data_dir, url)
    with sqlite3.connect(ctx.data_dir / "sightline.db") as conn:
        assert conn.execute("SELECT count(*) FROM server_settings").fetchone() == (0,)  # not remembered
    monkeypatch.delenv(KEY_ENV)
    right = AppContext.open(ctx.data_dir, url)  # the key file: opens the data, so it is remembered
    try:
        with right.db.session() as s:
            assert s.get(Camera, "c").url == URL  # type: ignore[union-attr]
    finally:
        right.db.dispose()
    with sqlite3.connect(ctx.data_dir / "sightline.db") as conn:
        assert conn.execute("SELECT count(*) FROM server_settings").fetchone() == (1,)


def test_audit_chain_alone_proves_the_key_too(ctx: AppContext, monkeypatch: pytest.MonkeyPatch) -> None:
    audit(ctx, Principal("u1", "ann", "admin"), "camera.create", "c1")  # chained; no encrypted secret
    with sqlite3.connect(ctx.data_dir / "sightline.db") as conn:
        assert conn.execute("SELECT count(*) FROM audit_records WHERE hash IS NOT NULL").fetchone()[0] >= 1
        conn.execute("DELETE FROM server_settings")
    monkeypatch.setenv(KEY_ENV, "a-mistyped-key-of-forty-characters-long!")
    with pytest.raises(ServerKeyError, match="not the key this database was set up with"):
        AppContext.open(ctx.data_dir, f"sqlite:///{ctx.data_dir / 'sightline.db'}")


def test_the_key_file_is_created_private_and_loose_ones_are_refused(tmp_path: Path) -> None:
    keys = load_server_keys(tmp_path, environ={})
    key_file = tmp_path / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert load_server_keys(tmp_path, environ={}).material == keys.material  # stable across starts
    assert "secret" not in repr(keys).replace("secret.key", "")
    os.chmod(key_file, 0o644)
    with pytest.raises(ServerKeyError, match=r"mode 0644.*chmod 600"):
        load_server_keys(tmp_path, environ={})


def test_the_environment_key_wins_and_must_be_long(tmp_path: Path) -> None:
    keys = load_server_keys(tmp_path, environ={KEY_ENV: "k" * 32})
    assert keys.source == f"${KEY_ENV}" and not (tmp_path / "secret.key").exists()
    with pytest.raises(ServerKeyError, match="at least 32"):
        load_server_keys(tmp_path, environ={KEY_ENV: "short"})
    assert keys.audit_key != keys.secrets_key  # one secret, separate sub-keys


def test_processes_starting_together_share_one_complete_key(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        keys = list(pool.map(lambda _: load_server_keys(tmp_path, environ={}).material, range(8)))
    assert len(set(keys)) == 1 and len(keys[0]) >= 32
    assert [p.name for p in tmp_path.iterdir()] == ["secret.key"]  # no staged file left behind
