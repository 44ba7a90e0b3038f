"""The strategy center's types (P1, P2): what an element sees, what it says.

A *strategy* is an ordered chain of *elements*. Every raw event from the rules
goes through the chain of the strategy bound to its camera and type; each
element either passes it on or blocks it, and says why in a :class:`Step`.
The steps of one event are its *trace*, stored with the event (blocked events
too, so they can be inspected and back-tested).

Time is the event's ``wall_time``: elements never read a clock, so a chain
replays identically over stored history (back-test) and tests need no sleeping.

Contract used by the platform (storage, API, back-test):

- ``StrategySpec`` (``sightline.strategies.spec``) is the validated data form:
  ``{id, name, version, cameras, event_types, elements: [ {id, type, ...config} ]}``
  where ``type`` is versioned, e.g. ``"sightline/dedupe@v1"``.
- ``Chain.from_spec(spec, library=...)`` builds the runnable chain with fresh
  state; ``chain.run(RawEvent) -> Verdict`` processes one event. Events must be
  fed in ``wall_time`` order per camera.
- ``ErrorLibrary`` (``sightline.strategies.error_library``) holds the
  operator-marked false positives the ``sightline/error-library@v1`` element
  compares crops against.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from sightline.core.event import Event


class Step(BaseModel):
    """One element's decision on one event: a line of the trace (P2)."""

    model_config = ConfigDict(extra="forbid")

    element_id: str  # the element's id inside its chain, e.g. "min-size"
    element_type: str  # versioned type, e.g. "sightline/min-size@v1"
    verdict: Literal["passed", "blocked"]
    reason: str  # one English sentence with the numbers, e.g. "box 12x30 px < 32 px"
    values: dict[str, Any] = Field(default_factory=dict)  # the values compared, JSON-able


@dataclass
class RawEvent:
    """An event as the rules made it, with its evidence images
    (``{"frame"|"crop"|"preview": JPEG bytes}``, any may be missing)."""

    event: Event
    images: Mapping[str, bytes] = field(default_factory=dict)


@dataclass
class Verdict:
    """What the chain decided for one raw event."""

    passed: bool
    event: Event  # what to store: the raw event, possibly with attributes added by elements
    images: Mapping[str, bytes]  # what to store with it (persistence may pick a better snapshot)
    trace: list[Step]
    strategy_id: str | None = None
    strategy_version: int | None = None

    @property
    def blocked_by(self) -> str | None:
        """The element id that blocked the event, or None when it passed."""
        for step in self.trace:
            if step.verdict == "blocked":
                return step.element_id
        return None
