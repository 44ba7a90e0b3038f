"""Strategies as data: the validated form of a strategy, its parser with one
clear message per problem, and the shipped presets.

A strategy in YAML::

    id: line-crossing
    name: Line crossing
    version: 1
    cameras: []              # empty = every camera
    event_types: [line.cross]
    priority: 0
    elements:
      - {id: confident, type: sightline/confidence-filter@v1, min_confidence: 0.5}
      - {id: once-per-track, type: sightline/dedupe@v1, window_s: 30, by_zone: true, by_track: true}
"""

from __future__ import annotations

import json
import reprlib
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Annotated, Any

import yaml
import yaml.composer
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails

from sightline.core.event_types import check_event_types
from sightline.strategies.elements import (
    ELEMENT_CONFIGS,
    ClassFilterConfig,
    ConfidenceFilterConfig,
    ConfirmConfig,
    DedupeConfig,
    ErrorLibraryConfig,
    MinSizeConfig,
    PersistenceConfig,
    RateLimitConfig,
    RoiConfig,
    ScheduleConfig,
    ThresholdConfig,
)
from sightline.strategies.elements.base import SLUG_PATTERN

ElementConfig = Annotated[
    ClassFilterConfig
    | ConfidenceFilterConfig
    | MinSizeConfig
    | RoiConfig
    | ScheduleConfig
    | ThresholdConfig
    | DedupeConfig
    | PersistenceConfig
    | ConfirmConfig
    | ErrorLibraryConfig
    | RateLimitConfig,
    Field(discriminator="type"),
]

#: versioned type -> config class, e.g. "sightline/dedupe@v1" -> DedupeConfig.
ELEMENT_TYPES: dict[str, type[BaseModel]] = {
    str(cls.model_fields["type"].default): cls for cls in ELEMENT_CONFIGS
}


class StrategyError(ValueError):
    """A strategy that cannot be used; ``problems`` holds one sentence each."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


class StrategySpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=SLUG_PATTERN, description="Strategy id: lower-case letters, digits, - _ .")
    name: str = ""
    version: int = Field(default=1, ge=1, description="Bumped on every edit; traces record it.")
    cameras: list[str] = Field(default_factory=list, description="Camera ids; empty means every camera.")
    event_types: list[str] = Field(min_length=1, description="Event type codes the strategy applies to.")
    enabled: bool = True
    priority: int = Field(default=0, description="Among equally specific strategies the highest wins.")
    elements: list[ElementConfig] = Field(description="The chain, run in order; the first block stops it.")

    _known_types = field_validator("event_types")(check_event_types)

    @model_validator(mode="after")
    def _unique_element_ids(self) -> StrategySpec:
        first: dict[str, int] = {}
        for index, element in enumerate(self.elements):
            if element.id in first:
                raise ValueError(
                    f"duplicate element id {element.id!r} (elements[{first[element.id]}] and "
                    f"elements[{index}]); give each element its own id"
                )
            first[element.id] = index
        return self

    def applies_to(self, camera_id: str, event_type: str) -> bool:
        return event_type in self.event_types and (not self.cameras or camera_id in self.cameras)


_TOO_DEEP = "strategy is nested too deeply; a strategy is a flat list of elements"


class _NoAliasLoader(yaml.SafeLoader):
    """SafeLoader without anchors/aliases: a few lines of ``&a [*a, *a]`` expand to
    gigabytes (the "billion laughs"), and a strategy never needs them."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed in a strategy; write the value out", mark
            )
        return super().compose_node(parent, index)


def parse_spec(data: Mapping[str, Any] | str) -> StrategySpec:
    """A validated strategy from a mapping or YAML / JSON text; StrategyError otherwise."""
    if isinstance(data, str):
        try:
            data = yaml.load(data, Loader=_NoAliasLoader)  # noqa: S506 - a SafeLoader subclass
        except RecursionError:
            raise StrategyError([_TOO_DEEP]) from None
        except yaml.YAMLError as exc:
            where = getattr(exc, "problem_mark", None)
            line = f" at line {where.line + 1}" if where is not None else ""
            problem = getattr(exc, "problem", None) or str(exc)
            raise StrategyError([f"strategy is not valid YAML/JSON{line}: {problem}"]) from None
    if not isinstance(data, Mapping):
        raise StrategyError(["a strategy must be a mapping with id, event_types and elements"])
    try:
        return StrategySpec.model_validate(dict(data))
    except RecursionError:
        raise StrategyError([_TOO_DEEP]) from None
    except ValidationError as exc:
        raise StrategyError([describe(error, data) for error in exc.errors()]) from None


