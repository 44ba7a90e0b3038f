"""INT8 variant of the NanoDet detector, made with ONNX Runtime's own
quantisation tooling and calibrated on real frames.

Recipe (``RECIPE``), chosen with ``bench/quantized.py --variants`` on this
project's 2-core Xeon (Cascade Lake, AVX512-VNNI), one ONNX Runtime thread:

1. ``quant_pre_process`` (ONNX shape inference + ORT basic optimisation; the
   symbolic pass is skipped: it needs sympy and is meant for transformers).
   It folds the converter's ~150 NHWC/NCHW Transposes, the bias Adds into
   the Convs and the explicit Pads. Without it the quantiser wraps every
   Transpose in Q/DQ: 33.7 ms/frame instead of 20.5, and precision vs float
   0.90 instead of 0.97.
2. Three exact rewrites of the float graph (outputs unchanged to ~2e-6;
   checked at every build on two calibration frames):
   - the stem's ``Pad(value=-inf) -> MaxPool`` (TensorFlow SAME pooling)
     becomes a MaxPool with ``pads``. Calibrated as is, the -inf gives an
     infinite scale and the int8 model detects nothing; excluding the Pad
     instead leaves a float Pad + Q/DQ on the largest activation.
   - the four Resizes get constant ``scales`` instead of sizes computed at
     run time from ``Shape`` (which made ORT dequantise each input twice).
   - the stem Conv's 3 input channels are padded to 4 with zero weights:
     ORT's int8 conv is ~3x slower on 3 channels (5 ms -> 1.7 ms here).
   Together: 24.1 -> 20.5 ms/frame.
3. ``quantize_static``: QDQ, per-channel symmetric int8 weights, uint8
   activations (the u8 x s8 VNNI path; int8 activations ran 2.5x slower,
   slower than float), MinMax calibration. Calibration set: ``frames``
   frames spread evenly over the video plus a 2x/3x/4x zoomed crop of every
   second one (150 inputs for 100 frames), all through
   ``NanoDetDetector.preprocess`` itself.
4. The three head convolutions and what follows them (Split, Sigmoid,
   Reshape, Transpose) stay float (``float_head``); ~1.3 ms/frame.

Why 3 and 4: vtest only has small, far people. Calibrated on its frames
alone, the int8 head clips the class logits at the largest score vtest ever
produced at each stride, so on close-up pictures (ultralytics' bus.jpg and
zidane.jpg, 7 float boxes >= 0.4) 6 of the 7 boxes vanished. A float head
brings them back but their scores still fell by 0.05 on average (bus 0.78
-> 0.68) because the neck's ranges were clipped too; the zoomed crops show
the network people 2-4x larger and cut that to 0.013.

Why MinMax: the detections live in the extreme upper tail of the class
logits. Percentile calibration clips exactly that tail: recall vs float
0.95 (99.999) and 0.91 (99.99). Entropy through ``quantize_static`` (128
histogram bins, 128 quantised bins in ORT 1.31) has only the full range as
candidate threshold, so it gives MinMax's ranges at 3-5x the build time.
Per-tensor weights were not faster and doubled the confidence error on the
close-up pictures. ``CalibMaxIntermediateOutputs`` is not used: in ORT 1.31
it throws away each full chunk of outputs instead of merging it.

Measured in one run of ``bench/quantized.py --variants`` (machine shared
with other jobs; best of 7 interleaved rounds): float 45.0 ms/frame at
batch 1, 46.3 at batch 8; int8 20.5 / 20.5 (2.20x / 2.26x). On 50 vtest
frames that are not calibration frames (432 float boxes >= 0.4): recall vs
float 0.986, precision 0.968, mean IoU of matches 0.973, mean |dconf| 0.013;
every float box is found when int8 boxes down to 0.3 may match. On bus.jpg +
zidane.jpg: 7/7 boxes both ways, mean IoU 0.982, |dconf| 0.013. A build
costs ~35 s of CPU (nearly all calibration: 150 runs of the float model
with a ReduceMin/ReduceMax on every tensor); 75 s wall with this 2-core
machine 3x oversubscribed by other jobs, ~20-30 s when it is idle.

The result is deterministic for a given float model, video, frame count and
ONNX Runtime version: MinMax over a fixed list of frames and crops, no
random state (checked by the integration test).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quant_pre_process,
    quantize_static,
)

from sightline.inference.nanodet import NanoDetDetector


class QuantizationError(RuntimeError):
    pass


@dataclass(frozen=True)
class Recipe:
    """Knobs of the int8 build; ``RECIPE`` is the one we ship, the others are
    there so ``bench/quantized.py`` can show why."""

    pre_process: bool = True  # quant_pre_process before quantising
    rewrite: bool = True  # the exact graph rewrites (needs pre_process)
    stem_channels: int = 4  # pad the stem conv's input channels to this (0: leave)
    method: str = "minmax"  # minmax | entropy | percentile
    percentile: float = 99.999
    per_channel: bool = True
    activation_type: str = "uint8"  # uint8 | int8
    float_head: bool = True  # keep the head convs + Split/Sigmoid/Reshape/Transpose in float
    zooms: tuple[float, ...] = (2.0, 3.0, 4.0)  # zoomed crops added to the calibration set, cycled
    crop_every: int = 2  # one crop per this many calibration frames (0: no crops)
    exclude: tuple[str, ...] = field(default_factory=tuple)  # extra node names to keep in float
    # 7-bit weights. None: when this CPU has no VNNI. Without VNNI, ONNX Runtime's
    # uint8 x int8 kernels add pairs of products in int16 (AVX2 vpmaddubsw), which
    # saturates with full 8-bit weights: measured on an AVX2-only EPYC, recall vs
    # float 0.87 on the check frames with 8-bit weights (0.97+ on VNNI machines).
    reduce_range: bool | None = None


RECIPE = Recipe()


def cpu_has_vnni() -> bool:
    """Whether this CPU has the int8 dot-product instructions (AVX-VNNI / AVX512-VNNI / AMX)."""
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace")
    except OSError:
        return False
    return any(flag in flags for flag in ("avx512_vnni", "avx_vnni", "amx_int8"))


def _reduce_range(recipe: Recipe) -> bool:
    return (not cpu_has_vnni()) if recipe.reduce_range is None else recipe.reduce_range


_METHODS = {
    "minmax": CalibrationMethod.MinMax,
    "entropy": CalibrationMethod.Entropy,
    "percentile": CalibrationMethod.Percentile,
}
_METADATA_KEY = "sightline.quantization"


# --------------------------------------------------------------------------- frames


def calibration_indices(total: int, frames: int) -> list[int]:
    """``frames`` indices spread evenly over ``total`` frames, first and last included."""
    if total <= 0:
        raise QuantizationError("calibration video has no frames")
    n = min(frames, total)
    if n == 1:
        return [0]
    return sorted({round(k * (total - 1) / (n - 1)) for k in range(n)})


def _count_frames(video: Path) -> int:
    with av.open(str(video)) as c:
        n = c.streams.video[0].frames
        if n > 0:
            return int(n)
        return sum(1 for _ in c.decode(video=0))


def decode_frames(video: Path, indices: Sequence[int]) -> list[npt.NDArray[np.uint8]]:
    """BGR frames at the given decode-order indices (one sequential pass)."""
    want = sorted(set(indices))
    out: list[npt.NDArray[np.uint8]] = []
    with av.open(str(video)) as c:
        for i, frame in enumerate(c.decode(video=0)):
            if i == want[len(out)]:
                out.append(np.asarray(frame.to_ndarray(format="bgr24"), dtype=np.uint8))
                if len(out) == len(want):
                    break
    if len(out) != len(want):
        raise QuantizationError(f"{video} ended after {len(out)} of the {len(want)} calibration frames")
    return out


# Crop centres, as fractions of the frame, cycled over the crops.
_CROP_GRID = [(x, y) for y in (0.35, 0.6, 0.85) for x in (0.2, 0.5, 0.8)]


def zoomed_crops(
    images: Sequence[npt.NDArray[np.uint8]], every: int, zooms: Sequence[float]
) -> list[npt.NDArray[np.uint8]]:
    """One crop of 1/zoom of the frame per ``every`` images, zoom and centre
    cycled: the same people, 2-4x larger once the detector resizes the crop."""
    if not every or not zooms:
        return []
    out = []
    for k, img in enumerate(images[::every]):
        zoom = zooms[k % len(zooms)]
        gx, gy = _CROP_GRID[k % len(_CROP_GRID)]
        h, w = img.shape[:2]
        cw, ch = int(w / zoom), int(h / zoom)
        x0 = int(min(max(gx * w - cw / 2, 0), w - cw))
        y0 = int(min(max(gy * h - ch / 2, 0), h - ch))
        out.append(np.ascontiguousarray(img[y0 : y0 + ch, x0 : x0 + cw]))
    return out


def calibration_batch(
    float_onnx: Path, video: Path, frames: int, recipe: Recipe | None = None
) -> npt.NDArray[np.float32]:
    """N x 3 x 416 x 416 network inputs: ``frames`` whole frames plus the
    recipe's zoomed crops, each made by the detector's own preprocess."""
    recipe = recipe or RECIPE
    images = decode_frames(video, calibration_indices(_count_frames(video), frames))
    images += zoomed_crops(images, recipe.crop_every, recipe.zooms)
    detector = NanoDetDetector(float_onnx)
    return np.concatenate([detector.preprocess(images[i : i + 16]) for i in range(0, len(images), 16)])


class _Frames(CalibrationDataReader):  # type: ignore[misc]
    def __init__(self, input_name: str, batch: npt.NDArray[np.float32]) -> None:
        self._items = [{input_name: batch[i : i + 1]} for i in range(len(batch))]
        self._pos = 0

    def get_next(self) -> dict[str, npt.NDArray[np.float32]] | None:
        if self._pos >= len(self._items):
            return None
        self._pos += 1
        return self._items[self._pos - 1]

    def __len__(self) -> int:
        return len(self._items)

    def set_range(self, start_index: int, end_index: int) -> None:
        self._items = self._items[start_index:end_index]
        self._pos = 0


# --------------------------------------------------------------------------- exact rewrites


def _prune(graph: onnx.GraphProto) -> None:
    """Drop nodes whose outputs nobody uses, then unused initializers."""
    while True:
        used = {i for n in graph.node for i in n.input} | {o.name for o in graph.output}
        dead = [n for n in graph.node if not any(o in used for o in n.output)]
        if not dead:
            break
        for n in dead:
            graph.node.remove(n)
    used = {i for n in graph.node for i in n.input}
    for init in [i for i in graph.initializer if i.name not in used]:
        graph.initializer.remove(init)


def _attrs(node: onnx.NodeProto) -> dict[str, object]:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def fold_neg_inf_pad_into_maxpool(model: onnx.ModelProto) -> list[str]:
    """``Pad(constant -inf, spatial only) -> MaxPool`` becomes ``MaxPool(pads=...)``.

    MaxPool's own padding never wins the max, exactly like -inf. Returns the
    names of the Pads removed."""
    g = model.graph
    inits = {i.name: i for i in g.initializer}
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for n in g.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    removed = []
    for pad in list(g.node):
        if (
            pad.op_type != "Pad"
            or len(pad.input) < 3
            or pad.input[1] not in inits
            or pad.input[2] not in inits
        ):
            continue
        users = consumers.get(pad.output[0], [])
        if (
            _attrs(pad).get("mode", b"constant") != b"constant"
            or len(users) != 1
            or users[0].op_type != "MaxPool"
        ):
            continue
        if len(pad.input) > 3 and pad.input[3]:  # axes
            continue
        value = numpy_helper.to_array(inits[pad.input[2]])
        pads = [int(p) for p in numpy_helper.to_array(inits[pad.input[1]]).tolist()]
        rank = len(pads) // 2
        if not np.isneginf(value).all() or pads[0] or pads[1] or pads[rank] or pads[rank + 1]:
            continue
        pool = users[0]
        attrs = _attrs(pool)
        if attrs.get("auto_pad", b"NOTSET") != b"NOTSET" or any(attrs.get("pads", [])):  # type: ignore[arg-type]
            continue
        new_pads = pads[2:rank] + pads[rank + 2 :]
        kernel = list(attrs["kernel_shape"]) * 2  # type: ignore[call-overload]
        if any(p >= k for p, k in zip(new_pads, kernel, strict=True)):
            continue  # ONNX wants pads < kernel
        del pool.attribute[:]
        for k, v in attrs.items():
            if k != "pads":
                pool.attribute.append(helper.make_attribute(k, v))
        pool.attribute.append(helper.make_attribute("pads", new_pads))
        pool.input[0] = pad.input[0]
        g.node.remove(pad)
        removed.append(pad.name)
    _prune(g)
    return removed


def static_resize_scales(model: onnx.ModelProto) -> list[str]:
    """Resize whose sizes are ``Concat(Shape(x)[0:1], const CHW)`` gets the
    equivalent constant ``scales`` (exact when every output size is
    floor(input size x scale), which is checked)."""
    g = model.graph
    inferred = onnx.shape_inference.infer_shapes(model)
    shapes: dict[str, list[int | None]] = {}
    for vi in [*inferred.graph.value_info, *inferred.graph.input, *inferred.graph.output]:
        dims = vi.type.tensor_type.shape.dim
        shapes[vi.name] = [d.dim_value if d.HasField("dim_value") else None for d in dims]
    producer = {o: n for n in g.node for o in n.output}
    inits = {i.name: i for i in g.initializer}
    done = []
    for n in g.node:
        if n.op_type != "Resize" or len(n.input) < 4 or not n.input[3]:
            continue
        concat = producer.get(n.input[3])
        shape = shapes.get(n.input[0])
        if (
            concat is None
            or concat.op_type != "Concat"
            or len(concat.input) != 2
            or concat.input[1] not in inits
        ):
            continue
        batch = producer.get(concat.input[0])
        if batch is None or batch.op_type != "Slice" or shape is None or any(s is None for s in shape[1:]):
            continue
        chw = [int(v) for v in numpy_helper.to_array(inits[concat.input[1]]).tolist()]
        spatial = [int(d or 0) for d in shape[2:]]
        if len(chw) != len(shape) - 1 or chw[0] != shape[1] or not all(spatial):
            continue
        scales = np.array(
            [1.0, 1.0] + [o / i for o, i in zip(chw[1:], spatial, strict=True)], dtype=np.float32
        )
        if any(int(np.floor(i * s)) != o for i, s, o in zip(spatial, scales[2:], chw[1:], strict=True)):
            continue
        name = f"{n.name}/static_scales"
        g.initializer.append(numpy_helper.from_array(scales, name))
        n.input[2] = name
        del n.input[3]
        done.append(n.name)
    _prune(g)
    return done


def pad_stem_channels(model: onnx.ModelProto, channels: int) -> bool:
    """The Conv reading the graph input gets ``channels`` input channels: a
    zero-padded input and zero weights for the new channels (exact)."""
    g = model.graph
    inp = g.input[0].name
    inits = {i.name: i for i in g.initializer}
    convs = [n for n in g.node if n.op_type == "Conv" and n.input[0] == inp and n.input[1] in inits]
    users = [n for n in g.node if inp in n.input]
    if len(convs) != 1 or len(users) != 1 or _attrs(convs[0]).get("group", 1) != 1:
        return False
    conv = convs[0]
    w = numpy_helper.to_array(inits[conv.input[1]])
    if w.shape[1] >= channels:
        return False
    padded = np.zeros((w.shape[0], channels, *w.shape[2:]), dtype=w.dtype)
    padded[:, : w.shape[1]] = w
    inits[conv.input[1]].CopyFrom(numpy_helper.from_array(padded, conv.input[1]))
    pads = np.zeros(2 * len(w.shape), dtype=np.int64)
    pads[len(w.shape) + 1] = channels - w.shape[1]
    g.initializer.append(numpy_helper.from_array(pads, "stem_channel_pads"))
    g.node.insert(
        0,
        helper.make_node("Pad", [inp, "stem_channel_pads"], ["stem_channel_padded"], name="stem_channel_pad"),
    )
    conv.input[0] = "stem_channel_padded"
    return True


# --------------------------------------------------------------------------- exclusions


def _non_finite_pads(model: onnx.ModelProto) -> list[str]:
    """Pads with an infinite constant (no finite int8 scale can hold them)."""
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    return [
        n.name
        for n in model.graph.node
        if n.op_type == "Pad"
        and len(n.input) > 2
        and n.input[2] in inits
        and not np.isfinite(inits[n.input[2]]).all()
    ]


def _head_nodes(model: onnx.ModelProto) -> list[str]:
    """From each graph output back through the layout/activation ops to and
    including the first Conv: the heads' last convs and what follows them."""
    producer = {o: n for n in model.graph.node for o in n.output}
    passthrough = {"Identity", "Transpose", "Reshape", "Sigmoid", "Split", "Concat", "Flatten", "Squeeze"}
    seen: dict[str, onnx.NodeProto] = {}
    stack = [o.name for o in model.graph.output]
    while stack:
        n = producer.get(stack.pop())
        if n is None or n.name in seen:
            continue
        seen[n.name] = n
        if n.op_type == "Concat":
            stack.extend(n.input)
        elif n.op_type in passthrough:
            stack.append(n.input[0])
    return [name for name, n in seen.items() if n.op_type in passthrough | {"Conv"}]


