"""Running strategies: one spec's chain, and the engine that binds raw events
to the strategy for their camera + type.

Thread-safety: a :class:`Chain` is not; the :class:`StrategyEngine` serialises
every call with one lock (elements are microseconds each, so one lock costs
far less than the detector that feeds it).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from sightline.strategies.base import RawEvent, Step, Verdict
from sightline.strategies.elements import build_element
from sightline.strategies.elements.base import Element
from sightline.strategies.error_library import ErrorLibrary
from sightline.strategies.recent import RecentEvents
from sightline.strategies.spec import StrategySpec


class Chain:
    """A strategy's elements with their state, run in order on one event."""

    def __init__(
        self, spec: StrategySpec, elements: list[Element[Any]], recent: RecentEvents, owns_recent: bool
    ) -> None:
        self.spec = spec
        self.elements = elements
        self.recent = recent
        # A chain built without a shared RecentEvents records its own events;
        # under an engine (or back-test) the caller records every raw event.
        self._owns_recent = owns_recent

    @classmethod
    def from_spec(
        cls, spec: StrategySpec, library: ErrorLibrary | None = None, recent: RecentEvents | None = None
    ) -> Chain:
        """A chain with fresh state."""
        shared = recent if recent is not None else RecentEvents()
        elements = [build_element(config, library, shared) for config in spec.elements]
        return cls(spec, elements, shared, owns_recent=recent is None)

    def run(self, raw: RawEvent) -> Verdict:
        """Run the elements in order, stop at the first block; commit to every
        element only when all passed (the event is emitted)."""
        if self._owns_recent:
            self.recent.record(raw.event)
        candidate = replace(raw)  # elements may swap event/images on this copy, never on raw
        trace: list[Step] = []
        passed = True
        for element in self.elements:
            step = element.check(candidate)
            trace.append(step)
            if step.verdict == "blocked":
                passed = False
                break
        if passed:
            for element in self.elements:
                element.commit(candidate)
        return Verdict(
            passed=passed,
            event=candidate.event,
            images=candidate.images,
            trace=trace,
            strategy_id=self.spec.id,
            strategy_version=self.spec.version,
        )


def _binding_rank(spec: StrategySpec, camera_id: str) -> tuple[int, int, str]:
    # A spec naming the camera beats one for all cameras; then priority; then
    # the id, only so that the choice is deterministic.
    return (1 if camera_id in spec.cameras else 0, spec.priority, spec.id)


class StrategyEngine:
    """Binds each raw event to the most specific enabled strategy for its
    camera + type and runs that strategy's chain."""

    def __init__(self, specs: Iterable[StrategySpec], library: ErrorLibrary | None = None) -> None:
        self.library = library
        self._lock = threading.Lock()
        self._recent = RecentEvents()
        self._chains: dict[str, Chain] = {}
        self._bound: dict[tuple[str, str], Chain | None] = {}
        self.replace(specs)

    @property
    def specs(self) -> list[StrategySpec]:
        with self._lock:
            return [chain.spec for chain in self._chains.values()]

    def replace(self, specs: Iterable[StrategySpec]) -> None:
        """Swap the strategies at run time. A strategy whose id, version and
        content are unchanged keeps its chain and thus its state (dedupe and
        rate-limit windows, persistence hits); others start fresh."""
        wanted = [spec for spec in specs if spec.enabled]
        ids = [spec.id for spec in wanted]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"strategy ids must be unique; repeated: {', '.join(duplicates)}")
        with self._lock:
            chains: dict[str, Chain] = {}
            for spec in wanted:
                old = self._chains.get(spec.id)
                if old is not None and old.spec.version == spec.version and old.spec == spec:
                    chains[spec.id] = old
                else:
                    chains[spec.id] = Chain.from_spec(spec, self.library, self._recent)
            self._chains = chains
            self._bound = {}

    def chain_for(self, camera_id: str, event_type: str) -> Chain | None:
        """The chain bound to this camera + type, or None."""
        with self._lock:
            return self._bind(camera_id, event_type)

    def _bind(self, camera_id: str, event_type: str) -> Chain | None:
        key = (camera_id, event_type)
        if key not in self._bound:
            candidates = [c for c in self._chains.values() if c.spec.applies_to(camera_id, event_type)]
            self._bound[key] = max(candidates, key=lambda c: _binding_rank(c.spec, camera_id), default=None)
        return self._bound[key]

    def process(self, raw: RawEvent) -> Verdict:
        """The verdict for one raw event; events pass untouched, with an empty
        trace and no strategy id, when no strategy applies."""
        event = raw.event
        with self._lock:
            self._recent.record(event)
            chain = self._bind(event.camera_id, event.type)
            if chain is None:
                return Verdict(passed=True, event=event, images=raw.images, trace=[])
            return chain.run(raw)

    run = process
