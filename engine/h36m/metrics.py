"""Human3.6M scores computed the way 3DMPPE's ``Human36M.evaluate`` does, plus the labelled extras.

Per sample: prediction and GT made root-relative (each on its own root), optionally aligned onto the GT
(3DMPPE ``rigid_align``: rotation + translation, **no scale**; the "with scale" similarity variant is a separate,
labelled column), then the Euclidean error of each scored joint. Totals are the mean over samples x joints
(sample-weighted), never the mean of the 15 action means. Alignment uses every joint both sets share (for the
h36m18 models all 18 joints, Thorax included, exactly as the official code), scoring only the evaluated ones.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from models.joints import H36M18, get_joint_set

__all__ = [
    "ACTIONS",
    "EVAL_JOINTS",
    "EXTRA_METRICS",
    "H36MScores",
    "JointMapping",
    "METRICS",
    "action_index",
    "joint_mapping",
    "metric_label",
    "mrpe",
    "score",
    "test_set_label",
]

ACTIONS: tuple[str, ...] = (
    "Directions", "Discussion", "Eating", "Greeting", "Phoning", "Posing", "Purchases", "Sitting",
    "SittingDown", "Smoking", "Photo", "Waiting", "Walking", "WalkDog", "WalkTogether",
)
EVAL_JOINTS: tuple[str, ...] = tuple(H36M18.names[j] for j in H36M18.eval_joints)  # 17, Thorax excluded
TEST_SUBJECTS = {1: (11,), 2: (9, 11)}

# metric key -> (short name, long description)
METRICS: dict[str, tuple[str, str]] = {
    "mpjpe": ("MPJPE", "root-relative, no alignment"),
    "pa_mpjpe": ("PA-MPJPE", "root-relative, rigid alignment without scale (3DMPPE rigid_align)"),
    "pa_mpjpe_similarity": ("PA-MPJPE with scale", "root-relative, similarity alignment (with scale)"),
}
# Figures a model's own evaluation reports besides 3DMPPE's (``ModelSpec.extra_metrics``): key -> (short, long)
EXTRA_METRICS: dict[str, tuple[str, str]] = {
    "integral_aligned": ("Integral aligned MPJPE (hm36_17j_align)",
                         "absolute prediction rigidly aligned (no scale) onto the absolute GT over all 18 joints, "
                         "Thorax included, then re-rooted at the aligned pelvis (Integral's hm36 evaluate)"),
}


def test_set_label(protocol: int) -> str:
    """'Protocol 2 test set S9+S11' - always in words, never 'P2' alone."""
    subjects = "+".join(f"S{s}" for s in TEST_SUBJECTS[protocol])
    return f"Protocol {protocol} test set {subjects}"


def metric_label(metric: str, protocol: int, num_joints: int = 17, mapped: bool = False) -> str:
    """E.g. 'MPJPE, Protocol 2 test set S9+S11' or 'PA-MPJPE (mapped 14 joints), Protocol 1 test set S11'."""
    short = {**METRICS, **EXTRA_METRICS}[metric][0]
    if mapped:
        short = f"{short} (mapped {num_joints} joints)"
    label = f"{short}, {test_set_label(protocol)}"
    # The papers' headline pairs are MPJPE on Protocol 2 and PA-MPJPE on Protocol 1: say so when it is another pair.
    headline = "mpjpe" if protocol == 2 else "pa_mpjpe"
    if metric != headline:
        label += f" (not a published Protocol {protocol} figure)"
    return label


def action_index(path: str) -> int:
    """0..14 from the two digits after 'act_' in an H36M image path (official: int(act_XX) - 2)."""
    m = _ACT_RE.search(path)
    if m is None:
        raise ValueError(f"no 'act_XX' (two digits) in image path {path!r}")
    idx = int(m.group(1)) - 2
    if not 0 <= idx < len(ACTIONS):
        raise ValueError(f"action {idx + 2} in {path!r} is outside 2..16")
    return idx


_ACT_RE = re.compile(r"(?:^|[/_])act_(\d\d)")  # not the 'act_' inside 'subact_'


@dataclass(frozen=True)
class JointMapping:
    """Which prediction joints match which GT (h36m18) joints, by name."""

    pred_set: str
    pred_root: int
    align_pred: tuple[int, ...]  # shared joints used for alignment (prediction indices)
    align_gt: tuple[int, ...]  # the same joints, GT indices
    score_pred: tuple[int, ...]  # evaluated joints (subset of the 17) present in the prediction
    score_gt: tuple[int, ...]
    names: tuple[str, ...]  # names of the scored joints

    @property
    def mapped(self) -> bool:
        """True unless the prediction scores all 17 evaluated H36M joints."""
        return self.names != EVAL_JOINTS


def joint_mapping(pred_set: str) -> JointMapping:
    """Map a joint set onto the Human3.6M GT by joint name; 'h36m17' = the 17 evaluated joints (official JSON)."""
    if pred_set == "h36m17":
        names, root = EVAL_JOINTS, 0
    else:
        js = get_joint_set(pred_set)
        names, root = js.names, js.root
    if names[root] != "Pelvis":
        raise ValueError(f"joint set {pred_set!r} has root {names[root]!r}, the Human3.6M GT root is Pelvis")
    align = [(i, H36M18.names.index(n)) for i, n in enumerate(names) if n in H36M18.names]
    score = [(names.index(n), H36M18.index(n)) for n in EVAL_JOINTS if n in names]
    if len(score) < 4:
        raise ValueError(f"joint set {pred_set!r} shares only {len(score)} evaluated joints with Human3.6M")
    return JointMapping(
        pred_set=pred_set, pred_root=root,
        align_pred=tuple(a for a, _ in align), align_gt=tuple(b for _, b in align),
        score_pred=tuple(a for a, _ in score), score_gt=tuple(b for _, b in score),
        names=tuple(H36M18.names[b] for _, b in score),
    )


@dataclass
class H36MScores:
    """Per-sample, per-joint errors (mm) of one model on one test set, and their aggregates."""

    model: str
    protocol: int
    joint_names: tuple[str, ...]
    mapped: bool
    image_ids: np.ndarray  # [N]
    actions: np.ndarray  # [N] 0..14
    errors: dict[str, np.ndarray]  # metric -> [N, K]
    aligned_pa: np.ndarray  # [N, K, 3] root-relative prediction after rigid_align (what 3DMPPE saves for P1)
    mrpe: dict[str, float] | None = None  # mean root position error and per-axis, when roots came from RootNet
    extra: dict = field(default_factory=dict)

    @property
    def num_samples(self) -> int:
        return int(self.image_ids.shape[0])

    def total(self, metric: str) -> float:
        """Mean over all samples x joints (sample-weighted)."""
        e = self.errors[metric]
        return float(e.mean()) if e.size else float("nan")

    def per_action(self, metric: str) -> dict[str, float]:
        """Action name -> mean over that action's samples x joints; NaN for actions without samples."""
        e = self.errors[metric]
        out = {}
        for i, name in enumerate(ACTIONS):
            sel = self.actions == i
            out[name] = float(e[sel].mean()) if sel.any() else float("nan")
        return out

    def per_joint(self, metric: str) -> dict[str, float]:
        e = self.errors[metric]
        return {n: float(e[:, k].mean()) if e.shape[0] else float("nan") for k, n in enumerate(self.joint_names)}

    def label(self, metric: str) -> str:
        return metric_label(metric, self.protocol, len(self.joint_names), self.mapped)

    def summary(self, metric: str | None = None) -> str:
        """Two lines in the official print format, with the metric named in words."""
        metric = metric or ("pa_mpjpe" if self.protocol == 1 else "mpjpe")
        head = f"{self.label(metric)} >> tot: {self.total(metric):.2f}"
        acts = " ".join(f"{n}: {v:.2f}" for n, v in self.per_action(metric).items())
        return f"{head}\n{acts}"


