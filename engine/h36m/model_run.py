"""``ModelRun``: one scored model plus what describes and reproduces its numbers; the shared vocabulary of the
benchmark output files (results JSON/CSV, predictions HDF5, report, plots, console summary)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.h36m.layout import SAMPLING
from engine.h36m.metrics import H36MScores

__all__ = ["SAMPLING_NOTE", "UNTRAINED", "ModelRun", "fmt_mm", "headline_metric", "published_for", "safe_name"]

SAMPLING_NOTE = f"every {SAMPLING}th frame (frame_idx % {SAMPLING} == 0), all 4 cameras"
UNTRAINED = "untrained weights"


@dataclass
class ModelRun:
    """One model's scores plus what is needed to describe and reproduce them."""

    scores: H36MScores
    name: str  # registry name or a label for imported predictions
    trained: bool = True
    joint_set: str = "h36m18"
    root: str = "gt"  # gt | rootnet (result file) | rootnet-model (RootNet network run live on the GT boxes)
    root_file: str | None = None
    root_model: dict[str, Any] | None = None  # live RootNet: name, label, trained, checkpoint, checkpoint_sha256
    flip: bool | None = True
    checkpoint: str | None = None
    checkpoint_sha256: str | None = None
    device: str | None = None
    precision: str | None = None
    limit: int | None = None
    source: str = "benchmark"  # benchmark | evaluate:<file>
    published: dict[str, Any] | None = None  # from the spec: {"value": mm, "metric": ..., "key": ..., "source": ...}
    published_per_action: tuple[float, ...] | None = None
    predictions: dict[str, np.ndarray] = field(default_factory=dict)  # image_id, joints_cam, root_cam, bbox, ...
    notes: list[str] = field(default_factory=list)
    gt_free: dict[str, Any] | None = None  # comparison measures without GT (engine.compare.h36m), GT's beside
    protocol_mode: str | None = None  # official (its own test's conventions) | common (3DMPPE's for every model)
    conventions: dict[str, str] | None = None  # {"crop": policy, "pose_to_camera": step} it ran with

    @property
    def label(self) -> str:
        return self.name if self.trained else f"{self.name} ({UNTRAINED})"

    @property
    def folder(self) -> str:
        return safe_name(self.name)


def safe_name(name: str) -> str:
    """A model name as a folder name (letters, digits, . _ - only)."""
    s = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")
    return s or "model"


def headline_metric(protocol: int) -> str:
    return "mpjpe" if protocol == 2 else "pa_mpjpe"


def fmt_mm(v: float | None) -> str:
    """A millimetre figure for text and tables: two decimals, "-" when missing or not finite."""
    return "-" if v is None or not math.isfinite(v) else f"{v:.2f}"


def published_for(spec, protocol: int, root: str) -> tuple[dict[str, Any] | None, tuple[float, ...] | None]:
    """The spec's published figure comparable with (protocol, root), and per-action MPJPE when comparable."""
    pub = getattr(spec, "published", None)
    if pub is None:
        return None, None
    # RootNet's Human3.6M results were computed on the GT boxes, so a live run of the same checkpoint compares with
    # the papers' "with RootNet" rows just as its result file does
    with_rootnet = root in ("rootnet", "rootnet-model")
    key = {(2, False): "mpjpe_p2", (2, True): "mpjpe_p2_rootnet",
           (1, False): "pa_mpjpe_p1", (1, True): "pa_mpjpe_p1_rootnet"}[(protocol, with_rootnet)]
    value = getattr(pub, key, None)
    per_action = pub.per_action_mpjpe_p2 if (protocol, root) == (2, "gt") else None
    if value is None:
        return None, per_action
    metric = headline_metric(protocol)
    return {"key": key, "metric": metric, "value": float(value), "source": pub.source}, per_action
