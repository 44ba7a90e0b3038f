"""Parsing strategies: one clear message per problem; presets load."""

from __future__ import annotations

from typing import Any

import pytest

from sightline.core.event_types import EVENT_TYPES
from sightline.strategies.chain import Chain
from sightline.strategies.spec import StrategyError, StrategySpec, load_presets, parse_spec, spec_to_yaml


def strategy(*elements: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"id": "s", "event_types": ["line.cross"], "elements": list(elements), **fields}


DEDUPE = {"id": "dedupe", "type": "sightline/dedupe@v1", "window_s": 10}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            strategy(
                {"id": "a", "type": "sightline/confidence-filter@v1", "min_confidence": 0.5},
                {**DEDUPE, "window_s": 0},
            ),
            "elements[1] (dedupe): window_s must be > 0 (got 0)",
        ),
        (
            strategy({**DEDUPE, "window_s": None}),
            "elements[0] (dedupe): window_s: Input should be a valid number",
        ),
        (
            strategy({"id": "x", "type": "sightline/nope@v1"}),
            "elements[0] (x): unknown element type 'sightline/nope@v1'; known types: sightline/class-filter",
        ),
        (
            strategy({"id": "x"}),
            "elements[0] (x): element has no type; set type to one of: sightline/class-filter@v1",
        ),
        (
            strategy(DEDUPE, DEDUPE),
            "duplicate element id 'dedupe' (elements[0] and elements[1]); give each element its own id",
        ),
        (
            strategy({**DEDUPE, "windows": 3}),
            "elements[0] (dedupe): windows: unknown field; known fields: id, type, window_s, by_zone",
        ),
        (
            strategy(DEDUPE, event_types=["line.crossing"]),
            "event_types: unknown event type line.crossing; known: line.cross",
        ),
        (strategy(DEDUPE, event_types=[]), "event_types needs at least 1 item(s)"),
        (
            strategy(DEDUPE, id="My Strategy"),
            "id must be a lower-case slug of letters, digits, - _ . (got 'My Strategy')",
        ),
        ({"event_types": ["line.cross"], "elements": []}, "id is required"),
        (
            strategy({"id": "m", "type": "sightline/min-size@v1"}),
            "elements[0] (m): set min_width or min_height (or both)",
        ),
        (
            strategy({"id": "sc", "type": "sightline/schedule@v1", "ranges": ["8:00-17:00"]}),
            "elements[0] (sc): ranges: time range '8:00-17:00' must look like 08:30-17:45",
        ),
        (
            strategy({"id": "sc", "type": "sightline/schedule@v1", "timezone": "China"}),
            "elements[0] (sc): timezone: unknown time zone 'China'; use an IANA name",
        ),
        (
            strategy({"id": "sc", "type": "sightline/schedule@v1", "weekdays": ["monday"]}),
            "elements[0] (sc): weekdays[0] must be one of 'mon', 'tue'",
        ),
        (
            strategy({"id": "r", "type": "sightline/roi@v1", "polygon": [[0, 0], [640, 0], [0, 1]]}),
            "elements[0] (r): polygon: point (640.0, 0.0) is outside 0..1",
        ),
        (
            strategy({"id": "t", "type": "sightline/threshold@v1", "field": "area", "op": "=>", "value": 3}),
            "elements[0] (t): op must be one of '<', '<=', '>', '>=', '==' or '!=' (got '=>')",
        ),
        (
            strategy({"id": "c", "type": "sightline/confirm@v1", "requires": ["helmet"], "window_s": 3}),
            "elements[0] (c): requires: unknown event type helmet",
        ),
        ("id: [unclosed", "strategy is not valid YAML/JSON at line 1"),
        ("[1, 2]", "a strategy must be a mapping with id, event_types and elements"),
    ],
)
def test_one_clear_message_per_problem(data: Any, message: str) -> None:
    with pytest.raises(StrategyError) as info:
        parse_spec(data)
    assert len(info.value.problems) == 1, info.value.problems
    assert info.value.problems[0].startswith(message), info.value.problems[0]


def test_several_problems_each_reported() -> None:
    with pytest.raises(StrategyError) as info:
        parse_spec(strategy({**DEDUPE, "window_s": -1}, {"id": "x", "type": "bad"}, event_types=["nope"]))
    assert len(info.value.problems) == 3
    assert str(info.value) == "; ".join(info.value.problems)


def test_yaml_and_json_text_round_trip() -> None:
    text = """
id: night-watch
event_types: [zone.enter]
cameras: [gate]
elements:
  - {id: nights, type: sightline/schedule@v1, ranges: ["22:00-06:00"]}
  - {id: dedupe, type: sightline/dedupe@v1, window_s: 30, by_track: true}
"""
    spec = parse_spec(text)
    assert spec.cameras == ["gate"] and spec.elements[1].type == "sightline/dedupe@v1"
    assert parse_spec(spec_to_yaml(spec)) == spec
    assert parse_spec(spec.model_dump_json()) == spec


def test_presets_load_and_run() -> None:
    presets = load_presets()
    ids = {p.id for p in presets}
    assert {"line-crossing", "zone-intrusion", "loitering", "crowding", "object-in-zone"} <= ids
    assert all(isinstance(p, StrategySpec) and p.elements for p in presets)
    assert {t for p in presets for t in p.event_types} <= set(EVENT_TYPES)
    for preset in presets:
        Chain.from_spec(preset)  # every element builds


def test_json_schema_for_forms() -> None:
    schema = StrategySpec.model_json_schema()
    assert "sightline/dedupe@v1" in str(schema)


def test_yaml_alias_bomb_is_refused_without_expanding() -> None:
    # Nine levels of nine aliases expand to 9**9 (387 million) strings if composed.
    lines = ['a0: &a0 "lol"']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    with pytest.raises(StrategyError) as info:
        parse_spec("\n".join(lines))
    assert info.value.problems == [
        "strategy is not valid YAML/JSON at line 2: "
        "aliases (*name) are not allowed in a strategy; write the value out"
    ]


def test_deep_nesting_is_one_message() -> None:
    with pytest.raises(StrategyError) as info:
        parse_spec("[" * 20_000 + "]" * 20_000)
    assert "nested too deeply" in info.value.problems[0]


def test_huge_rejected_value_is_not_echoed_whole() -> None:
    with pytest.raises(StrategyError) as info:
        parse_spec(strategy({**DEDUPE, "window_s": -1}, id="x" * 100_000))
    assert len(str(info.value)) < 400, str(info.value)[:500]
