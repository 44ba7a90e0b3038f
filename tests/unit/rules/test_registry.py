"""The rule registry: configs parsed by ``type``, built into rules, documented."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from sightline.core.event_types import EVENT_TYPES
from sightline.core.protocols import Rule
from sightline.rules import (
    RULE_CONFIG_ADAPTER,
    CrowdingRule,
    LineCrossingRule,
    LoiteringRule,
    ZoneIntrusionRule,
    build_rule,
    parse_rule_config,
)
from tests.factories import feet, run_rule

DOC = Path(__file__).resolve().parents[3] / "docs" / "rules.md"
ZONE = {"id": "z", "points": [[0.25, 0.25], [0.75, 0.25], [0.75, 0.75], [0.25, 0.75]]}
LINE = {"id": "l", "start": [0.1, 0.5], "end": [0.9, 0.5]}

CASES: list[tuple[dict[str, Any], type]] = [
    ({"type": "sightline/zone_intrusion@v1", "id": "a", "zone": ZONE}, ZoneIntrusionRule),
    ({"type": "sightline/line_crossing@v1", "id": "b", "line": LINE}, LineCrossingRule),
    ({"type": "sightline/loitering@v1", "id": "c", "zone": ZONE, "min_dwell_s": 5}, LoiteringRule),
    ({"type": "sightline/crowding@v1", "id": "d", "zone": ZONE, "min_count": 2}, CrowdingRule),
]


@pytest.mark.parametrize(("data", "cls"), CASES, ids=[c[1].__name__ for c in CASES])
def test_parse_and_build(data: dict[str, Any], cls: type) -> None:
    config = parse_rule_config(data)
    assert config.type == data["type"]
    rule: Rule = build_rule(config)
    assert isinstance(rule, cls)
    assert rule.id == data["id"]


def test_every_built_in_rule_emits_known_event_codes() -> None:
    # One person walks through everything: in at the top, down across the line, and
    # stays; plus two more people for the crowd.
    walk = [(0.0, [(1, "person", feet(384, 100))])] + [
        (t, [(1, "person", feet(384, 300)), (2, "person", feet(300, 300))]) for t in (1.0, 7.0, 8.0, 9.0)
    ]
    codes: set[str] = set()
    for data, _ in CASES:
        extra = {"trigger": ["enter", "leave", "inside"]} if "zone_intrusion" in data["type"] else {}
        codes |= {e.type for e in run_rule(build_rule(parse_rule_config({**data, **extra})), walk)}
    assert codes == {"zone.enter", "zone.inside", "line.cross", "zone.loiter", "zone.crowd"}
    assert codes <= EVENT_TYPES.keys()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"type": "sightline/teleport@v1", "id": "x"}, "does not match any of the expected tags"),
        ({"id": "x", "zone": ZONE}, "Unable to extract tag"),
        ({"type": "sightline/zone_intrusion@v1", "id": "x", "zone": ZONE, "zones": []}, "Extra inputs"),
        ({"type": "sightline/zone_intrusion@v1", "id": "", "zone": ZONE}, "at least 1 character"),
        ({"type": "sightline/crowding@v1", "id": "x", "zone": ZONE}, "min_count"),
        (
            {
                "type": "sightline/zone_intrusion@v1",
                "id": "x",
                "zone": {**ZONE, "points": [[0, 0], [2, 0], [1, 1]]},
            },
            "normalised",
        ),
    ],
)
def test_bad_configs_say_what_is_wrong(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        parse_rule_config(data)


def test_json_schema_covers_every_rule() -> None:
    schema = RULE_CONFIG_ADAPTER.json_schema()
    assert set(schema["discriminator"]["mapping"]) == {data["type"] for data, _ in CASES}


def test_yaml_examples_in_the_docs_are_valid() -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL)
    types = {parse_rule_config(yaml.safe_load(block)).type for block in blocks}
    assert types == {data["type"] for data, _ in CASES}
