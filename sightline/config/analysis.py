"""The analysis config: what to sample, which detector, which zones, lines and
rules. YAML, validated by pydantic with ``extra="forbid"`` so a typo is an
error, not a silently ignored key.

Rules name their zone or line by id (``zone: plaza``); the loader swaps in the
zone/line object before validation, so a zone drawn once serves many rules.
``${NAME}`` in a string value is replaced by the environment variable NAME
(nothing else is interpolated).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sightline.core.geometry import Line, Zone
from sightline.inference.coco import COCO_CLASSES
from sightline.rules import RuleConfig
from sightline.tracking import TrackerConfig

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class ConfigError(ValueError):
    """A config file problem, with one line per error naming where and how to fix."""


class SamplingConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fps: float | None = Field(default=None, gt=0, le=60, description="Frames analysed per source second.")
    keyframes_only: bool = Field(default=False, description="Decode only keyframes (cheap, for low rates).")
    resize_width: int | None = Field(default=None, ge=64, le=4096, description="Resize on decode.")


class DetectorConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = "nanodet-g-int8"
    confidence: float = Field(default=0.4, gt=0, lt=1)
    iou: float = Field(default=0.5, gt=0, lt=1)
    classes: list[str] = Field(default_factory=list, description="Keep only these classes; empty = all 80.")
    batch_size: int = Field(default=4, ge=1, le=64)
    threads: int = Field(default=1, ge=1, le=64)

    @field_validator("classes")
    @classmethod
    def _known(cls, v: list[str]) -> list[str]:
        unknown = [c for c in v if c not in COCO_CLASSES]
        if unknown:
            raise ValueError(
                f"unknown class(es) {unknown}; known COCO classes include person, car, bus, truck"
            )
        return v


class AnalysisConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    camera_id: str = Field(default="camera", min_length=1, max_length=64)
    sampling: SamplingConfig = Field(default_factory=SamplingConfig)
    detector: DetectorConfig = Field(default_factory=DetectorConfig)
    tracker: TrackerConfig = Field(default_factory=TrackerConfig)
    zones: list[Zone] = Field(default_factory=list)
    lines: list[Line] = Field(default_factory=list)
    rules: list[RuleConfig] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _resolve_references(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
            return data  # field validation reports a wrong type, with its location

        def by_id(items: Any) -> dict[str, Any]:
            # Only well-formed entries can be referred to; the others fail their own validation.
            items = items if isinstance(items, list) else []
            return {x["id"]: x for x in items if isinstance(x, dict) and isinstance(x.get("id"), str)}

        zones, lines = by_id(data.get("zones")), by_id(data.get("lines"))
        rules = []
        for i, rule in enumerate(data["rules"]):
            if isinstance(rule, dict):
                rule = dict(rule)
                for key, table in (("zone", zones), ("line", lines)):
                    ref = rule.get(key)
                    if isinstance(ref, str):
                        if ref not in table:
                            raise ValueError(
                                f"rules[{i}] refers to {key} {ref!r}, which is not defined under "
                                f"'{key}s:' (defined: {sorted(k for k in table if k)})"
                            )
                        rule[key] = table[ref]
            rules.append(rule)
        return {**data, "rules": rules}

    @model_validator(mode="after")
    def _unique_ids(self) -> AnalysisConfig:
        for what, ids in (
            ("zone", [z.id for z in self.zones]),
            ("line", [ln.id for ln in self.lines]),
            ("rule", [r.id for r in self.rules]),
        ):
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            if dupes:
                raise ValueError(f"{what} id(s) {dupes} are used more than once; ids must be unique")
        return self


def _expand_env(value: Any, where: str) -> Any:
    if isinstance(value, str):

        def sub(m: re.Match[str]) -> str:
            name = m.group(1)
            if name not in os.environ:
                raise ConfigError(f"{where}: environment variable {name} is not set (used as ${{{name}}})")
            return os.environ[name]

        return _ENV.sub(sub, value)
    if isinstance(value, list):
        return [_expand_env(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: _expand_env(v, f"{where}.{k}") for k, v in value.items()}
    return value


def format_validation_error(source: str, err: ValidationError) -> str:
    """One line per problem: ``<file>: <key path>: <what is wrong and how to fix it>``.

    An error whose key path encloses another's is left out (a bad point also
    makes its zone "too short"; only the point is the problem), and the rule
    type pydantic adds to paths inside a rule is dropped (``rules.0.zone``)."""
    errors = err.errors()
    locs = [tuple(p for p in e["loc"] if not (isinstance(p, str) and "@v" in p)) for e in errors]
    lines: list[str] = []
    for e, loc in zip(errors, locs, strict=True):
        if any(other != loc and other[: len(loc)] == loc for other in locs):
            continue
        where = ".".join(str(p) for p in loc) or "(top level)"
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling; see docs/config.md for the allowed keys)"
        elif e["type"] in ("union_tag_not_found", "union_tag_invalid"):
            known = ", ".join(e.get("ctx", {}).get("expected_tags", "").replace("'", "").split(", "))
            given = (e.get("ctx") or {}).get("tag")
            what = f"unknown rule type {given!r}" if given else "the rule has no 'type'"
            where, msg = f"{where}.type", f"{what}; use one of: {known or _rule_types()}"
        line = f"{source}: {where}: {msg}"
        if line not in lines:
            lines.append(line)
    return "\n".join(lines)


def _rule_types() -> str:
    from sightline.rules import RULE_CONFIG_ADAPTER

    mapping = RULE_CONFIG_ADAPTER.json_schema().get("discriminator", {}).get("mapping", {})
    return ", ".join(mapping) or "see docs/rules.md"


def parse_config(data: Any, source: str = "config") -> AnalysisConfig:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping of keys (camera_id, zones, rules, ...)")
    try:
        return AnalysisConfig.model_validate(_expand_env(data, source))
    except ValidationError as err:
        raise ConfigError(format_validation_error(source, err)) from None


def load_config(path: Path | str) -> AnalysisConfig:
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: no such config file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: not UTF-8 text (byte {err.start}); save the file as UTF-8 YAML") from None
    except OSError as err:
        reason = err.strerror or str(err)
        raise ConfigError(f"{path}: cannot read it ({reason}); give the path of a YAML file") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        where = getattr(err, "problem_mark", None)
        at = f" at line {where.line + 1}, column {where.column + 1}" if where is not None else ""
        problem = getattr(err, "problem", None) or str(err)
        raise ConfigError(
            f"{path}: not valid YAML{at}: {problem} (check indentation, colons and brackets there)"
        ) from None
    return parse_config(data, str(path))