def score(
    pred_cam: np.ndarray,
    gt_cam: np.ndarray,
    actions: Sequence[int] | np.ndarray,
    *,
    protocol: int,
    pred_set: str = "h36m18",
    image_ids: Sequence[int] | np.ndarray | None = None,
    model: str = "",
    pred_root_cam: np.ndarray | None = None,
    gt_root_cam: np.ndarray | None = None,
    extra_metrics: Sequence[str] = (),
) -> H36MScores:
    """Score camera-space predictions [N,J,3] (absolute or root-relative, mm) against GT [N,18,3] (h36m18 order).

    ``pred_root_cam`` / ``gt_root_cam`` ([N,3]), when given, add the MRPE of the predicted roots.
    ``extra_metrics``: keys of ``EXTRA_METRICS`` to add to ``errors`` (a model's own evaluation's figures).
    """
    from engine.inference.geometry import rigid_align, similarity_align

    pred = np.asarray(pred_cam, dtype=np.float64)
    gt = np.asarray(gt_cam, dtype=np.float64)
    acts = np.asarray(actions, dtype=np.int64)
    if pred.ndim != 3 or pred.shape[2] != 3 or gt.ndim != 3 or gt.shape[1:] != (18, 3):
        raise ValueError(f"expected pred [N,J,3] and gt [N,18,3], got {pred.shape} and {gt.shape}")
    if pred.shape[0] != gt.shape[0] or acts.shape != (pred.shape[0],):
        raise ValueError(f"sample counts differ: pred {pred.shape[0]}, gt {gt.shape[0]}, actions {acts.shape}")
    if acts.size and (acts.min() < 0 or acts.max() >= len(ACTIONS)):
        raise ValueError("action indices must be 0..14")
    m = joint_mapping(pred_set)
    n_expected = len(EVAL_JOINTS) if pred_set == "h36m17" else get_joint_set(pred_set).num_joints
    if pred.shape[1] != n_expected:
        raise ValueError(f"joint set {pred_set!r} has {n_expected} joints, predictions have {pred.shape[1]}")
    if not np.isfinite(pred).all():
        bad = np.unique(np.nonzero(~np.isfinite(pred))[0])
        raise ValueError(f"predictions contain NaN/inf in {bad.size} samples (first: row {bad[0]})")
    pred_rel = pred - pred[:, m.pred_root:m.pred_root + 1]
    gt_rel = gt - gt[:, :1]
    pa = np.asarray(pred_rel[:, m.align_pred])
    gs = np.asarray(gt_rel[:, m.align_gt])
    aligned_rigid = rigid_align(pa, gs) if len(pa) else pa.copy()  # batched over samples
    aligned_sim = similarity_align(pa, gs) if len(pa) else pa.copy()
    # positions of the scored joints inside the alignment subset
    k_sel = [m.align_pred.index(j) for j in m.score_pred]
    gt_s = gt_rel[:, list(m.score_gt)]
    errors = {
        "mpjpe": np.linalg.norm(pred_rel[:, list(m.score_pred)] - gt_s, axis=-1),
        "pa_mpjpe": np.linalg.norm(aligned_rigid[:, k_sel] - gt_s, axis=-1),
        "pa_mpjpe_similarity": np.linalg.norm(aligned_sim[:, k_sel] - gt_s, axis=-1),
    }
    for key in extra_metrics:
        errors[key] = _EXTRA_FNS[key](pred, gt, m, k_sel, gt_s)
    ids = np.arange(pred.shape[0]) if image_ids is None else np.asarray(image_ids, dtype=np.int64)
    result = H36MScores(
        model=model, protocol=protocol, joint_names=m.names, mapped=m.mapped, image_ids=ids, actions=acts,
        errors=errors, aligned_pa=aligned_rigid[:, k_sel],
    )
    if pred_root_cam is not None and gt_root_cam is not None:
        result.mrpe = mrpe(pred_root_cam, gt_root_cam)
    return result


