"""The records the Predictor takes and gives: crop batches, per-model outputs, frame and batch predictions.

Split from ``predictor`` so the live engine, the benchmark loop and tests share the vocabulary without the class.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import torch

from engine.inference import geometry as geo

if TYPE_CHECKING:
    from models.spec import ModelSpec

__all__ = [
    "BatchPrediction", "Chunked", "CropBatch", "FramePrediction", "GroupKey", "ModelOutput", "box_problem",
    "checked_output", "group_key", "rootnet_to_camera", "whole",
]


class GroupKey(NamedTuple):
    """Crops are shared by the models of one (input size, normalisation, crop policy)."""

    input_hw: tuple[int, int]
    normalisation: str
    crop: str = "3dmppe"

Chunked = Callable[[str, int, Callable[[int, int], np.ndarray]], np.ndarray]  # (net name, rows, infer(a, b))


def whole(name: str, n: int, infer: Callable[[int, int], np.ndarray]) -> np.ndarray:
    """The default ``chunked``: all rows in one call."""
    return infer(0, n)


@dataclass
class ModelOutput:
    name: str
    joint_set: str
    trained: bool
    coords_cells: np.ndarray  # [P,J,3] heatmap cells / depth bins, after flip averaging
    joints_2d: np.ndarray  # [P,J,2] image pixels
    joints_rel_mm: np.ndarray  # [P,J,3] camera axes, root-relative (root joint of its joint set = 0)
    joints_cam_mm: np.ndarray  # [P,J,3] absolute camera mm (root depth from RootNet or given)
    latency_ms: float
    root_source: str = ""  # how this model was placed: "rootnet" | "given" | "default" | "fit" (its own metric 3D)
    crop: str = ""  # how its crop box was made (the crop policy's label), e.g. around RootNet's root


@dataclass
class FramePrediction:
    boxes: np.ndarray  # [P,4] processed (square, x1.25) boxes of the kept persons
    kept: np.ndarray  # [P] indices into the input boxes
    skipped: list[tuple[int, str]]  # (input index, reason) for degenerate boxes etc.
    root_cam_mm: np.ndarray  # [P,3]
    root_source: str  # "rootnet" | "given" | "default"
    outputs: dict[str, ModelOutput] = field(default_factory=dict)
    timings_ms: dict[str, float] = field(default_factory=dict)  # "crop", "rootnet", each model name, "post"


@dataclass
class CropBatch:
    """N persons of a frame or N benchmark samples, cropped once per (input size, normalisation, crop) group."""

    crops: dict[GroupKey, torch.Tensor]  # normalised [N,3,H,W] network input, on the predictor's device
    boxes: dict[GroupKey, np.ndarray]  # [N,4] the processed box each group's crops were cut from
    f: np.ndarray  # focal (fx, fy): (2,) for one camera or [N,2]
    c: np.ndarray  # principal point, same shape
    crop_labels: dict[GroupKey, str] = field(default_factory=dict)  # how each group's boxes were made


@dataclass
class BatchPrediction:
    root_cam_mm: np.ndarray  # [N,3] the roots the depths were decoded with
    root_output: np.ndarray | None  # [N,3] RootNet's raw (x, y map cells, depth mm); None when roots were given
    outputs: dict[str, ModelOutput]
    timings_ms: dict[str, float]  # "rootnet", each model name, "post"


def group_key(spec: ModelSpec, protocol_mode: str = "official") -> GroupKey:
    """The crop group of ``spec`` under ``protocol_mode`` (its crop policy depends on the mode)."""
    from engine.inference.conventions import conventions_for

    hw = (int(spec.input_hw[0]), int(spec.input_hw[1]))
    return GroupKey(hw, spec.normalisation, conventions_for(spec, protocol_mode).crop.kind)


def rootnet_to_camera(out: np.ndarray, boxes: np.ndarray, f: np.ndarray | Sequence[float],
                      c: np.ndarray | Sequence[float], output_hw: Sequence[int]) -> np.ndarray:
    """RootNet output [N,3] (x, y map cells, depth mm) -> root [N,3] camera mm, as RootNet's own evaluation does:
    cells -> image by the processed box (bbox-linear), Z = depth, then ``pixel2cam`` with each sample's camera."""
    o = np.asarray(out, dtype=np.float64).reshape(-1, 3)
    xy = geo.cells_to_image(o[:, None, :2], boxes, tuple(output_hw))[:, 0]
    return geo.pixel2cam(np.concatenate([xy, o[:, 2:3]], axis=1), f, c)


def box_problem(b: np.ndarray) -> str | None:
    if not np.all(np.isfinite(b)):
        return f"non-finite box {b.tolist()}"
    if b[2] <= 0 or b[3] <= 0:
        return f"non-positive box size w={b[2]:g} h={b[3]:g}"
    return None


def checked_output(name: str, out: object, expected: tuple[int, ...], what: str) -> torch.Tensor:
    """``out`` if it is a tensor of shape ``expected``, else a RuntimeError naming the model and both shapes."""
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != expected:
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise RuntimeError(f"{name}: network returned {got}, expected {what} {expected}")
    return out
