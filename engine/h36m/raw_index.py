"""``RawIndex``: the Human3.6M test samples as parsed from the annotation files, before any crop or camera math."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["RawIndex"]


@dataclass
class RawIndex:
    """Test samples as parsed from the annotation files (world coordinates, raw annotation boxes)."""

    root: Path
    protocol: int
    image_id: np.ndarray  # [N] int64
    file_name: list[str]  # relative to ROOT/images
    subject: np.ndarray  # [N]
    action_idx: np.ndarray  # [N] 2..16 (as in the files)
    subaction_idx: np.ndarray
    cam_idx: np.ndarray
    frame_idx: np.ndarray
    width: np.ndarray
    height: np.ndarray
    bbox: np.ndarray  # [N,4] annotation box x,y,w,h (not processed)
    joints_world: np.ndarray  # [N,17,3] float32 mm
    R: np.ndarray  # [N,3,3] float32
    t: np.ndarray  # [N,3] float32 mm
    f: np.ndarray  # [N,2] float32 px
    c: np.ndarray  # [N,2] float32 px

    def __len__(self) -> int:
        return int(self.image_id.shape[0])

    def image_path(self, i: int) -> Path:
        return self.root / "images" / self.file_name[i]
