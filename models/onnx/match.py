"""Which registered torch architecture an ONNX file's weights fill, and with what input normalisation.

Why: a file that maps layer by layer onto a PoseArena architecture can run in the torch pipeline (bf16,
channels_last, the same code as every other model). Candidates are the registered torch pose specs with the file's
input and heatmap shapes (joints and width varied); the one whose layers align wins, registered models first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from models.matching import expected_shapes
from models.normalisation import NORMALISATIONS
from models.onnx.align import OnnxMapping, align, torch_layers
from models.onnx.graph import fold_constants, input_affine, onnx_layers
from models.onnx.inspect import NoMappingError, OnnxInfo, first_line, inspect_onnx, load_proto
from models.spec import ModelSpec, Published, all_specs, build, get_spec

__all__ = ["JOINT_SETS", "WIDTHS", "match_architecture", "registered_twin"]

WIDTHS = (0.25, 0.5, 0.75, 1.0)  # width multipliers tried for families whose arch has a "width"
JOINT_SETS = {18: "h36m18", 21: "muco21"}


def _normalisation_affines() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per kind, the (scale, offset) it applies to 0..255 RGB (models.normalisation holds the constants)."""
    out = {}
    for kind, stats in NORMALISATIONS.items():
        if stats is None:
            out[kind] = (np.ones(3), np.zeros(3))
        else:
            mean, std = np.asarray(stats[0], np.float64), np.asarray(stats[1], np.float64)
            out[kind] = (1.0 / std, -mean / std)
    return out


def _torch_normalisation(affine: tuple[np.ndarray, np.ndarray], onnx_norm: str, path: Path) -> str:
    """The normalisation the torch net needs: the file's own input normalisation followed by its input affine."""
    kinds = _normalisation_affines()
    s_in, o_in = kinds[onnx_norm]
    s, o = affine[0] * s_in, affine[0] * o_in + affine[1]
    for kind, (ks, ko) in kinds.items():
        if np.allclose(s, ks, rtol=1e-3, atol=1e-9) and np.allclose(o, ko, rtol=1e-3, atol=1e-6):
            return kind
    raise NoMappingError(f"{path}: the graph scales its input by {np.round(affine[0], 5).tolist()} and shifts it by "
                         f"{np.round(affine[1], 5).tolist()}, which matches no PoseArena normalisation")


def _arch_variants(spec: ModelSpec, joints: int) -> Iterable[dict[str, Any]]:
    arch = dict(spec.arch)
    if "joints" in arch:
        arch["joints"] = joints
    elif joints != spec.num_joints:
        return
    widths = sorted({*WIDTHS, float(arch["width"])}) if "width" in arch else [None]
    for w in widths:
        yield arch if w is None else {**arch, "width": w}


def _candidates(info: OnnxInfo, target: ModelSpec | None) -> list[tuple[ModelSpec, dict[str, Any], int]]:
    """Registered torch pose specs (joints and width varied) whose input and heatmap shapes equal the file's.

    With ``target`` only that spec, exactly as registered.
    """
    out, seen = [], set()
    c = info.output_shape[0] if info.output_kind == "heatmaps" and len(info.output_shape) == 3 else None
    for spec in [target] if target is not None else all_specs():
        if not spec.loads_torch_checkpoint or spec.is_root_model or info.output_kind != "heatmaps":
            continue
        if info.input_hw and tuple(spec.input_hw) != tuple(info.input_hw):
            continue
        if info.output_hw != tuple(spec.output_hw):
            continue
        channels = c if c is not None else (info.joints or 0) * (info.depth_bins or 0)
        if channels % spec.depth_bins or channels // spec.depth_bins not in JOINT_SETS:
            continue
        joints = channels // spec.depth_bins
        if target is not None and joints != target.num_joints:
            continue
        for arch in [dict(target.arch)] if target is not None else _arch_variants(spec, joints):
            key = (spec.family, repr(sorted(arch.items())))
            if key not in seen:
                seen.add(key)
                out.append((spec, arch, joints))
    return out


def registered_twin(spec: ModelSpec) -> ModelSpec | None:
    for s in all_specs():
        if (s.loads_torch_checkpoint and s.family == spec.family and dict(s.arch) == dict(spec.arch)
                and s.joint_set == spec.joint_set and s.normalisation == spec.normalisation
                and tuple(s.input_hw) == tuple(spec.input_hw)):
            return s
    return None


