"""Soft-argmax (integral regression) over a per-joint 3-D heatmap volume.

Channel c of the head output is joint ``c // D``, depth bin ``c % D`` (joint-major), as in every official repo.
One softmax spans the whole D*H*W volume of a joint; coordinates are expectations with 0-based index ramps.
"""

from __future__ import annotations

import torch


def soft_argmax_3d(heatmaps: torch.Tensor, num_joints: int, depth_bins: int) -> torch.Tensor:
    """[N, J*D, H, W] logits -> [N, J, 3] (x, y in heatmap cells, z in depth bins), float32."""
    n, c, h, w = heatmaps.shape
    if c != num_joints * depth_bins:
        raise ValueError(f"heatmap has {c} channels, expected {num_joints} joints x {depth_bins} bins")
    prob = torch.softmax(heatmaps.float().reshape(n, num_joints, depth_bins * h * w), dim=2)
    prob = prob.reshape(n, num_joints, depth_bins, h, w)
    dev = prob.device
    x = (prob.sum(dim=(2, 3)) * torch.arange(w, device=dev, dtype=prob.dtype)).sum(dim=2, keepdim=True)
    y = (prob.sum(dim=(2, 4)) * torch.arange(h, device=dev, dtype=prob.dtype)).sum(dim=2, keepdim=True)
    z = (prob.sum(dim=(3, 4)) * torch.arange(depth_bins, device=dev, dtype=prob.dtype)).sum(dim=2, keepdim=True)
    return torch.cat((x, y, z), dim=2)


def integral_normalized(coords: torch.Tensor, output_hw: tuple[int, int], depth_bins: int) -> torch.Tensor:
    """Cells -> JimmySuen's normalised coordinates in [-0.5, 0.5): each axis divided by its length, minus 0.5."""
    h, w = output_hw
    scale = torch.tensor([w, h, depth_bins], dtype=coords.dtype, device=coords.device)
    return coords / scale - 0.5


def integral_patch(coords_norm: torch.Tensor, input_hw: tuple[int, int]) -> torch.Tensor:
    """Normalised -> (x_px, y_px, z in patch-width units, score=1), Integral's get_joint_location_result."""
    ph, pw = input_hw
    x = (coords_norm[..., 0:1] + 0.5) * pw
    y = (coords_norm[..., 1:2] + 0.5) * ph
    z = coords_norm[..., 2:3] * pw
    return torch.cat((x, y, z, torch.ones_like(x)), dim=-1)
