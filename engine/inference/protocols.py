"""Shapes of collaborators that several rooms pass around without needing the classes behind them.

Why Protocols and not ``models.loader.LoadedModel``: scoring, run fingerprints and reports read only a loaded
model's identity (spec, label, weights), and a merge of shard runs scores saved predictions through stand-ins that
carry that identity and no network. Whatever runs a network still takes a ``LoadedModel``.

Why Protocols and not ``engine.inference.predictor.Predictor`` for the live engine: the engine and its RootNet thread
call only a predictor's public steps, and tests drive them with stand-ins that return made-up poses and depths.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import numpy as np

    from engine.inference.camera import CameraIntrinsics
    from engine.inference.records import FramePrediction
    from models.spec import ModelSpec

__all__ = ["FramePredictorLike", "LivePredictorLike", "LoadedModelLike", "RootPredictorLike"]


class LoadedModelLike(Protocol):
    """What is read of a loaded model when its network is not run: ``models.loader.LoadedModel`` has it, and so
    does a stand-in rebuilt from a saved run."""

    @property
    def spec(self) -> ModelSpec: ...

    @property
    def label(self) -> str: ...

    @property
    def trained(self) -> bool: ...

    @property
    def checkpoint(self) -> Path | None: ...

    @property
    def sha256(self) -> str | None: ...


class FramePredictorLike(Protocol):
    """All pose models on the persons of one frame (``Predictor.predict_frame``), and the loaded models by name
    (read for a model's own extras, e.g. its net's last pose score)."""

    @property
    def models(self) -> Mapping[str, LoadedModelLike]: ...

    def predict_frame(self, frame_bgr: np.ndarray, boxes_xywh: Any, intrinsics: CameraIntrinsics | None,
                      root_depth_mm: float | Sequence[float] | np.ndarray | None = None,
                      run_rootnet: bool = True) -> FramePrediction: ...


class RootPredictorLike(Protocol):
    """RootNet alone on the persons of one frame (``Predictor.predict_roots``): root depth in mm per box."""

    def predict_roots(self, frame_bgr: np.ndarray, boxes_xywh: Any, intrinsics: CameraIntrinsics) -> np.ndarray: ...


class LivePredictorLike(FramePredictorLike, RootPredictorLike, Protocol):
    """What the live engine's predictor factory makes: the pose step, and the RootNet step for its RootNet thread."""