def integral_aligned_errors(pred: np.ndarray, gt: np.ndarray, m: JointMapping, k_sel: Sequence[int],
                            gt_rel_scored: np.ndarray) -> np.ndarray:
    """Integral's ``hm36_17j_align`` per joint [N,K]: rigid alignment (3DMPPE's, no scale) of the absolute prediction
    onto the absolute GT over every shared joint (all 18 for h36m18), re-rooted at the aligned pelvis, against the
    root-relative GT."""
    from engine.inference.geometry import rigid_align

    pa, ga = pred[:, list(m.align_pred)], gt[:, list(m.align_gt)]
    if not len(pa):
        return np.zeros((0, len(k_sel)))
    aligned = rigid_align(pa, ga)
    r = m.align_pred.index(m.pred_root)
    rel = aligned - aligned[:, r:r + 1]
    return np.linalg.norm(rel[:, list(k_sel)] - gt_rel_scored, axis=-1)


_EXTRA_FNS = {"integral_aligned": integral_aligned_errors}


def mrpe(pred_root: np.ndarray, gt_root: np.ndarray) -> dict[str, float]:
    """Mean root position error (Euclidean) and the mean absolute error per axis, mm."""
    d = np.asarray(pred_root, dtype=np.float64) - np.asarray(gt_root, dtype=np.float64)
    if d.ndim != 2 or d.shape[1] != 3:
        raise ValueError(f"roots must be [N,3], got {d.shape}")
    if not d.shape[0]:
        return {"mrpe": float("nan"), "x": float("nan"), "y": float("nan"), "z": float("nan")}
    return {
        "mrpe": float(np.linalg.norm(d, axis=1).mean()),
        "x": float(np.abs(d[:, 0]).mean()),
        "y": float(np.abs(d[:, 1]).mean()),
        "z": float(np.abs(d[:, 2]).mean()),
    }
