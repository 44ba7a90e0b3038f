from __future__ import annotations

from pathlib import Path

import pytest

from sightline.inference.models import installed
from tests.media import ultralytics_asset


@pytest.fixture(scope="session")
def model_path() -> Path:
    model = installed("nanodet-g")
    if model is None or model.onnx_path is None:
        pytest.fail("NanoDet model missing: run `sightline models fetch` (the README's test command does)")
    return model.onnx_path


@pytest.fixture(scope="session")
def bus_jpg() -> Path:
    return ultralytics_asset("bus.jpg")
