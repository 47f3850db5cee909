"""Absolute root depth in the live engine: the decision made once per run (``RootPlan``: RootNet, or a fixed depth
and why), the depths held per track between RootNet runs (``RootDepths``), and the one vocabulary for where each
model's depth comes from (``Placement``), carried on every ``LiveResult``.

One road: RootNet always runs on its own thread (``root_worker.RootWorker``) on the newest due frame; ``RootDepths``
filters each finished run's depths causally per track and hands the pose path the newest one per person, or the
fixed default while none has come yet. The plan is a record so that callers (the GUI, the CLI) read
``LiveEngine.root_plan.mode`` / ``.reason`` instead of matching note text; the note shown to the user is derived from
it (``RootPlan.note``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.defaults import ROOT
from engine.live.smoothing import SCALE_MM, OneEuroParams, TrackFilters

log = logging.getLogger(__name__)

__all__ = ["DISABLED", "NO_WEIGHTS", "UNTRAINED", "Placement", "RootDepths", "RootPlan", "placement_of", "plan_root"]

# RootPlan.reason values
DISABLED = "disabled"  # fixed: no RootNet configured (LiveConfig.rootnet is None / empty)
NO_WEIGHTS = "no weights"  # fixed: the configured RootNet has no weights file
UNTRAINED = "untrained weights"  # rootnet: running random weights, the absolute depth is meaningless

_PASS_THROUGH = OneEuroParams(min_cutoff=1e9, beta=0.0, d_cutoff=1.0)
UNTRACKED_KEY = 1 << 40  # an untracked person's depth key: this + its order in the frame


class Placement:
    """Where a model's absolute depth comes from: the engine's words, shown as they are (``LiveResult.placement``)."""

    ROOTNET = "placed by RootNet"  # the newest RootNet depth of this person, filtered per track
    UNTRAINED_ROOTNET = "placed by untrained RootNet (random depth)"  # a trained model at a random RootNet's depth
    WAITING = "fixed depth until RootNet's first run"  # RootNet runs but has not measured this person yet
    SELF = "self-placed from metric 3D"  # the model fitted its own metric 3D to its 2D joints
    FIXED = "fixed depth"  # no RootNet: every person at the default depth
    NONE = ""  # no person in the frame


def placement_of(model_source: str, pending: bool) -> str:
    """The ``Placement`` of one model from the predictor's ``ModelOutput.root_source`` ("given": the engine's held
    depths, "default": the fixed depth, "fit": its own metric 3D) and whether some person still waits for RootNet."""
    if model_source == "fit":
        return Placement.SELF
    if model_source == "given":
        return Placement.WAITING if pending else Placement.ROOTNET
    return Placement.FIXED


@dataclass(frozen=True)
class RootPlan:
    """How this run gets each person's absolute root depth, decided at ``LiveEngine.prepare()``.

    ``mode``: "rootnet" (the network runs) or "fixed" (every person at ``default_root_mm``).
    ``reason``: "" (RootNet with trained weights), ``UNTRAINED``, ``DISABLED`` or ``NO_WEIGHTS``."""

    mode: str
    reason: str = ""
    rootnet: str | None = None  # the configured RootNet name
    label: str = ""  # the loaded RootNet's display label ("rootnet-r50 (untrained weights)")
    default_root_mm: float = ROOT.default_root_mm

    @property
    def fixed(self) -> bool:
        return self.mode == "fixed"

    @property
    def note(self) -> str:
        """The user-facing line for ``LiveEngine.notes`` ("" when RootNet runs with trained weights)."""
        depth = f"root depth fixed at {self.default_root_mm:g} mm"
        if self.reason == DISABLED:
            return f"no RootNet: {depth}"
        if self.reason == NO_WEIGHTS:
            return f"{self.rootnet} has no weights: {depth}"
        if self.reason == UNTRAINED:
            return f"{self.label or self.rootnet}: absolute depth is meaningless"
        return ""


def plan_root(rootnet: str | None, load: Callable[..., Any], *, allow_untrained: bool,
              default_root_mm: float = ROOT.default_root_mm) -> tuple[RootPlan, Any]:
    """(the plan, the loaded RootNet or None). A RootNet without weights falls back to the fixed depth; any other
    loading error is raised."""
    if not rootnet:
        return RootPlan("fixed", DISABLED, None, default_root_mm=default_root_mm), None
    try:
        lm = load(rootnet, allow_untrained=allow_untrained)
    except Exception as e:
        from models.loader import WeightsMissingError

        if not isinstance(e, WeightsMissingError):
            raise
        plan = RootPlan("fixed", NO_WEIGHTS, rootnet, default_root_mm=default_root_mm)
        log.warning("%s", plan.note)
        return plan, None
    trained = bool(getattr(lm, "trained", True))
    return RootPlan("rootnet", "" if trained else UNTRAINED, rootnet, str(getattr(lm, "label", rootnet)),
                    default_root_mm), lm


class RootDepths:
    """Per-track root depth between frames (used on the inference thread only)."""

    def __init__(self, plan: RootPlan, every: int = ROOT.every, root_filter: OneEuroParams | None = None) -> None:
        self.plan = plan
        self.every = max(1, int(every))
        self._tracks = TrackFilters(root_filter or _PASS_THROUGH, SCALE_MM)  # no filter = pass-through
        self._since_run = self.every  # frames since the last RootNet submission (off-thread RootNet)

    def keep_only(self, ids: np.ndarray | list[int]) -> None:
        """Forget the tracks not in ``ids`` (persons that left)."""
        self._tracks.keep_only(ids)

    @staticmethod
    def keys(ids: np.ndarray) -> np.ndarray:
        """The depth key of each person: its track id; an untracked one (-1) is matched by its order in the frame."""
        ids = np.asarray(ids, np.int64)
        return np.where(ids >= 0, ids, UNTRACKED_KEY + np.arange(len(ids), dtype=np.int64))

    def want(self, keys: np.ndarray) -> bool:
        """Call once per frame with persons: is a RootNet run wanted now (every ``every`` frames since the last
        submission, or a person without a depth)? Never when the plan is a fixed depth."""
        if self.plan.fixed:
            return False
        self._since_run += 1
        return self._since_run >= self.every or any(self._tracks.last(int(k)) is None for k in keys)

    def submitted(self) -> None:
        """A RootNet run was started on this frame: count ``every`` frames from here."""
        self._since_run = 0

    def add_run(self, keys: np.ndarray, depth_mm: np.ndarray, ts: float) -> None:
        """A finished RootNet run (its frame's capture time ``ts``): filter its depths per person and hold them."""
        depth = np.asarray(depth_mm, np.float64).reshape(-1)
        ok = np.isfinite(depth)
        self._tracks.update(np.asarray(keys, np.int64)[ok], depth[ok][:, None], ts)

    def held(self, keys: np.ndarray) -> tuple[np.ndarray, bool]:
        """(depth per person: the held one, else ``plan.default_root_mm``; True when some person has none yet)."""
        vals = [self._tracks.last(int(k)) for k in keys]
        pending = any(v is None for v in vals)
        depth = [self.plan.default_root_mm if v is None else float(np.asarray(v).reshape(-1)[0]) for v in vals]
        return np.array(depth, np.float64), pending
