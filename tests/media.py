"""Test media that may not be committed: fetched from package registries at
test time and cached under ~/.cache/sightline/test-media."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from platformdirs import user_cache_dir

VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
ULTRALYTICS_WHEEL = "ultralytics==8.4.190"


def media_dir() -> Path:
    d = Path(user_cache_dir("sightline")) / "test-media"
    d.mkdir(parents=True, exist_ok=True)
    return d


def ultralytics_asset(name: str) -> Path:
    """``bus.jpg`` / ``zidane.jpg`` from the ultralytics wheel (AGPL: never
    committed, never imported; we only read a picture out of the archive)."""
    target = media_dir() / name
    if target.exists():
        return target
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", tmp, ULTRALYTICS_WHEEL],
            check=True,
            capture_output=True,
        )
        wheel = next(Path(tmp).glob("ultralytics-*.whl"))
        with zipfile.ZipFile(wheel) as zf:
            data = zf.read(f"ultralytics/assets/{name}")
    tmp_target = target.with_suffix(".part")
    tmp_target.write_bytes(data)
    tmp_target.replace(target)
    return target
