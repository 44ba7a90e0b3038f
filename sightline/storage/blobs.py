"""Content-addressed blob store on disk for snapshots, crops and previews.

Why content addressing: the same frame is often the evidence of several
events (two people cross a line in one frame), and retries re-send the same
JPEG; the key is the SHA-256 of the bytes, so a blob is stored once, a key can
never point at different content, and integrity is checkable.

Layout: ``<root>/ab/cd/<sha256 hex>.<ext>`` — two levels of 256 folders keep
every folder small at millions of files. The key is ``<sha256 hex>.<ext>``:
the extension comes from the content type given to :meth:`BlobStore.put`, so
the API can serve a blob with the right ``Content-Type`` from the key alone
(no side table, no sniffing) and the files open in any viewer.

Writes are atomic: bytes go to a temporary file in the target folder, are
fsynced, then ``os.replace``d into place. A crash or a full disk leaves either
the whole blob or nothing under its final name (a stray ``.tmp-*`` file at
worst, which :meth:`BlobStore.iter_blobs` ignores and :meth:`sweep_temp`
removes).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import re
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

log = logging.getLogger(__name__)

_EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "image/gif": "gif",
    "video/mp4": "mp4",
    "application/json": "json",
    "application/octet-stream": "bin",
}
_CONTENT_TYPES = {ext: ct for ct, ext in _EXTENSIONS.items()}
_KEY_RE = re.compile(r"^([0-9a-f]{64})\.([a-z0-9]{1,8})$")
_TMP_PREFIX = ".tmp-"


class BlobWriteError(OSError):
    """A blob could not be written; ``errno`` is the OS error, the message
    names the folder and, for a full disk, what to do."""


@dataclass(frozen=True)
class BlobInfo:
    key: str
    size: int
    mtime: float  # UNIX seconds of the last write (or dedupe touch)


def is_key(value: str) -> bool:
    """True if ``value`` looks like a blob key (``<sha256 hex>.<ext>``)."""
    return _KEY_RE.match(value) is not None


def content_type_of(key: str) -> str:
    """The content type a key was stored with (from its extension)."""
    m = _KEY_RE.match(key)
    if m is None:
        raise ValueError(f"not a blob key: {key!r} (expected <sha256 hex>.<ext>)")
    return _CONTENT_TYPES.get(m.group(2), "application/octet-stream")


class BlobStore:
    """Blobs under ``root``; keys are ``<sha256 hex>.<ext>``.

    ``fsync`` (default on) makes a blob durable before its key is returned, so
    an event committed to the database never points at bytes lost in a power
    cut. Tests and the benchmark may turn it off.
    """

    def __init__(self, root: Path | str, *, fsync: bool = True) -> None:
        self.root = Path(root)
        self.fsync = fsync
        self.root.mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"BlobStore({str(self.root)!r})"

    # -- keys and paths ------------------------------------------------------

    @staticmethod
    def key_for(data: bytes, content_type: str = "application/octet-stream") -> str:
        """The key ``data`` gets when stored with ``content_type``."""
        ext = _EXTENSIONS.get(content_type.split(";")[0].strip().lower())
        if ext is None:
            raise ValueError(
                f"unsupported blob content type {content_type!r}; use one of {sorted(_EXTENSIONS)}"
            )
        return f"{hashlib.sha256(data).hexdigest()}.{ext}"

    def path(self, key: str) -> Path:
        """Where the blob of ``key`` lives (whether or not it exists)."""
        m = _KEY_RE.match(key)
        if m is None:  # also what stops "../" in a key from an API path
            raise ValueError(f"not a blob key: {key!r} (expected <sha256 hex>.<ext>)")
        sha = m.group(1)
        return self.root / sha[:2] / sha[2:4] / key

    # -- write ---------------------------------------------------------------

    def put(self, data: bytes, content_type: str = "application/octet-stream") -> str:
        """Store ``data``; returns its key. Storing the same bytes again writes
        nothing (it only refreshes the file's mtime, see :mod:`retention`).

        Raises :class:`BlobWriteError` (an ``OSError``) when the bytes cannot
        be written; nothing is left under the final name then.
        """
        key = self.key_for(data, content_type)
        target = self.path(key)
        try:
            st = target.stat()
        except FileNotFoundError:
            pass
        else:
            if st.st_size == len(data):
                # Refresh mtime: retention skips blobs touched within its grace
                # period, so a blob being re-referenced right now is kept.
                with contextlib.suppress(OSError):
                    os.utime(target)
                return key
            log.warning("blob %s has the wrong size (%d, expected %d): rewriting", key, st.st_size, len(data))
        self._write_atomic(target, data)
        return key

    def _write_atomic(self, target: Path, data: bytes) -> None:
        tmp: str | None = None
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=_TMP_PREFIX, dir=target.parent)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                if self.fsync:
                    os.fsync(f.fileno())
            os.replace(tmp, target)
            tmp = None
        except OSError as err:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
            code = err.errno or errno.EIO
            hint = ""
            if code in (errno.ENOSPC, errno.EDQUOT):
                hint = (
                    "; the disk is full: free space on that volume or lower the retention limit "
                    "(max_total_bytes) so old snapshots are removed"
                )
            elif code in (errno.EACCES, errno.EPERM, errno.EROFS):
                hint = "; the folder is not writable by this user: fix its permissions or use another folder"
            raise BlobWriteError(
                code, f"cannot write blob to {target.parent}: {os.strerror(code)}{hint}"
            ) from err

    # -- read ----------------------------------------------------------------

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def open(self, key: str) -> BinaryIO:
        """The blob as a binary file object (caller closes). ``FileNotFoundError`` if absent."""
        return self.path(key).open("rb")

    def get(self, key: str) -> bytes:
        return self.path(key).read_bytes()

    # -- delete and inventory ------------------------------------------------

    def delete(self, key: str) -> int:
        """Remove a blob; returns the bytes freed (0 if it was not there)."""
        target = self.path(key)
        try:
            size = target.stat().st_size
            target.unlink()
        except FileNotFoundError:
            return 0
        # Shard folders stay (at most 65,536): removing them would race with a
        # concurrent put() that has just created the folder.
        return size

    def iter_blobs(self) -> Iterator[BlobInfo]:
        """Every stored blob with its size and mtime (temporary files excluded)."""
        for top in _scandir_sorted(self.root):
            if not top.is_dir(follow_symlinks=False) or len(top.name) != 2:
                continue
            for sub in _scandir_sorted(top.path):
                if not sub.is_dir(follow_symlinks=False):
                    continue
                for entry in _scandir_sorted(sub.path):
                    if entry.name.startswith(_TMP_PREFIX) or not _KEY_RE.match(entry.name):
                        continue
                    try:
                        st = entry.stat(follow_symlinks=False)
                    except FileNotFoundError:  # deleted while we walked
                        continue
                    yield BlobInfo(entry.name, st.st_size, st.st_mtime)

    def size_total(self) -> int:
        """Bytes used by all blobs (walks the tree: O(number of blobs))."""
        return sum(b.size for b in self.iter_blobs())

    def sweep_temp(self, older_than_s: float = 3600.0) -> int:
        """Remove temporary files left by a crash mid-write; returns how many."""
        cutoff = time.time() - older_than_s
        removed = 0
        for dirpath, _dirs, files in os.walk(self.root):
            for name in files:
                if name.startswith(_TMP_PREFIX):
                    p = os.path.join(dirpath, name)
                    with contextlib.suppress(FileNotFoundError):
                        if os.stat(p).st_mtime < cutoff:
                            os.unlink(p)
                            removed += 1
        return removed


def _scandir_sorted(path: str | Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(path) as it:
            return sorted(it, key=lambda e: e.name)
    except FileNotFoundError:
        return []
