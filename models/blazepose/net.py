"""BlazePose behind PoseArena's pose-net contract (``forward(x [N,3,256,256]) -> heatmaps [N, 18*D, 64, 64]``).

For the lead's integration: a spec with joint_set ``h36m18``, input_hw (256, 256), normalisation ``raw_0_255``,
output_hw (64, 64), depth_bins D, decoding ``3dmppe`` and depth_range_mm R can use this net unchanged in the
predictor. The 18 joints (``landmarks.blazepose_to_h36m18``) are re-encoded with ``coords_to_heatmaps`` (the ONNX
backend's trick): x, y = crop pixels / 256 x 64 cells, z = (world z mm relative to the pelvis / R + 0.5) x D bins,
so soft-argmax returns exactly those values (clamped to the map). The metric world x, y are not used by the 3DMPPE
decoding (it back-projects the 2D joints at the decoded depth); ``last`` keeps the full result of the last call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from models.blazepose.landmarks import blazepose_to_h36m18, blazepose_weights_to_h36m18, world_to_h36m18_mm
from models.blazepose.runtime import BlazePoseLandmarker, LandmarkResult
from models.onnx.backend import coords_to_heatmaps
from models.spec import check_arch_keys, register_family

__all__ = ["BlazePoseNet", "build_blazepose"]


class BlazePoseNet(nn.Module):
    def __init__(self, landmarker: BlazePoseLandmarker | None = None, depth_bins: int = 64,
                 depth_range_mm: float = 2000.0, output_hw: tuple[int, int] = (64, 64)) -> None:
        super().__init__()
        self.landmarker = landmarker or BlazePoseLandmarker()
        self.depth_bins, self.depth_range_mm, self.output_hw = int(depth_bins), float(depth_range_mm), output_hw
        self.last: LandmarkResult | None = None
        self.last_world_mm: np.ndarray | None = None  # [N,18,3] pelvis-relative metric 3D of the last call (mm)
        self.last_weights: np.ndarray | None = None  # [N,18] landmark visibility mapped to the 18 joints
        self.eval()

    @torch.no_grad()
    def forward_cells(self, x: torch.Tensor) -> torch.Tensor:
        """x: [N,3,256,256] RGB 0..255 -> [N,18,3] (x, y map cells, z depth bins), clamped to the map.

        Exactly what soft-argmax returns from ``forward``'s heatmaps, without building them: the predictor calls
        this when a net has it, which saves a [N, 18*D, 64, 64] volume (19 MB) per person and its decoding.
        """
        crops = x.detach().float().cpu().numpy().transpose(0, 2, 3, 1)  # NHWC views of the planes (no copy)
        res = self.landmarker(crops)
        self.last = res
        ho, wo = self.output_hw
        xy = blazepose_to_h36m18(res.landmarks_px)  # [N,18,2] crop px
        cells = xy * np.array([wo / crops.shape[2], ho / crops.shape[1]])
        world = world_to_h36m18_mm(res.world_m)
        self.last_world_mm = world
        self.last_weights = blazepose_weights_to_h36m18(res.visibility)
        bins = (world[..., 2] / self.depth_range_mm + 0.5) * self.depth_bins
        coords = np.concatenate([cells, bins[..., None]], -1).astype(np.float32)
        upper = np.array([wo - 1.0, ho - 1.0, self.depth_bins - 1.0], np.float32)
        return torch.from_numpy(np.clip(coords, 0.0, upper)).to(x.device)

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: [N,3,256,256] RGB 0..255 (normalisation ``raw_0_255``) -> [N, 18*D, Ho, Wo] logits."""
        return coords_to_heatmaps(self.forward_cells(x), self.depth_bins, self.output_hw)


@register_family("blazepose")
def build_blazepose(arch: Mapping[str, Any]) -> BlazePoseNet:
    """The family builder: the bundled landmark model (``arch["model_path"]`` overrides the file)."""
    check_arch_keys("blazepose", arch, ("depth_bins", "depth_range_mm", "output_hw", "model_path", "asset", "sha256"))
    return BlazePoseNet(BlazePoseLandmarker(arch["model_path"]), int(arch["depth_bins"]),
                        float(arch["depth_range_mm"]), tuple(arch["output_hw"]))