def spec_to_yaml(spec: StrategySpec) -> str:
    """The spec as YAML an operator can edit (defaults written out)."""
    return yaml.safe_dump(json.loads(spec.model_dump_json()), sort_keys=False, allow_unicode=True)


def describe(error: ErrorDetails, data: Mapping[str, Any]) -> str:
    """One sentence naming where the problem is and how to fix it."""
    element, field, fields = _where(list(error["loc"]), data)
    what = _what(error, fields)
    if field:
        # "window_s must be > 0" reads as a sentence; "polygon: point ... outside" needs the colon.
        joiner = " " if what.startswith(_PREDICATES) else ": "
        what = f"{field}{joiner}{what}"
    return f"{element}: {what}" if element else what


_PREDICATES = ("must ", "is ", "needs ")


def _where(loc: list[int | str], data: Mapping[str, Any]) -> tuple[str, str, type[BaseModel]]:
    """(element part like "elements[2] (dedupe)", field path like "polygon[0]", its model)."""
    fields: type[BaseModel] = StrategySpec
    parts: list[str] = []
    if len(loc) >= 2 and loc[0] == "elements" and isinstance(loc[1], int):
        index = loc[1]
        raw = data.get("elements")
        element = raw[index] if isinstance(raw, list) and index < len(raw) else None
        element_id = element.get("id") if isinstance(element, Mapping) else None
        head = f"elements[{index}]" + (f" ({element_id})" if element_id else "")
        rest = loc[2:]
        if rest and isinstance(rest[0], str) and rest[0] in ELEMENT_TYPES:
            fields = ELEMENT_TYPES[rest[0]]
            rest = rest[1:]
        prefix, loc = head, rest
    else:
        prefix = ""
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + item)
    return prefix, "".join(parts), fields


def _what(error: ErrorDetails, fields: type[BaseModel]) -> str:
    kind, ctx = error["type"], error.get("ctx", {})
    known_types = ", ".join(ELEMENT_TYPES)
    if kind == "union_tag_invalid":
        return f"unknown element type {ctx.get('tag')!r}; known types: {known_types}"
    if kind == "union_tag_not_found":
        return f"element has no type; set type to one of: {known_types}"
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return f"unknown field; known fields: {', '.join(fields.model_fields)}"
    bounds = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}
    if kind in bounds:
        limit = next(iter(ctx.values()))
        shown = f"{limit:g}" if isinstance(limit, float) else str(limit)
        return f"must be {bounds[kind]} {shown} (got {_shown(error['input'])})"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')} (got {_shown(error['input'])})"
    if kind == "string_pattern_mismatch":
        return f"must be a lower-case slug of letters, digits, - _ . (got {_shown(error['input'])})"
    if kind == "too_short":
        return f"needs at least {ctx.get('min_length')} item(s)"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


_SHOWN = reprlib.Repr()  # keyword arguments only from Python 3.12
_SHOWN.maxstring = _SHOWN.maxother = 60
_SHOWN.maxlist = _SHOWN.maxdict = 4
_SHOWN.maxlevel = 2


def _shown(value: Any) -> str:
    """A short repr of a rejected value: messages echo input, input can be huge."""
    return _SHOWN.repr(value)


def load_presets() -> list[StrategySpec]:
    """The shipped strategies (``presets/*.yaml``), in file name order."""
    folder = resources.files("sightline.strategies") / "presets"
    specs: list[StrategySpec] = []
    for item in sorted(folder.iterdir(), key=lambda p: p.name):
        if not item.name.endswith(".yaml"):
            continue
        try:
            specs.append(parse_spec(item.read_text(encoding="utf-8")))
        except StrategyError as exc:
            raise StrategyError([f"preset {item.name}: {p}" for p in exc.problems]) from None
    return specs
