"""BlobStore on a real file system: layout, dedupe, atomicity, inventory."""

from __future__ import annotations

import errno
import hashlib
import os
import threading
import time
from pathlib import Path

import pytest

from sightline.storage import BlobStore, BlobWriteError
from sightline.storage.blobs import content_type_of, is_key
from tests.integration.storage.helpers import jpeg


def test_put_layout_and_read_back(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "b")
    data = jpeg(1)
    key = store.put(data, "image/jpeg")
    sha = hashlib.sha256(data).hexdigest()
    assert key == f"{sha}.jpg" and is_key(key)
    assert store.path(key) == tmp_path / "b" / sha[:2] / sha[2:4] / key
    assert store.get(key) == data
    with store.open(key) as f:
        assert f.read() == data
    assert content_type_of(key) == "image/jpeg"
    assert store.exists(key)
    assert store.put(b"\x89PNG\r\n\x1a\n....", "image/png").endswith(".png")


def test_same_bytes_are_stored_once(tmp_path: Path) -> None:
    store = BlobStore(tmp_path, fsync=False)
    data = jpeg(2)
    keys = {store.put(data, "image/jpeg") for _ in range(5)}
    assert len(keys) == 1
    assert [b.key for b in store.iter_blobs()] == list(keys)
    assert store.size_total() == len(data)


def test_concurrent_puts_of_the_same_bytes_leave_one_whole_file(tmp_path: Path) -> None:
    store = BlobStore(tmp_path, fsync=False)
    data = os.urandom(2_000_000)
    keys: list[str] = []
    threads = [threading.Thread(target=lambda: keys.append(store.put(data, "image/jpeg"))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(set(keys)) == 1 and len(keys) == 8
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [keys[0]]
    assert store.get(keys[0]) == data


def test_delete_inventory_and_sizes(tmp_path: Path) -> None:
    store = BlobStore(tmp_path, fsync=False)
    keys = [store.put(jpeg(i, w=32 + i), "image/jpeg") for i in range(4)]
    infos = {b.key: b for b in store.iter_blobs()}
    assert set(infos) == set(keys)
    assert all(infos[k].size == len(store.get(k)) for k in keys)
    assert all(abs(infos[k].mtime - time.time()) < 60 for k in keys)
    total = store.size_total()
    assert store.delete(keys[0]) == infos[keys[0]].size
    assert store.delete(keys[0]) == 0
    assert not store.exists(keys[0])
    assert store.size_total() == total - infos[keys[0]].size


def test_re_storing_refreshes_mtime(tmp_path: Path) -> None:
    store = BlobStore(tmp_path, fsync=False)
    key = store.put(b"x" * 10)
    os.utime(store.path(key), (1_000_000, 1_000_000))
    store.put(b"x" * 10)
    assert store.path(key).stat().st_mtime > 1_000_000


@pytest.mark.parametrize("bad", ["../../etc/passwd", "abc", "A" * 64 + ".jpg", "0" * 64, "0" * 64 + "/x.jpg"])
def test_keys_are_validated(tmp_path: Path, bad: str) -> None:
    store = BlobStore(tmp_path)
    with pytest.raises(ValueError, match="not a blob key"):
        store.path(bad)


def test_unknown_content_type_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unsupported blob content type"):
        BlobStore(tmp_path).put(b"x", "text/html")


def test_temp_files_are_ignored_and_swept(tmp_path: Path) -> None:
    store = BlobStore(tmp_path, fsync=False)
    key = store.put(b"data")
    stray = store.path(key).parent / ".tmp-crashed"
    stray.write_bytes(b"half")
    assert [b.key for b in store.iter_blobs()] == [key]
    assert store.sweep_temp(older_than_s=3600) == 0  # too young
    os.utime(stray, (1_000_000, 1_000_000))
    assert store.sweep_temp(older_than_s=3600) == 1
    assert not stray.exists()


def test_write_failure_leaves_nothing_and_says_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = BlobStore(tmp_path, fsync=False)
    real_replace = os.replace

    def no_space(src: str, dst: str) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", no_space)
    with pytest.raises(BlobWriteError) as info:
        store.put(jpeg(5), "image/jpeg")
    assert info.value.errno == errno.ENOSPC
    assert "disk is full" in str(info.value) and "max_total_bytes" in str(info.value)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
    monkeypatch.setattr(os, "replace", real_replace)

    def read_only(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(os, "fdopen", read_only)
    with pytest.raises(OSError, match="not writable"):
        store.put(jpeg(6), "image/jpeg")
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
