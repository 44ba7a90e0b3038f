"""Float vs INT8 NanoDet: speed and agreement, measured in one run.

Builds the int8 model(s) with ``sightline.inference.quantize`` into a temp
folder, then in this one process:

* speed: ms/frame at batch 1 and batch 8, one ONNX Runtime thread (per
  core), on real vtest frames. The variants are timed in interleaved rounds
  and each figure is the best round's median: other processes only ever
  slow a round down, so the best round is the closest to an idle machine.
* agreement with the float model on ``--eval`` vtest frames that are not
  calibration frames: float detections with confidence >= 0.4 are matched
  greedily (highest IoU first) to int8 detections of the same class with
  confidence >= 0.4 and IoU >= 0.5. recall = matched / float boxes,
  precision = matched / int8 boxes, mIoU and |dconf| over the matches.
  R@.3 is the recall when int8 boxes down to 0.3 may match (a box that
  exists but crossed the threshold is not lost). The same on ultralytics'
  bus.jpg and zidane.jpg (large, close-up objects: out of vtest's domain)
  when they are available.

    .venv/bin/python bench/quantized.py              # float vs the shipped recipe
    .venv/bin/python bench/quantized.py --variants   # + the alternatives we tried
    .venv/bin/python bench/quantized.py --variants --entropy  # + entropy (~70 s more)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import onnxruntime as ort
import supervision as sv

from sightline.inference.models import require_model
from sightline.inference.nanodet import NanoDetConfig, NanoDetDetector, create_session
from sightline.inference.quantize import (
    RECIPE,
    Recipe,
    _count_frames,
    calibration_indices,
    decode_frames,
    quantize_detector,
)

VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
# Out-of-domain pictures (large objects, close up): ultralytics' bus.jpg and zidane.jpg.
OOD_DIRS = [Path("/tmp/ul/assets"), Path.home() / ".cache/sightline/test-media"]
OOD_NAMES = ("bus.jpg", "zidane.jpg")
FLOAT_MODEL = "nanodet-g"
CONF = 0.4
MIN_IOU = 0.5


def iou_matrix(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return np.asarray(inter / (area_a[:, None] + area_b[None, :] - inter), dtype=np.float64)


def match(
    ref: sv.Detections, test: sv.Detections, ref_conf: float = CONF, test_conf: float = CONF
) -> list[tuple[float, float]]:
    """Greedy same-class matching, highest IoU first: (IoU, |dconf|) per pair."""
    r = ref[ref.confidence >= ref_conf]
    t = test[test.confidence >= test_conf]
    m = iou_matrix(r.xyxy, t.xyxy)
    if m.size:
        m[r.class_id[:, None] != t.class_id[None, :]] = 0.0
    pairs = []
    while m.size and m.max() >= MIN_IOU:
        i, j = np.unravel_index(int(m.argmax()), m.shape)
        pairs.append((float(m[i, j]), abs(float(r.confidence[i]) - float(t.confidence[j]))))
        m[i, :] = 0.0
        m[:, j] = 0.0
    return pairs


@dataclass
class Agreement:
    n_float: int
    n_int8: int
    recall: float
    precision: float
    miou: float
    dconf: float
    recall_tol: float


def agreement(ref: list[sv.Detections], test: list[sv.Detections]) -> Agreement:
    n_ref = sum(int((d.confidence >= CONF).sum()) for d in ref)
    n_test = sum(int((d.confidence >= CONF).sum()) for d in test)
    pairs = [p for r, t in zip(ref, test, strict=True) for p in match(r, t)]
    tol = sum(len(match(r, t, test_conf=0.3)) for r, t in zip(ref, test, strict=True))
    return Agreement(
        n_ref,
        n_test,
        len(pairs) / max(n_ref, 1),
        len(pairs) / max(n_test, 1),
        float(np.mean([p[0] for p in pairs])) if pairs else 0.0,
        float(np.mean([p[1] for p in pairs])) if pairs else 0.0,
        tol / max(n_ref, 1),
    )


def detect_all(path: Path, images: list[npt.NDArray[np.uint8]]) -> list[sv.Detections]:
    det = NanoDetDetector(path, NanoDetConfig(confidence_threshold=0.3))
    out: list[sv.Detections] = []
    for i in range(0, len(images), 8):
        out += det.detect_images(images[i : i + 8])
    return out


def time_variants(
    paths: dict[str, Path], b1: npt.NDArray[np.float32], b8: npt.NDArray[np.float32], rounds: int
) -> dict[str, tuple[float, float]]:
    sessions = {name: create_session(p, threads=1) for name, p in paths.items()}
    inputs = {name: s.get_inputs()[0].name for name, s in sessions.items()}
    per_round: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in paths}

    def run(name: str, x: npt.NDArray[np.float32], n: int) -> float:
        s, feed = sessions[name], {inputs[name]: x}
        s.run(None, feed)  # warm
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            s.run(None, feed)
            times.append(time.perf_counter() - t0)
        return statistics.median(times) * 1000 / len(x)

    for _ in range(rounds):
        for name in paths:
            per_round[name][0].append(run(name, b1, 10))
            per_round[name][1].append(run(name, b8, 3))
    return {name: (min(r1), min(r8)) for name, (r1, r8) in per_round.items()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=None, help=f"float ONNX (default: installed {FLOAT_MODEL})")
    ap.add_argument("--calib-frames", type=int, default=100)
    ap.add_argument("--eval", type=int, default=50, help="vtest frames for the agreement figures")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--variants", action="store_true", help="also build the alternatives we tried")
    ap.add_argument("--entropy", action="store_true", help="with --variants: entropy calibration too (slow)")
    args = ap.parse_args()

    float_path = args.model or require_model(FLOAT_MODEL)
    recipes: dict[str, Recipe] = {"int8 (recipe)": RECIPE}
    if args.variants:
        recipes |= {
            "no quant_pre_process": replace(RECIPE, pre_process=False, rewrite=False),
            "pre_process, no rewrites": replace(RECIPE, rewrite=False),
            "no stem channel pad": replace(RECIPE, stem_channels=0),
            "per-tensor weights": replace(RECIPE, per_channel=False),
            "int8 activations": replace(RECIPE, activation_type="int8"),
            "percentile 99.999": replace(RECIPE, method="percentile"),
            "percentile 99.99": replace(RECIPE, method="percentile", percentile=99.99),
            "int8 head convs": replace(RECIPE, float_head=False),
            "no zoomed crops": replace(RECIPE, crop_every=0),
            "int8 head, no crops": replace(RECIPE, float_head=False, crop_every=0),
        }
        if args.entropy:
            recipes["entropy"] = replace(RECIPE, method="entropy")

    total = _count_frames(VTEST)
    calib = set(calibration_indices(total, args.calib_frames))
    # Evenly spread, moved off any calibration frame.
    eval_idx = []
    for k in range(args.eval):
        i = round((k + 0.5) * total / args.eval)
        while i in calib or i in eval_idx:
            i = (i + 1) % total
        eval_idx.append(i)
    images = decode_frames(VTEST, eval_idx)
    ood_paths = [next((d / n for d in OOD_DIRS if (d / n).is_file()), None) for n in OOD_NAMES]
    ood_images = [img for p in ood_paths if p is not None and (img := cv2.imread(str(p))) is not None]

    print(f"onnxruntime {ort.__version__}, float model {float_path}", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="sightline-bench-quant-") as tmp:
        paths: dict[str, Path] = {"float": Path(float_path)}
        build_s: dict[str, float] = {}
        for i, (name, recipe) in enumerate(recipes.items()):
            t0 = time.perf_counter()
            print(f"building {name} ...", file=sys.stderr, flush=True)
            paths[name] = quantize_detector(
                Path(float_path), Path(tmp) / f"v{i}.onnx", VTEST, args.calib_frames, recipe=recipe
            )
            build_s[name] = time.perf_counter() - t0

        pre = NanoDetDetector(Path(float_path))
        b8 = pre.preprocess(images[:8])
        speed = time_variants(paths, b8[:1], b8, args.rounds)

        ref = detect_all(paths["float"], images)
        ood_ref = detect_all(paths["float"], ood_images) if ood_images else None

        print(
            f"\n{len(images)} vtest frames (not calibration), {agreement(ref, ref).n_float} float boxes "
            f">= {CONF}; speed: 1 thread, best of {args.rounds} interleaved rounds"
        )
        head = (
            f"{'variant':26} {'build s':>7} {'b1 ms':>6} {'b8 ms':>6} {'x b1':>5} {'x b8':>5} "
            f"{'recall':>6} {'prec':>6} {'mIoU':>5} {'|dconf|':>7} {'R@.3':>5} {'boxes':>5}"
        )
        if ood_ref is not None:
            head += f" | {'ood R/P':>9} {'mIoU':>5} {'|dconf|':>7}"
        print(head)
        f1, f8 = speed["float"]
        for name, path in paths.items():
            s1, s8 = speed[name]
            a = agreement(ref, detect_all(path, images)) if name != "float" else agreement(ref, ref)
            line = (
                f"{name:26} {build_s.get(name, 0.0):7.1f} {s1:6.1f} {s8:6.1f} {f1 / s1:5.2f} {f8 / s8:5.2f} "
                f"{a.recall:6.3f} {a.precision:6.3f} {a.miou:5.3f} {a.dconf:7.4f} {a.recall_tol:5.3f} "
                f"{a.n_int8:5d}"
            )
            if ood_ref is not None:
                b = agreement(ood_ref, detect_all(path, ood_images))
                line += f" | {b.recall:4.2f}/{b.precision:4.2f} {b.miou:5.3f} {b.dconf:7.4f}"
            print(line, flush=True)
        if ood_ref is not None:
            names = [p.name for p in ood_paths if p is not None]
            boxes = sum(int((d.confidence >= CONF).sum()) for d in ood_ref)
            print(f"ood = {' + '.join(names)}: {boxes} float boxes >= {CONF}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
