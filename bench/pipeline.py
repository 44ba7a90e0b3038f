"""Pipeline throughput: detector + tracker + rules, batched vs a naive loop.

Decodes frames of vtest.avi into memory first (decoding is measured by
bench/ingest.py), then in the same process:
  naive    one frame at a time with the float model: detect([frame]) -> tracker -> rules
  batched  our Analyzer: detect(batch of N) -> tracker -> rules per frame, with
           the float model (effect of batching alone) and the INT8 model (the
           default: what the engine runs)
All use one ONNX Runtime thread, so frames/s here is per core. Prints the
ratios to the naive loop, and where the engine spends its time per frame,
with the engine's own overhead (everything but the detector) separately.

    .venv/bin/python bench/pipeline.py [--frames 200] [--batch 8]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import av

from sightline.config.analysis import load_config
from sightline.core.frame import Frame
from sightline.inference.models import require_model
from sightline.inference.nanodet import NanoDetConfig, NanoDetDetector
from sightline.pipeline.analyzer import Analyzer, AnalyzerStats, run
from sightline.rules import build_rule
from sightline.tracking import ByteTracker

VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
CONFIG = Path(__file__).resolve().parent.parent / "examples" / "vtest.yaml"


def load_frames(n: int) -> list[Frame]:
    frames = []
    with av.open(str(VTEST)) as c:
        for i, f in enumerate(c.decode(video=0)):
            if i >= n:
                break
            frames.append(Frame("vtest", i, float(f.time or 0.0), time.time(), f.to_ndarray(format="bgr24")))
    return frames


def naive(frames: list[Frame], detector: NanoDetDetector) -> float:
    config = load_config(CONFIG)
    tracker = ByteTracker(config.tracker)
    rules = [build_rule(r) for r in config.rules]
    from sightline.core.protocols import RuleContext

    t0 = time.perf_counter()
    for frame in frames:
        dets = detector.detect([frame])[0]
        tracked = tracker.update(dets, frame.pts)
        for rule in rules:
            rule.evaluate(RuleContext(frame, tracked))
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--naive-model", default="nanodet-g")
    ap.add_argument("--model", default="nanodet-g-int8")
    args = ap.parse_args()

    frames = load_frames(args.frames)
    detector = NanoDetDetector(require_model(args.naive_model), NanoDetConfig(threads=1))
    detector.detect(frames[:2])  # warm up
    naive_s = naive(frames, detector)

    def batched(model_id: str) -> tuple[float, AnalyzerStats]:
        config = load_config(CONFIG)
        config.detector.batch_size = args.batch
        det = NanoDetDetector(require_model(model_id), NanoDetConfig(threads=1))
        det.detect(frames[:2])
        det.model_seconds = 0.0
        analyzer = Analyzer(config, det)
        t0 = time.perf_counter()
        stats = run(analyzer, frames)
        return time.perf_counter() - t0, stats

    float_s, _ = batched(args.naive_model)
    batched_s, stats = batched(args.model)

    n = len(frames)
    pre_post = stats.detect_s - stats.model_s
    print(f"frames: {n} of vtest.avi (768x576), 1 ONNX Runtime thread (= per core)")
    print(f"{f'naive loop, {args.naive_model}':<36}{n / naive_s:8.1f} frames/s   1.00x")
    print(
        f"{f'engine batch {args.batch}, {args.naive_model}':<36}{n / float_s:8.1f} frames/s"
        f"{naive_s / float_s:7.2f}x"
    )
    print(
        f"{f'engine batch {args.batch}, {args.model}':<36}{n / batched_s:8.1f} frames/s"
        f"{naive_s / batched_s:7.2f}x"
    )
    print(f"engine with {args.model}, per frame:")
    for name, secs in (
        ("model run (ONNX Runtime)", stats.model_s),
        ("pre + post-processing", pre_post),
        ("tracker", stats.track_s),
        ("rules", stats.rules_s),
        ("rest of the engine", stats.total_s - stats.detect_s - stats.track_s - stats.rules_s),
    ):
        print(f"  {name:<30}{1000 * secs / n:8.3f} ms")
    engine = stats.total_s - stats.detect_s
    print(f"  {'engine overhead (no detector)':<30}{1000 * engine / n:8.3f} ms")
    print(f"  {'overhead incl. pre/post':<30}{stats.overhead_ms_per_frame:8.3f} ms")


if __name__ == "__main__":
    main()
