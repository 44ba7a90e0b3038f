"""The built-in elements, one module per family, and the one registry that
maps a config's versioned ``type`` to the class that runs it.

A new version of an element (``@v2``) is a new config + class pair added here;
never a twin copy of the old one.
"""

from __future__ import annotations

from typing import Any

from sightline.strategies.elements.base import Element, ElementConfigBase
from sightline.strategies.elements.confirm import Confirm, ConfirmConfig
from sightline.strategies.elements.dedupe import Dedupe, DedupeConfig, RateLimit, RateLimitConfig
from sightline.strategies.elements.filters import (
    ClassFilter,
    ClassFilterConfig,
    ConfidenceFilter,
    ConfidenceFilterConfig,
    MinSize,
    MinSizeConfig,
)
from sightline.strategies.elements.library import ErrorLibraryCheck, ErrorLibraryConfig
from sightline.strategies.elements.persistence import Persistence, PersistenceConfig
from sightline.strategies.elements.roi import Roi, RoiConfig
from sightline.strategies.elements.schedule import Schedule, ScheduleConfig
from sightline.strategies.elements.threshold import Threshold, ThresholdConfig
from sightline.strategies.error_library import ErrorLibrary
from sightline.strategies.recent import RecentEvents

#: Every element config, in the order the UI lists them.
ELEMENT_CONFIGS: tuple[type[ElementConfigBase], ...] = (
    ClassFilterConfig,
    ConfidenceFilterConfig,
    MinSizeConfig,
    RoiConfig,
    ScheduleConfig,
    ThresholdConfig,
    DedupeConfig,
    PersistenceConfig,
    ConfirmConfig,
    ErrorLibraryConfig,
    RateLimitConfig,
)


def build_element(
    config: ElementConfigBase, library: ErrorLibrary | None, recent: RecentEvents
) -> Element[Any]:
    """A fresh element (empty state) for a validated config."""
    match config:
        case ClassFilterConfig():
            return ClassFilter(config)
        case ConfidenceFilterConfig():
            return ConfidenceFilter(config)
        case MinSizeConfig():
            return MinSize(config)
        case RoiConfig():
            return Roi(config)
        case ScheduleConfig():
            return Schedule(config)
        case ThresholdConfig():
            return Threshold(config)
        case DedupeConfig():
            return Dedupe(config)
        case PersistenceConfig():
            return Persistence(config)
        case ConfirmConfig():
            return Confirm(config, recent)
        case ErrorLibraryConfig():
            return ErrorLibraryCheck(config, library)
        case RateLimitConfig():
            return RateLimit(config)
    raise TypeError(f"no element class for config {type(config).__name__}")


__all__ = [
    "ELEMENT_CONFIGS",
    "ClassFilter",
    "ClassFilterConfig",
    "ConfidenceFilter",
    "ConfidenceFilterConfig",
    "Confirm",
    "ConfirmConfig",
    "Dedupe",
    "DedupeConfig",
    "Element",
    "ElementConfigBase",
    "ErrorLibraryCheck",
    "ErrorLibraryConfig",
    "MinSize",
    "MinSizeConfig",
    "Persistence",
    "PersistenceConfig",
    "RateLimit",
    "RateLimitConfig",
    "Roi",
    "RoiConfig",
    "Schedule",
    "ScheduleConfig",
    "Threshold",
    "ThresholdConfig",
    "build_element",
]
