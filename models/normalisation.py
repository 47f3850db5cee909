"""Network input normalisation: the per-model convention ``ModelSpec.normalisation`` names.

Why here: how a crop is scaled before the network is part of what a checkpoint was trained with (timm keeps mean/std
in each model's config), so the table lives with the models; ``engine`` and the ONNX importer both read it from here.
The 3DMPPE quirk (0..1 statistics on 0..255 pixels) is deliberate: the official ``main/config.py`` pixel_mean/std.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

__all__ = ["NORMALISATIONS", "normalise"]

# (mean, std) per RGB channel, applied to 0..255 pixel values.
NORMALISATIONS: dict[str, tuple[tuple[float, float, float], tuple[float, float, float]] | None] = {
    # 3DMPPE family: ToTensor() does not divide float32 arrays by 255, so 0..1 statistics meet 0..255 pixels.
    "imagenet_0_255": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
    # JimmySuen's Integral: the standard ImageNet normalisation expressed in 0..255 units.
    "imagenet": ((123.675, 116.28, 103.53), (58.395, 57.12, 57.375)),
    # third-party ONNX MobileHumanPose: plain 0..255 RGB.
    "raw_0_255": None,
}


def normalise(patches_rgb: np.ndarray | Sequence[np.ndarray], kind: str) -> torch.Tensor:
    """RGB 0..255 patches ([N,]HxWx3) -> float32 [N,3,H,W] network input for a ``ModelSpec.normalisation``."""
    if kind not in NORMALISATIONS:
        raise ValueError(f"unknown normalisation {kind!r}; known: {', '.join(NORMALISATIONS)}")
    arr = np.asarray(patches_rgb, dtype=np.float32)
    if arr.ndim == 3:
        arr = arr[None]
    if arr.ndim != 4 or arr.shape[3] != 3:
        raise ValueError(f"normalise: expected [N,]HxWx3 RGB patches, got shape {tuple(arr.shape)}")
    # NCHW by numpy's one-thread copy: torch's permute copy woke its thread pool, 0.4 ms a crop in the live loop
    x = torch.from_numpy(np.ascontiguousarray(arr.transpose(0, 3, 1, 2)))
    stats = NORMALISATIONS[kind]
    if stats is None:
        return x
    mean = torch.tensor(stats[0], dtype=torch.float32).view(1, 3, 1, 1)
    std = torch.tensor(stats[1], dtype=torch.float32).view(1, 3, 1, 1)
    return (x - mean) / std
