"""The TF.js → ONNX converter on a small hand-written graph, checked against
numpy/OpenCV reference maths (no TensorFlow needed).

The graph exercises every op the converter supports, in TF's NHWC layout with
float16-quantised weights as the real human-models files have them."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
import pytest

from sightline.inference.tfjs_to_onnx import UnsupportedOpError, convert_tfjs_to_onnx

RNG = np.random.default_rng(7)


def conv_nhwc(
    x: np.ndarray, w: np.ndarray, stride: int, pad: tuple[int, int, int, int], groups: int
) -> np.ndarray:
    """Reference grouped conv; x NHWC, w [kh, kw, cin/g, cout], pad (top, bottom, left, right)."""
    x = np.pad(x, ((0, 0), (pad[0], pad[1]), (pad[2], pad[3]), (0, 0)))
    n, h, wd, cin = x.shape
    kh, kw, cg, cout = w.shape
    oh, ow = (h - kh) // stride + 1, (wd - kw) // stride + 1
    out = np.zeros((n, oh, ow, cout), dtype=np.float64)
    og = cout // groups
    for g in range(groups):
        xs = x[..., g * cg : (g + 1) * cg]
        ws = w[..., g * og : (g + 1) * og]
        for i in range(oh):
            for j in range(ow):
                patch = xs[:, i * stride : i * stride + kh, j * stride : j * stride + kw, :]
                out[:, i, j, g * og : (g + 1) * og] = np.einsum("nhwc,hwco->no", patch, ws)
    return out.astype(np.float32)


class GraphWriter:
    def __init__(self) -> None:
        self.nodes: list[dict] = []
        self.weights: list[dict] = []
        self.blobs: list[bytes] = []

    def const(self, name: str, value: np.ndarray, tf_dtype: str = "DT_FLOAT") -> str:
        value = np.asarray(value)
        if value.dtype.kind == "f":
            self.weights.append(
                {
                    "name": name,
                    "shape": list(value.shape),
                    "dtype": "float32",
                    "quantization": {"dtype": "float16", "original_dtype": "float32"},
                }
            )
            self.blobs.append(value.astype(np.float16).tobytes())
        else:
            self.weights.append({"name": name, "shape": list(value.shape), "dtype": "int32"})
            self.blobs.append(value.astype(np.int32).tobytes())
        self.nodes.append({"name": name, "op": "Const", "attr": {"dtype": {"type": tf_dtype}}})
        return name

    def op(self, name: str, op: str, inputs: list[str], **attr: dict) -> str:
        self.nodes.append({"name": name, "op": op, "input": inputs, "attr": attr})
        return name

    def save(self, folder: Path, input_shape: list[int], outputs: list[str]) -> Path:
        self.nodes.insert(
            0,
            {
                "name": "x",
                "op": "Placeholder",
                "attr": {
                    "dtype": {"type": "DT_FLOAT"},
                    "shape": {"shape": {"dim": [{"size": str(d)} for d in input_shape]}},
                },
            },
        )
        (folder / "m.bin").write_bytes(b"".join(self.blobs))
        spec = {
            "format": "graph-model",
            "modelTopology": {"node": self.nodes},
            "signature": {"outputs": {f"{o}:0": {"name": f"{o}:0"} for o in outputs}},
            "weightsManifest": [{"paths": ["m.bin"], "weights": self.weights}],
        }
        path = folder / "m.json"
        path.write_text(json.dumps(spec))
        return path


def s(text: str) -> dict:
    import base64

    return {"s": base64.b64encode(text.encode()).decode()}


def ints(values: list[int]) -> dict:
    return {"list": {"i": [str(v) for v in values]}}


def f16(a: np.ndarray) -> np.ndarray:
    return a.astype(np.float16).astype(np.float32)


def test_converted_graph_matches_reference(tmp_path: Path) -> None:
    g = GraphWriter()
    w1 = f16(RNG.normal(size=(3, 3, 3, 8)).astype(np.float32))
    wdw = f16(RNG.normal(size=(3, 3, 1, 8)).astype(np.float32))  # depthwise: groups = 8
    b1 = f16(RNG.normal(size=(8,)).astype(np.float32))
    g.const("w1", w1)
    g.const("wdw", wdw)
    g.const("b1", b1)
    g.const("perm_in", np.array([0, 2, 3, 1]))
    g.const("pads", np.array([[0, 0], [0, 0], [1, 1], [1, 1]]))  # NCHW pad before the transpose
    g.const("split_sizes", np.array([3, -1]))
    g.const("axis3", np.array(3))
    g.const("size", np.array([16, 16]))
    g.const("shape", np.array([1, -1, 8]))
    # SparseToDense/Add: shape arithmetic that the converter folds to a constant.
    g.const("sp_idx", np.zeros((0, 1)), "DT_INT64")
    g.const("sp_shape", np.array([3]), "DT_INT64")
    g.const("sp_vals", np.zeros((0,)), "DT_INT64")
    g.const("sp_default", np.array(0), "DT_INT64")
    g.const("shape_base", np.array([1, 64, 8]), "DT_INT64")
    g.op("sp", "SparseToDense", ["sp_idx", "sp_shape", "sp_vals", "sp_default"])
    g.op("shape2", "Add", ["sp", "shape_base"])
    g.op("pad", "Pad", ["x", "pads"])
    g.op("nhwc", "Transpose", ["pad", "perm_in"])
    g.op(
        "conv",
        "Conv2D",
        ["nhwc", "w1"],
        strides=ints([1, 2, 2, 1]),
        padding=s("VALID"),
        data_format=s("NHWC"),
    )
    g.op("bias", "AddV2", ["conv", "b1"])
    g.op("act", "LeakyRelu", ["bias"], alpha={"f": 0.1})
    g.op("dw", "Conv2D", ["act", "wdw"], strides=ints([1, 1, 1, 1]), padding=s("SAME"), data_format=s("NHWC"))
    g.op(
        "pool",
        "MaxPool",
        ["dw"],
        ksize=ints([1, 2, 2, 1]),
        strides=ints([1, 2, 2, 1]),
        padding=s("VALID"),
        data_format=s("NHWC"),
    )
    g.op("up", "ResizeBilinear", ["pool", "size"], half_pixel_centers={"b": True}, align_corners={"b": False})
    g.op("parts", "SplitV", ["up", "split_sizes", "axis3"], num_split={"i": "2"})
    g.op("cat", "ConcatV2", ["parts:1", "parts", "axis3"])
    g.op("sig", "Sigmoid", ["cat"])
    g.op("flat", "Reshape", ["sig", "shape"])
    g.op("flat2", "Reshape", ["pool", "shape2"])
    g.op("out", "Identity", ["flat"])
    g.op("out2", "Identity", ["flat2"])
    model_json = g.save(tmp_path, [1, 3, 32, 32], ["out", "out2"])

    onnx_path = tmp_path / "m.onnx"
    convert_tfjs_to_onnx(model_json, onnx_path)
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])

    x = RNG.normal(size=(2, 3, 32, 32)).astype(np.float32)  # batch of 2 although the graph says 1
    got, got2 = sess.run(["out", "out2"], {"x": x})

    ref = np.transpose(np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1))), (0, 2, 3, 1))
    ref = conv_nhwc(ref, w1, 2, (0, 0, 0, 0), 1) + b1
    ref = np.where(ref > 0, ref, 0.1 * ref)
    ref = conv_nhwc(ref, wdw, 1, (1, 1, 1, 1), 8)  # SAME, 3x3, stride 1
    n, h, w, c = ref.shape
    pooled = ref.reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))
    up = np.stack([cv2.resize(p, (16, 16), interpolation=cv2.INTER_LINEAR) for p in pooled])
    cat = np.concatenate([up[..., 3:], up[..., :3]], axis=3)
    ref_out = (1 / (1 + np.exp(-cat))).reshape(n, -1, 8)

    assert got.shape == (2, 256, 8)
    np.testing.assert_allclose(got, ref_out, atol=2e-4)
    np.testing.assert_allclose(got2, pooled.reshape(n, -1, 8), atol=2e-4)


def test_unsupported_op_is_named(tmp_path: Path) -> None:
    g = GraphWriter()
    g.op("y", "Erf", ["x"])
    model_json = g.save(tmp_path, [1, 4], ["y"])
    with pytest.raises(UnsupportedOpError, match="'Erf'"):
        convert_tfjs_to_onnx(model_json, tmp_path / "m.onnx")
