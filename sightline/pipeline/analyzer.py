"""The analysis pipeline for one camera: batched detection, then per frame
tracking, rules and evidence snapshots.

Frames are detected in batches (one ONNX Runtime run for several frames, which
amortises the per-run overhead), but tracking and rules run frame by frame in
pts order because they are stateful. The analyser counts where its time goes
so the engine's own overhead (everything but the model) can be measured.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import supervision as sv

from sightline.config.analysis import AnalysisConfig
from sightline.core.detections import CLASS_NAME_KEY
from sightline.core.event import Event
from sightline.core.frame import Frame
from sightline.core.geometry import Line, Zone
from sightline.core.protocols import Detector, Rule, RuleContext, Tracker
from sightline.rules import build_rule
from sightline.tracking import ByteTracker


class EvidenceSink(Protocol):
    """Renders an event's evidence images and returns the event (with paths or keys)."""

    def attach(
        self,
        event: Event,
        frame: Frame,
        detections: sv.Detections,
        zones: Sequence[Zone],
        lines: Sequence[Line],
    ) -> Event: ...


@dataclass
class AnalyzerStats:
    frames: int = 0
    batches: int = 0
    events: int = 0
    detect_s: float = 0.0  # inside the detector (pre-process, model, post-process)
    model_s: float = 0.0  # the ONNX Runtime run alone, when the detector reports it
    track_s: float = 0.0
    rules_s: float = 0.0
    snapshot_s: float = 0.0
    total_s: float = 0.0

    @property
    def overhead_ms_per_frame(self) -> float:
        """Engine time per frame excluding the model run and snapshot encoding."""
        if not self.frames:
            return 0.0
        return 1000 * (self.total_s - self.model_s - self.snapshot_s) / self.frames


class Analyzer:
    def __init__(
        self,
        config: AnalysisConfig,
        detector: Detector,
        tracker: Tracker | None = None,
        rules: Sequence[Rule] | None = None,
        evidence: EvidenceSink | None = None,
    ) -> None:
        self.config = config
        self.detector = detector
        self.tracker = tracker or ByteTracker(config.tracker)
        self.rules = list(rules) if rules is not None else [build_rule(r) for r in config.rules]
        self.evidence = evidence
        self.stats = AnalyzerStats()
        self._classes = set(config.detector.classes)
        self.last_detections: sv.Detections | None = None
        self.last_frame: Frame | None = None

    def _keep_classes(self, dets: sv.Detections) -> sv.Detections:
        if not self._classes or len(dets) == 0:
            return dets
        names = dets.data[CLASS_NAME_KEY]
        return dets[np.isin(names, list(self._classes))]

    def process(self, frames: Sequence[Frame]) -> list[Event]:
        """Analyse frames of one camera, in pts order, and return their events."""
        if not frames:
            return []
        t0 = time.perf_counter()
        model_before = getattr(self.detector, "model_seconds", 0.0)
        batch_dets = self.detector.detect(frames)
        t1 = time.perf_counter()
        self.stats.detect_s += t1 - t0
        self.stats.model_s += getattr(self.detector, "model_seconds", 0.0) - model_before
        events: list[Event] = []
        for frame, dets in zip(frames, batch_dets, strict=True):
            ta = time.perf_counter()
            tracked = self.tracker.update(self._keep_classes(dets), frame.pts)
            tb = time.perf_counter()
            ctx = RuleContext(frame=frame, detections=tracked)
            frame_events = [e for rule in self.rules for e in rule.evaluate(ctx)]
            tc = time.perf_counter()
            if self.evidence is not None:
                frame_events = [
                    self.evidence.attach(e, frame, tracked, self.config.zones, self.config.lines)
                    for e in frame_events
                ]
            td = time.perf_counter()
            self.stats.track_s += tb - ta
            self.stats.rules_s += tc - tb
            self.stats.snapshot_s += td - tc
            events.extend(frame_events)
            self.last_detections = tracked
            self.last_frame = frame
        self.stats.frames += len(frames)
        self.stats.batches += 1
        self.stats.events += len(events)
        self.stats.total_s += time.perf_counter() - t0
        return events


def batched(frames: Iterable[Frame], size: int) -> Iterator[list[Frame]]:
    batch: list[Frame] = []
    for frame in frames:
        batch.append(frame)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def run(
    analyzer: Analyzer,
    frames: Iterable[Frame],
    on_events: Callable[[list[Event]], None] = lambda _e: None,
    on_batch: Callable[[list[Frame]], None] = lambda _b: None,
) -> AnalyzerStats:
    """Drive ``frames`` through the analyser in batches of the configured size."""
    for batch in batched(frames, analyzer.config.detector.batch_size):
        events = analyzer.process(batch)
        on_batch(batch)
        if events:
            on_events(events)
    return analyzer.stats
