"""Stream a request body to a temporary file, hashing it on the way.

Why a temporary file under the data directory: the body may be gigabytes, so
it never sits in memory, and the temporary file is on the same file system
as its final place, so keeping it is one atomic rename (``os.replace``):
a reader never sees half a file, and a refused or broken upload leaves
nothing behind (the caller removes the temporary file on every error path —
:func:`received_body` does it for them).

The size cap itself is enforced by :mod:`sightline.api.limits` (413 as soon
as the bytes pass it); the count here is a second guard for callers that
bypass the middleware.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from sightline.uploads.errors import UploadRefused

TEMP_PREFIX = "upload-"
STALE_AFTER_S = 3600.0


@dataclass(frozen=True)
class ReceivedBody:
    path: Path
    size: int
    sha256: str


def temp_dir(data_dir: Path) -> Path:
    folder = data_dir / "uploads-tmp"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def remove_stale_uploads(data_dir: Path, now: float, older_than_s: float = STALE_AFTER_S) -> int:
    """Remove temporary upload files a killed process left behind (its ``finally``
    never ran); run at start. Only old ones: another process may be receiving."""
    folder = data_dir / "uploads-tmp"
    removed = 0
    if folder.is_dir():
        for path in folder.glob(TEMP_PREFIX + "*"):
            with contextlib.suppress(FileNotFoundError):
                if now - path.stat().st_mtime > older_than_s:
                    path.unlink()
                    removed += 1
    return removed


@contextlib.asynccontextmanager
async def received_body(
    chunks: AsyncIterable[bytes], data_dir: Path, limit: int, setting: str
) -> AsyncIterator[ReceivedBody]:
    """The body on disk for the ``with`` block; the temporary file is gone afterwards
    unless the block moved it away (then there is nothing left to remove)."""
    fd, name = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=temp_dir(data_dir))
    path = Path(name)
    try:
        digest = hashlib.sha256()
        size = 0
        with os.fdopen(fd, "wb") as out:
            async for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise UploadRefused(
                        413, f"upload too large (more than {limit} bytes); the limit is {setting}"
                    )
                digest.update(chunk)
                # A local disk write of one chunk (64 KiB) is short; not worth a thread hop each.
                out.write(chunk)
        if size == 0:
            raise UploadRefused(422, "the request body is empty; send the file's bytes as the body")
        yield ReceivedBody(path, size, digest.hexdigest())
    finally:
        path.unlink(missing_ok=True)