# --------------------------------------------------------------------------- build


def prepare_float_model(float_onnx: Path, output: Path, recipe: Recipe = RECIPE) -> dict[str, object]:
    """The float model the quantiser sees; returns what was changed."""
    changes: dict[str, object] = {}
    if recipe.pre_process:
        quant_pre_process(str(float_onnx), str(output), skip_symbolic_shape=True)
        model = onnx.load(str(output))
    else:
        model = onnx.load(str(float_onnx))
    if recipe.pre_process and recipe.rewrite:
        changes["pad_into_maxpool"] = fold_neg_inf_pad_into_maxpool(model)
        changes["static_resize"] = static_resize_scales(model)
        if recipe.stem_channels:
            changes["stem_channels"] = pad_stem_channels(model, recipe.stem_channels)
    onnx.save(model, str(output))
    return changes


def _check_same_outputs(a: Path, b: Path, batch: npt.NDArray[np.float32], tol: float = 1e-3) -> None:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    outs = []
    for path in (a, b):
        s = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        names = sorted(o.name for o in s.get_outputs())
        outs.append(s.run(names, {s.get_inputs()[0].name: batch}))
    worst = max(float(np.abs(x - y).max()) for x, y in zip(*outs, strict=True))
    if worst > tol:
        raise QuantizationError(f"graph rewrite changed the float outputs by {worst:g}")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def quantize_detector(
    float_onnx: Path,
    output: Path,
    calibration_video: Path,
    frames: int = 100,
    progress: Callable[[str], None] = lambda _msg: None,
    recipe: Recipe = RECIPE,
) -> Path:
    """Write the int8 (QDQ) NanoDet to ``output`` and return it.

    Same inputs and outputs as the float model, so ``NanoDetDetector`` runs
    it unchanged. Deterministic; ~35 s of CPU for 100 frames."""
    float_onnx, output, calibration_video = Path(float_onnx), Path(output), Path(calibration_video)
    if not calibration_video.is_file():
        raise QuantizationError(f"calibration video {calibration_video} missing (apt-get install opencv-doc)")
    if quantization_info(float_onnx) is not None:
        raise QuantizationError(f"{float_onnx} is already a quantised model")
    progress(f"int8: decoding {frames} calibration frames from {calibration_video.name}")
    batch = calibration_batch(float_onnx, calibration_video, frames, recipe)
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="sightline-quant-") as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        progress("int8: pre-processing the float graph")
        changes = prepare_float_model(float_onnx, prepared, recipe)
        _check_same_outputs(float_onnx, prepared, batch[:2])
        model = onnx.load(str(prepared))
        exclude = [*_non_finite_pads(model), *recipe.exclude]
        if recipe.float_head:
            exclude += _head_nodes(model)
        # No CalibMaxIntermediateOutputs: in ORT 1.31 it drops every full
        # chunk of outputs instead of merging it (MinMax only keeps per-tensor
        # ReduceMin/ReduceMax scalars per frame anyway, so memory is small).
        extra: dict[str, object] = {}
        if recipe.method == "percentile":
            extra["CalibPercentile"] = recipe.percentile
        progress(f"int8: calibrating ({recipe.method}) on {len(batch)} inputs (frames + crops), quantising")
        staged = Path(tmp) / "int8.onnx"
        reduce_range = _reduce_range(recipe)
        quantize_static(
            str(prepared),
            str(staged),
            _Frames(model.graph.input[0].name, batch),
            quant_format=QuantFormat.QDQ,
            per_channel=recipe.per_channel,
            activation_type=QuantType.QUInt8 if recipe.activation_type == "uint8" else QuantType.QInt8,
            weight_type=QuantType.QInt8,
            reduce_range=reduce_range,
            calibrate_method=_METHODS[recipe.method],
            nodes_to_exclude=sorted(set(exclude)),
            extra_options=extra,
        )
        q = onnx.load(str(staged))
        meta = {
            "recipe": asdict(recipe),
            "reduce_range": reduce_range,
            "source_sha256": _sha256(float_onnx),
            "calibration_video": calibration_video.name,
            "calibration_frames": frames,
            "calibration_inputs": len(batch),
            "onnxruntime": ort.__version__,
            "changes": changes,
            "excluded": sorted(set(exclude)),
        }
        helper.set_model_props(
            q, {**{p.key: p.value for p in q.metadata_props}, _METADATA_KEY: json.dumps(meta)}
        )
        part = output.with_name(output.name + ".part")
        onnx.save(q, str(part))
        os.replace(part, output)
    progress(f"int8: wrote {output}")
    return output


def quantization_info(model_path: Path) -> dict[str, object] | None:
    """The recipe metadata written by ``quantize_detector`` (None for other models)."""
    model = onnx.load(str(model_path), load_external_data=False)
    for p in model.metadata_props:
        if p.key == _METADATA_KEY:
            return dict(json.loads(p.value))
    return None
