"""Error library: pHash fingerprints, scoped matching, the element, and the
false-block / true-block rates measured on real video crops."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import cv2
import numpy as np
import pytest

from sightline.strategies.error_library import DEFAULT_MAX_DISTANCE, ErrorLibrary, fingerprint
from tests.conftest import VTEST
from tests.unit.strategies.helpers import chain_of, make_event, raw

LIBRARY_ELEMENT = {"id": "known-fp", "type": "sightline/error-library@v1"}


def jpeg(image: np.ndarray, quality: int = 90) -> bytes:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return data.tobytes()


def pattern(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, size=(10, 4, 3), dtype=np.uint8)
    return cv2.resize(small, (40, 100), interpolation=cv2.INTER_CUBIC)


def test_fingerprint_is_stable_under_recompression() -> None:
    image = pattern(1)
    fp = fingerprint(jpeg(image, 95))
    assert len(fp) == 16 and int(fp, 16) >= 0
    assert fp == fingerprint(jpeg(image, 95))
    library = ErrorLibrary()
    library.add("fp1", "cam1", "zone.enter", fp)
    match = library.match("cam1", "zone.enter", jpeg(image, 60))
    assert match is not None and match.entry_id == "fp1" and match.distance <= 4
    assert match.max_distance == DEFAULT_MAX_DISTANCE and match.similarity == 1 - match.distance / 64


def test_match_is_scoped_to_camera_and_type_and_follows_edits() -> None:
    crop = jpeg(pattern(1))
    library = ErrorLibrary()
    library.add("fp1", "cam1", "zone.enter", fingerprint(crop))
    assert library.match("cam2", "zone.enter", crop) is None
    assert library.match("cam1", "line.cross", crop) is None
    assert library.match("cam1", "zone.enter", jpeg(pattern(2))) is None
    library.add("fp1", "cam2", "zone.enter", fingerprint(crop))  # re-added elsewhere: replaced
    assert library.match("cam1", "zone.enter", crop) is None
    assert library.match("cam2", "zone.enter", fingerprint(crop)) is not None
    library.remove("fp1")
    library.remove("fp1")  # idempotent
    assert len(library) == 0 and library.match("cam2", "zone.enter", crop) is None


def test_bad_inputs_are_clear() -> None:
    with pytest.raises(ValueError, match="not a decodable image"):
        fingerprint(b"not a jpeg")
    with pytest.raises(ValueError, match="16 hex digits"):
        ErrorLibrary().add("x", "cam1", "zone.enter", "abc")


@pytest.mark.parametrize(
    ("with_library", "images", "passed", "reason_part"),
    [
        (True, {"crop": "same"}, False, "crop matches false positive fp1: distance"),
        (True, {"crop": "other"}, True, "crop unlike every marked false positive"),
        (True, {}, True, "event has no crop"),
        (True, {"crop": "broken"}, True, "crop not compared: crop is not a decodable image"),
        (False, {"crop": "same"}, True, "no error library attached"),
    ],
)
def test_element(with_library: bool, images: dict[str, str], passed: bool, reason_part: str) -> None:
    crops = {"same": jpeg(pattern(1), 70), "other": jpeg(pattern(2)), "broken": b"xx"}
    library = ErrorLibrary()
    library.add("fp1", "cam1", "zone.enter", fingerprint(jpeg(pattern(1))))
    chain = chain_of(LIBRARY_ELEMENT, library=library if with_library else None)
    verdict = chain.run(raw(make_event(0), {k: crops[v] for k, v in images.items()}))
    assert verdict.passed is passed
    assert reason_part in verdict.trace[0].reason
    if not passed:
        assert verdict.trace[0].values["entry_id"] == "fp1"


def test_threshold_is_hamming_distance() -> None:
    library = ErrorLibrary()
    library.add("fp1", "cam1", "zone.enter", "0" * 16)
    assert library.match("cam1", "zone.enter", "00000000000000ff", max_distance=8) is not None
    assert library.match("cam1", "zone.enter", "00000000000000ff", max_distance=7) is None


def _bench() -> ModuleType:
    path = Path(__file__).resolve().parents[3] / "bench" / "error_library.py"
    spec = importlib.util.spec_from_file_location("bench_error_library", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not VTEST.exists(), reason=f"{VTEST} missing: apt-get install opencv-doc")
def test_false_block_rate_on_real_crops() -> None:
    """Crops of other people and places must (almost) never be blocked; the
    same false positive seen again must mostly be. Figures in the docs come
    from ``bench/error_library.py``, which runs the same check."""
    bench = _bench()
    crops = bench.collect()
    assert len(crops.library) >= 10 and len(crops.reoccurrences) >= 100 and len(crops.other_places) >= 100
    rates = bench.rates(crops)
    assert rates.false_block_places <= 0.01
    if crops.source == "nanodet":
        assert len(crops.other_people) >= 100
        assert rates.false_block_people <= 0.01
    assert rates.true_block >= 0.6
    # looser thresholds trade false blocks for true ones: the default sits before the knee
    assert bench.rates(crops, 24).false_block > 0.05
