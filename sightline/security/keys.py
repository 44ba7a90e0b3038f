"""The server key: one secret from which every other key is derived.

Where it comes from, in order:

1. ``SIGHTLINE_SECRET_KEY`` (at least 32 characters) — for containers and
   several processes sharing one database;
2. ``<data dir>/secret.key`` — created at first start with 32 random bytes and
   mode 0600. A key file that group or others may read is refused rather than
   used: a key that leaked is no key.

Why derive sub-keys (HKDF-SHA256, one ``info`` label per purpose) instead of
using the key directly: the audit chain's HMAC key and the encryption key for
secrets at rest must never be the same bytes, yet operators should back up and
manage exactly one secret.

Losing the key means: stored camera passwords and webhook secrets cannot be
decrypted (re-enter them) and the audit chain can no longer be verified. Back
it up with the database.
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_ENV = "SIGHTLINE_SECRET_KEY"
KEY_FILE_NAME = "secret.key"
MIN_KEY_CHARS = 32

AUDIT_PURPOSE = "sightline audit chain v1"
SECRETS_PURPOSE = "sightline secrets at rest v1"


class ServerKeyError(RuntimeError):
    """The server key cannot be used; the message names the problem and the fix."""


@dataclass(frozen=True)
class ServerKeys:
    material: bytes
    source: str  # where it came from, for messages (never the key itself)

    def derive(self, purpose: str, length: int = 32) -> bytes:
        hkdf = HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=purpose.encode())
        return hkdf.derive(self.material)

    @property
    def audit_key(self) -> bytes:
        return self.derive(AUDIT_PURPOSE)

    @property
    def secrets_key(self) -> bytes:
        return self.derive(SECRETS_PURPOSE)

    def __repr__(self) -> str:  # never print the material
        return f"ServerKeys(source={self.source!r})"


def load_server_keys(
    data_dir: Path, environ: Mapping[str, str] | None = None, *, create: bool = True
) -> ServerKeys:
    """The server key from the environment, else the key file (created on first use
    unless ``create`` is False: a checking tool must not invent a new key)."""
    env = os.environ if environ is None else environ
    value = env.get(KEY_ENV, "").strip()
    if value:
        if len(value) < MIN_KEY_CHARS:
            raise ServerKeyError(
                f"{KEY_ENV} is {len(value)} characters long; use at least {MIN_KEY_CHARS} random ones, "
                "e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
        return ServerKeys(value.encode("utf-8"), f"${KEY_ENV}")
    return _from_key_file(Path(data_dir) / KEY_FILE_NAME, create)


def _from_key_file(path: Path, create: bool) -> ServerKeys:
    if not path.exists():
        if not create:
            raise ServerKeyError(
                f"no server key: {path} does not exist and {KEY_ENV} is not set; point --data at the "
                f"service's data folder or set {KEY_ENV} as the service has it"
            )
        _create_key_file(path)
    mode = stat.S_IMODE(path.stat().st_mode)
    if os.name == "posix" and mode & 0o077:
        raise ServerKeyError(
            f"key file {path} may be read by other users (mode {mode:04o}); "
            f"restrict it with `chmod 600 {path}` (and check who could have copied it)"
        )
    text = path.read_text(encoding="ascii", errors="replace").strip()
    if len(text) < MIN_KEY_CHARS:
        raise ServerKeyError(
            f"key file {path} holds {len(text)} characters, at least {MIN_KEY_CHARS} are needed; "
            "restore it from your backup (deleting it makes a new key, and stored camera passwords "
            "and the audit chain then cannot be read or verified)"
        )
    return ServerKeys(text.encode("ascii"), str(path))


def _create_key_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii") + "\n"
    # Written whole to a private temporary file, then hard-linked into place:
    # link() fails when the name exists, so of two processes starting at once
    # exactly one key wins, and nobody ever reads a half-written key file.
    staged = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(FileExistsError):  # another process won: use its key
            os.link(staged, path)
    finally:
        staged.unlink(missing_ok=True)
