"""Built-in rules and the one registry that maps their configs to classes.

Why a discriminated union: a task's YAML/JSON lists rules as plain mappings;
pydantic picks the config class from ``type`` (``sightline/<name>@v<N>``),
rejects unknown fields, and gives the UI one JSON Schema for every built-in
rule. Adding a rule means one config in the union and one ``case`` in
:func:`build_rule`; mypy's ``assert_never`` fails if the two lists diverge.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, assert_never

from pydantic import Field, TypeAdapter

from sightline.core.protocols import Rule
from sightline.rules.crowd import CrowdingConfig, CrowdingRule
from sightline.rules.dwell import LoiteringConfig, LoiteringRule
from sightline.rules.lines import LineCrossingConfig, LineCrossingRule
from sightline.rules.zones import ZoneIntrusionConfig, ZoneIntrusionRule

RuleConfig = Annotated[
    ZoneIntrusionConfig | LineCrossingConfig | LoiteringConfig | CrowdingConfig,
    Field(discriminator="type"),
]

RULE_CONFIG_ADAPTER: TypeAdapter[RuleConfig] = TypeAdapter(RuleConfig)


def parse_rule_config(data: Mapping[str, Any]) -> RuleConfig:
    """Validate one rule mapping (e.g. from YAML) into its config class."""
    return RULE_CONFIG_ADAPTER.validate_python(data)


def build_rule(config: RuleConfig) -> Rule:
    """The rule object for a validated built-in config."""
    match config:
        case ZoneIntrusionConfig():
            return ZoneIntrusionRule(config)
        case LineCrossingConfig():
            return LineCrossingRule(config)
        case LoiteringConfig():
            return LoiteringRule(config)
        case CrowdingConfig():
            return CrowdingRule(config)
        case _:
            assert_never(config)


__all__ = [
    "RULE_CONFIG_ADAPTER",
    "CrowdingConfig",
    "CrowdingRule",
    "LineCrossingConfig",
    "LineCrossingRule",
    "LoiteringConfig",
    "LoiteringRule",
    "RuleConfig",
    "ZoneIntrusionConfig",
    "ZoneIntrusionRule",
    "build_rule",
    "parse_rule_config",
]