def _derived_spec(base: ModelSpec, arch: dict[str, Any], joints: int, normalisation: str, path: Path,
                  onnx_spec: ModelSpec | None) -> ModelSpec:
    joint_set = JOINT_SETS[joints]
    cand = replace(base, arch=arch, joint_set=joint_set, normalisation=normalisation)
    twin = registered_twin(cand)
    if twin is not None:
        return twin
    stem = onnx_spec.name if onnx_spec is not None else "".join(ch if ch.isalnum() or ch in "-_." else "-"
                                                                  for ch in path.stem)
    variant = ", ".join(f"{k} {v}" for k, v in arch.items())
    return replace(cand, name=f"{stem}-torch", variant=f"{variant} (converted from ONNX)", fixture=None,
                   params=None, gmacs=None, checkpoints=(), official=False,
                   published=Published(source="none: converted from a third-party ONNX file"),
                   notes=f"Converted from {path.name}" + (f"; {onnx_spec.notes}" if onnx_spec is not None else ""))


def match_architecture(path: str | Path, *, onnx_spec: ModelSpec | None = None,
                       onnx_normalisation: str | None = None,
                       target: str | None = None) -> tuple[ModelSpec, OnnxMapping]:
    """The torch spec whose layers the file's weights fill, and the filled state_dict; NoMappingError otherwise.

    ``onnx_normalisation`` (default: ``onnx_spec``'s) is what the file expects at its input; when unknown, a file
    without its own input affine is assumed to take what its architecture's registered spec takes. ``target``
    restricts the search to one registered torch model (architectures with equal shapes, such as posenet-r50 and
    integral-r50, are otherwise told apart only by preference: see ``OnnxMapping.alternatives``).
    """
    path = Path(path).expanduser()
    info = inspect_onnx(path)
    model = load_proto(path)
    consts = fold_constants(model.graph)
    layers = onnx_layers(model, consts, path)
    affine = input_affine(model, consts, layers[0] if layers else None, path)
    has_affine = not (np.allclose(affine[0], 1.0) and np.allclose(affine[1], 0.0))
    declared = onnx_normalisation or (onnx_spec.normalisation if onnx_spec is not None else None)
    conv_shapes = sorted(tuple(lay.tensors["weight"].shape) for lay in layers if lay.kind == "conv")
    fits: list[tuple[ModelSpec, OnnxMapping]] = []
    reasons: list[str] = []
    want = get_spec(target) if target else None
    for base, arch, joints in _candidates(info, want):
        label = f"{base.family} {arch}"
        try:
            shapes = expected_shapes(base, arch)
        except Exception as e:  # an arch the family rejects (e.g. LPRES at width 0.5)
            reasons.append(f"{label}: {first_line(e)}")
            continue
        torch_convs = sorted(s for k, s in shapes.items() if k.endswith("weight") and len(s) >= 3)
        if torch_convs != conv_shapes:
            reasons.append(f"{label}: {len(torch_convs)} convolution weights vs {len(conv_shapes)} in the graph, "
                           f"or their shapes differ")
            continue
        net = build(replace(base, arch=arch))
        sd = net.state_dict()
        try:
            tl = torch_layers(net, tuple(base.input_hw))
            filled, pairs, folded = align(tl, layers, sd)
        except ValueError as e:
            reasons.append(f"{label}: {e}")
            continue
        onnx_norm = declared or ("raw_0_255" if has_affine else base.normalisation)
        norm = _torch_normalisation(affine, onnx_norm, path)
        spec = _derived_spec(base, arch, joints, norm, path, onnx_spec)
        mapping = OnnxMapping(
            kind="bn-folded" if folded else "one-to-one", state_dict=filled, pairs=pairs, folded_bn=folded,
            input_affine=(tuple(affine[0].tolist()), tuple(affine[1].tolist())) if has_affine else None,
            onnx_normalisation=onnx_norm, normalisation=norm, assumed=declared is None)
        fits.append((spec, mapping))
    if not fits:
        why = "; ".join(reasons[:4]) or (f"no registered architecture takes {info.input_hw} crops and gives "
                                        f"{info.output_shape} heatmaps")
        raise NoMappingError(f"{path}: its weights map onto no registered PoseArena architecture ({why})")

    def rank(item: tuple[ModelSpec, OnnxMapping]) -> tuple[bool, bool, bool]:
        spec, m = item
        registered = registered_twin(spec) is not None
        return (not registered, spec.normalisation != m.onnx_normalisation, not spec.official)

    fits.sort(key=rank)
    best, mapping = fits[0]
    mapping.alternatives = [f"{s.name} ({s.family})" for s, _ in fits[1:]]
    return best, mapping
