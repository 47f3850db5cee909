"""Plain GUI-side records of one live result (no Qt, no torch) so widgets never depend on engine classes.

``gui.controllers.live.to_live_frame`` converts the engine's ``LiveResult`` into a ``LiveFrame``; widgets only read
these fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class ModelFrame:
    """One model's output for the frame: [P,J,...] arrays in the order of ``LiveFrame.boxes``."""

    name: str
    label: str
    joint_set: str
    trained: bool
    joints_2d: np.ndarray | None = None  # [P,J,2] image pixels
    joints_rel_mm: np.ndarray | None = None  # [P,J,3] root-relative camera mm
    joints_cam_mm: np.ndarray | None = None  # [P,J,3] absolute camera mm
    latency_ms: float | None = None
    fps: float | None = None
    placement: str = ""  # how its 3D skeletons are placed in the camera ("RootNet depth", "own 3D fit", ...)


@dataclass
class LiveFrame:
    """What the views draw for one processed frame."""

    seq: int
    frame_bgr: np.ndarray | None  # [H,W,3] uint8 BGR
    boxes_xyxy: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32))
    track_ids: list[int] = field(default_factory=list)
    models: dict[str, ModelFrame] = field(default_factory=dict)
    fps: float | None = None
    stage_ms: dict[str, float] = field(default_factory=dict)  # per-stage latency (ms)
    end_to_end_ms: float | None = None  # capture -> result
    frame_id: int | None = None
    root_source: str = ""
    message: str = ""  # engine note for the status bar (e.g. "no person detected")

    def status_text(self) -> str:
        """One line for the status bar: FPS, end-to-end and per-stage latency."""
        parts = []
        if self.fps is not None:
            parts.append(f"{self.fps:.1f} FPS")
        if self.end_to_end_ms is not None:
            parts.append(f"end-to-end {self.end_to_end_ms:.0f} ms")
        if self.stage_ms:
            parts.append(" · ".join(f"{k} {v:.1f}" for k, v in self.stage_ms.items()) + " ms")
        parts.append(f"{len(self.boxes_xyxy)} person(s)")
        if self.message:
            parts.append(self.message)
        return " | ".join(parts)
