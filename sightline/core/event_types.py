"""Event type codes, each with an English and a Simplified Chinese name.

Codes are stable strings used in APIs, MQTT topics and storage; the numeric
``number`` is for platforms that want integer alarm codes (seed 000 pushes
alarms by numeric type to park platforms)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EventType:
    code: str
    number: int
    name_en: str
    name_zh: str


_TYPES = [
    EventType("zone.enter", 1001, "Zone intrusion (enter)", "区域入侵（进入）"),
    EventType("zone.leave", 1002, "Zone leave", "离开区域"),
    EventType("zone.inside", 1003, "Object in zone", "区域内目标"),
    EventType("line.cross", 1101, "Line crossing", "越线"),
    EventType("zone.loiter", 1201, "Loitering", "徘徊滞留"),
    EventType("zone.crowd", 1301, "Crowding", "人员聚集"),
]

EVENT_TYPES: dict[str, EventType] = {t.code: t for t in _TYPES}


def check_event_types(codes: list[str]) -> list[str]:
    """``codes`` when every one is a known event type code; ValueError naming the rest."""
    unknown = [code for code in codes if code not in EVENT_TYPES]
    if unknown:
        raise ValueError(f"unknown event type {', '.join(unknown)}; known: {', '.join(sorted(EVENT_TYPES))}")
    return codes
