"""Core types shared by every stage. Pure: numpy, pydantic and supervision's
Detections container; no I/O."""

from sightline.core.clock import Clock, FrameClock, ManualClock, SystemClock
from sightline.core.detections import Detections, empty_detections
from sightline.core.event import BoundingBox, Event, EventSnapshot
from sightline.core.frame import Frame
from sightline.core.geometry import Line, LinePixels, Zone, ZonePixels

__all__ = [
    "BoundingBox",
    "Clock",
    "Detections",
    "Event",
    "EventSnapshot",
    "Frame",
    "FrameClock",
    "Line",
    "LinePixels",
    "ManualClock",
    "SystemClock",
    "Zone",
    "ZonePixels",
    "empty_detections",
]
