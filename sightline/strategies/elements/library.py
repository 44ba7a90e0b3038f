"""Error library element: block events that look like a known false positive."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from sightline.strategies.base import RawEvent, Step
from sightline.strategies.elements.base import Element, ElementConfigBase
from sightline.strategies.error_library import HASH_BITS, ErrorLibrary


class ErrorLibraryConfig(ElementConfigBase):
    type: Literal["sightline/error-library@v1"] = "sightline/error-library@v1"
    max_distance: int | None = Field(
        default=None,
        ge=0,
        le=HASH_BITS,
        description=(
            "Largest pHash Hamming distance (of 64 bits) counted as the same picture; lower is stricter. "
            "Empty: the library's default (14)."
        ),
    )


class ErrorLibraryCheck(Element[ErrorLibraryConfig]):
    """Compares the event's crop with the library entries of the same camera +
    type. Events without a crop, or with no library attached, pass (said so)."""

    def __init__(self, config: ErrorLibraryConfig, library: ErrorLibrary | None) -> None:
        super().__init__(config)
        self._library = library

    def check(self, candidate: RawEvent) -> Step:
        if self._library is None:
            return self.passed("no error library attached")
        crop = candidate.images.get("crop")
        if not crop:
            return self.passed("event has no crop to compare")
        event = candidate.event
        try:
            match = self._library.match(event.camera_id, event.type, crop, self.config.max_distance)
        except ValueError as exc:
            return self.passed(f"crop not compared: {exc}")
        if match is None:
            return self.passed("crop unlike every marked false positive of this camera and type")
        return self.blocked(
            f"crop matches false positive {match.entry_id}: "
            f"distance {match.distance} <= {match.max_distance} bits",
            entry_id=match.entry_id,
            distance=match.distance,
            max_distance=match.max_distance,
            similarity=match.similarity,
        )
