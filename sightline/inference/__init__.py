"""Model catalogue, ONNX Runtime sessions, pre/post-processing."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sightline.config.analysis import DetectorConfig
    from sightline.inference.nanodet import NanoDetDetector


def build_detector(config: DetectorConfig) -> NanoDetDetector:
    """The detector a config asks for, loaded from the model cache."""
    from sightline.inference.models import CATALOG, ModelError, require_model
    from sightline.inference.nanodet import NanoDetConfig, NanoDetDetector

    if config.model not in CATALOG or "detection" not in CATALOG[config.model].tasks:
        detectors = [m for m, s in CATALOG.items() if "detection" in s.tasks]
        raise ModelError(f"detector model {config.model!r} is unknown; available: {detectors}")
    return NanoDetDetector(
        require_model(config.model),
        NanoDetConfig(
            confidence_threshold=config.confidence, iou_threshold=config.iou, threads=config.threads
        ),
    )
