"""Convert an ONNX pose model into a strict PyTorch checkpoint, written only after a parity check.

Why: a conversion is only trusted when both versions agree on the same crops to within a tolerance in mm
(``verify_conversion``); otherwise nothing is written (``ConversionRefusedError``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from models.checkpoint import sha256_file
from models.fileio import atomic_path
from models.matching import load_strict
from models.normalisation import normalise
from models.onnx.backend import OnnxPoseNet
from models.onnx.inspect import ConversionRefusedError
from models.onnx.match import match_architecture, registered_twin
from models.soft_argmax import soft_argmax_3d
from models.spec import ModelSpec, build

__all__ = ["BOX_MM", "TOLERANCE_MM", "convert_to_checkpoint", "verify_conversion"]

TOLERANCE_MM = 1.0
BOX_MM = 1000.0  # person box used to express heatmap-cell differences in mm


def _crops(n: int, hw: tuple[int, int], seed: int) -> np.ndarray:
    """RGB 0..255 test crops: noise plus smooth gradients (a flat crop would hide spatial mistakes)."""
    rng = np.random.default_rng(seed)
    h, w = hw
    out = rng.uniform(0.0, 255.0, size=(n, h, w, 3)).astype(np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    for k in range(1, n, 2):
        out[k] = np.stack([xx / max(w - 1, 1), yy / max(h - 1, 1), (xx + yy) / max(h + w - 2, 1)], -1) * 255.0
    return out


def verify_conversion(onnx_net: nn.Module, torch_net: nn.Module, spec: ModelSpec, onnx_normalisation: str, *,
                      crops: int = 2, seed: int = 0, box_mm: float = BOX_MM) -> dict[str, float]:
    """Run both nets on the same crops -> max joint difference (mm) and max heatmap difference (relative)."""
    patches = _crops(crops, tuple(spec.input_hw), seed)
    with torch.no_grad():
        h_onnx = onnx_net(normalise(patches, onnx_normalisation)).float()
        h_torch = torch_net(normalise(patches, spec.normalisation)).float()
    if h_onnx.shape != h_torch.shape:
        return {"max_joint_diff_mm": float("inf"), "max_heatmap_diff": float("inf")}
    j, d = spec.num_joints, spec.depth_bins
    c_onnx, c_torch = soft_argmax_3d(h_onnx, j, d), soft_argmax_3d(h_torch, j, d)
    h, w = spec.output_hw
    mm = torch.tensor([box_mm / w, box_mm / h, spec.depth_range_mm / d])
    joint = ((c_onnx - c_torch) * mm).norm(dim=-1).max().item()
    scale = max(1.0, h_onnx.abs().max().item())
    return {"max_joint_diff_mm": float(joint), "max_heatmap_diff": float((h_onnx - h_torch).abs().max() / scale)}


def convert_to_checkpoint(path: str | Path, out_path: str | Path, *, onnx_spec: ModelSpec | None = None,
                          onnx_normalisation: str | None = None, target: str | None = None,
                          tolerance_mm: float = TOLERANCE_MM, crops: int = 2, seed: int = 0) -> dict[str, Any]:
    """Write a strict PyTorch checkpoint of the file's architecture, after checking it against onnxruntime.

    Raises NoMappingError when no architecture fits and ConversionRefusedError when the two disagree by more than
    ``tolerance_mm`` on any joint (or by more than 1 % of the logit range on any heatmap value).
    """
    path, out_path = Path(path).expanduser(), Path(out_path).expanduser()
    spec, mapping = match_architecture(path, onnx_spec=onnx_spec, onnx_normalisation=onnx_normalisation,
                                       target=target)
    net = build(spec)
    load_strict(net, mapping.state_dict, path, spec.name)
    onnx_net = OnnxPoseNet(path, joints=spec.num_joints, depth_bins=spec.depth_bins, output_hw=spec.output_hw)
    diff = verify_conversion(onnx_net, net, spec, mapping.onnx_normalisation, crops=crops, seed=seed)
    if not (diff["max_joint_diff_mm"] <= tolerance_mm and diff["max_heatmap_diff"] <= 1e-2):
        raise ConversionRefusedError(
            f"{path}: the converted {spec.name} disagrees with onnxruntime by {diff['max_joint_diff_mm']:.3g} mm "
            f"(tolerance {tolerance_mm} mm; heatmap difference {diff['max_heatmap_diff']:.3g} of the logit range); "
            f"no checkpoint written")
    src_sha = sha256_file(path)
    meta = {"source_onnx": path.name, "source_sha256": src_sha, "family": spec.family, "arch": dict(spec.arch),
            "joint_set": spec.joint_set, "normalisation": spec.normalisation, "mapping": mapping.kind,
            "max_joint_diff_mm": diff["max_joint_diff_mm"]}
    with atomic_path(out_path) as tmp:
        torch.save({"network": mapping.state_dict, "posearena": meta}, tmp)
    return {
        "model": spec.name, "registered": registered_twin(spec) is not None, "spec": spec,
        "family": spec.family, "arch": dict(spec.arch), "joint_set": spec.joint_set,
        "normalisation": spec.normalisation, "onnx_normalisation": mapping.onnx_normalisation,
        "normalisation_assumed": mapping.assumed, "input_affine": mapping.input_affine,
        "checkpoint": str(out_path), "sha256": sha256_file(out_path),
        "mapping": mapping.kind, "one_to_one": mapping.one_to_one, "folded_bn": len(mapping.folded_bn),
        "mapping_note": mapping.describe(), "alternatives": mapping.alternatives, **diff,
    }
