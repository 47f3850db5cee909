"""The comparison result (``Snapshot``): per-model tables, per-track rows, pairwise agreement, verdicts, and the one
function both the live window and the offline pass use to build it from additive sums.

Why plain dataclasses of floats/lists/dicts: the GUI renders them, the CLI dumps them to JSON (``to_dict`` turns
NaN into null), and nothing downstream needs numpy.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from engine.compare.agreement import PairAgreement, PairSums, agreement_matrix, common_joints, pair_sums
from engine.compare.metrics import ModelStats, TrackSums, summarise_many, track_sums, valid_poses
from engine.compare.skeleton import MEASURE_JOINTS, JointAdapter, MapFn, make_adapter

__all__ = ["ComparedModel", "ModelDesc", "Snapshot", "Stream", "build_snapshot", "describe_model", "json_clean",
           "verdicts", "window_sums"]


@dataclass(frozen=True)
class ModelDesc:
    """A model as the comparison sees it: its name, how its joints map to H36M18, and its provenance."""

    name: str
    adapter: JointAdapter
    trained: bool | None = None
    label: str = ""


class ComparedModel(Protocol):
    """The least a model needs to be compared (``ModelInfo``, ``RecordedModel``): its name and joint set; its
    ``joint_names`` / ``num_joints``, ``trained`` and ``label`` are read when it has them."""

    @property
    def name(self) -> str: ...

    @property
    def joint_set(self) -> str: ...


def describe_model(model: ModelDesc | ComparedModel, *, to_h36m: MapFn | None = None,
                   include_approx: bool = True) -> ModelDesc:
    """A ``ModelDesc`` from a ``ModelDesc``, an ``engine.live.engine.ModelInfo``, a ``RecordedModel`` or anything with
    ``name`` and ``joint_set`` (optional: ``joint_names`` / ``num_joints``, ``trained``, ``label``)."""
    if isinstance(model, ModelDesc):
        return model
    n = getattr(model, "num_joints", None)
    if n is None:
        names = getattr(model, "joint_names", None)
        n = None if names is None else len(names)
    adapter = make_adapter(model.joint_set, n, to_h36m=to_h36m, include_approx=include_approx)
    trained = getattr(model, "trained", None)
    return ModelDesc(str(model.name), adapter, None if trained is None else bool(trained),
                     str(getattr(model, "label", "") or model.name))


@dataclass
class Stream:
    """One model's poses over a window in H36M18 order: [T, S, 18, 3] mm, [T, S, 18, 2] px, latency [T] ms."""

    cam: np.ndarray
    px: np.ndarray
    smoothed: np.ndarray | None = None
    latency_ms: np.ndarray | None = None


def json_clean(obj: Any) -> Any:
    """Dataclasses/numpy/NaN -> plain JSON values (NaN and inf become None)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: json_clean(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {str(k): json_clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_clean(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return json_clean(obj.tolist())
    if isinstance(obj, np.bool_ | bool):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        return float(obj) if math.isfinite(obj) else None
    return obj


def _finite(v: float) -> bool:
    return v is not None and math.isfinite(v)


def verdicts(stats: Mapping[str, ModelStats], pairs: Sequence[PairAgreement]) -> dict[str, Any]:
    """Which model is steadiest (lowest raw jitter), most human-like (lowest bone CV + limb asymmetry), and agrees
    most (lowest mean root-aligned distance to the other ranked models). Degenerate models, models running
    untrained (random) weights and models without data are never named; they are listed under ``excluded`` with
    the reason."""
    ok = {n: s for n, s in stats.items() if not s.degenerate and s.valid_frames > 0 and s.trained is not False}
    excluded = {n: (s.degenerate_reason or ("no poses in the window" if s.valid_frames == 0 else
                                            "untrained (random) weights: its numbers say nothing about the model"))
                for n, s in stats.items() if n not in ok}

    def best(key: Callable[[ModelStats], float]) -> str | None:
        vals = [(key(s), n) for n, s in ok.items() if _finite(key(s))]
        return min(vals)[1] if vals else None

    agree: dict[str, list[float]] = {n: [] for n in ok}
    for p in pairs:
        if p.a in ok and p.b in ok and _finite(p.root_aligned_mm):
            agree[p.a].append(p.root_aligned_mm)
            agree[p.b].append(p.root_aligned_mm)
    mean_agree = {n: float(np.mean(v)) for n, v in agree.items() if v}
    return {
        "steadiest": best(lambda s: s.jitter_mm_s2),
        "most_human_like": best(lambda s: s.bone_cv_mean + s.asymmetry_mean),
        "agrees_most": min(mean_agree, key=mean_agree.__getitem__) if len(ok) >= 2 and mean_agree else None,
        "mean_agreement_mm": mean_agree,
        "excluded": excluded,
    }


@dataclass
class Snapshot:
    """A comparison over one window (live) or a whole recording (offline)."""

    models: list[str]
    stats: dict[str, ModelStats]  # pooled over tracks
    per_track: dict[str, list[ModelStats]]
    pairs: list[PairAgreement]
    matrix: dict[str, list[list[float | None]]]  # metric -> M x M, see agreement.AGREEMENT_METRICS
    verdicts: dict[str, Any]
    frames: int  # frames in the window
    t_start: float
    t_end: float
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def degenerate(self) -> dict[str, str]:
        return {n: s.degenerate_reason for n, s in self.stats.items() if s.degenerate}

    def to_dict(self) -> dict[str, Any]:
        return json_clean(self)


def window_sums(descs: Sequence[ModelDesc], times: np.ndarray, present: np.ndarray,
                streams: Mapping[str, Stream], track_ids: np.ndarray, *, rigid_samples: int | None = None
                ) -> tuple[dict[str, TrackSums], dict[tuple[str, str], PairSums]]:
    """All additive sums over one block of frames: T frames x S tracks (``present`` [T, S], ``track_ids`` [S]);
    ``rigid_samples`` as ``agreement.pair_sums``."""
    sums: dict[str, TrackSums] = {}
    valid: dict[str, np.ndarray] = {}
    for d in descs:
        st = streams[d.name]
        sums[d.name] = track_sums(times, present, st.cam, st.smoothed, d.adapter.available, track_ids)
        valid[d.name] = valid_poses(st.cam, present, tuple(j for j in MEASURE_JOINTS if j in d.adapter.available))
    pairs: dict[tuple[str, str], PairSums] = {}
    for i, da in enumerate(descs):
        for db in descs[i + 1:]:
            k = common_joints(da.adapter.available, db.adapter.available)
            sa, sb = streams[da.name], streams[db.name]
            pairs[(da.name, db.name)] = pair_sums(sa.cam, sb.cam, sa.px, sb.px, valid[da.name], valid[db.name], k,
                                                 rigid_samples=rigid_samples)
    return sums, pairs


def build_snapshot(descs: Sequence[ModelDesc], sums: Mapping[str, TrackSums],
                   pairs: Mapping[tuple[str, str], PairSums], latency_ms: Mapping[str, np.ndarray], *,
                   frames: int, t_start: float, t_end: float, per_track: bool = True) -> Snapshot:
    """Turn sums into a ``Snapshot`` (pooled stats, optional per-track rows, pairs, matrix, verdicts)."""
    stats: dict[str, ModelStats] = {}
    rows: dict[str, list[ModelStats]] = {}
    for d in descs:
        s, ad = sums[d.name], d.adapter
        groups: list[tuple[int | None, np.ndarray | None]] = [(None, None)]
        if per_track:
            groups += [(int(s.track_ids[i]), np.array([i])) for i in range(len(s.track_ids)) if s.n_present[i] > 0]
        res = summarise_many(s, groups, name=d.name, joint_set=ad.joint_set, mapped=ad.mapped, joints=ad.available,
                             latency_ms=latency_ms.get(d.name), trained=d.trained, label=d.label)
        stats[d.name], rows[d.name] = res[0], res[1:]
    by_name = {d.name: d for d in descs}
    result: list[PairAgreement] = []
    for (a, b), ps in pairs.items():
        ad, bd = by_name[a].adapter, by_name[b].adapter
        result.append(PairAgreement.from_sums(a, b, ps, mapped=ad.mapped or bd.mapped,
                                              approx=tuple(ad.approx) + tuple(bd.approx)))
    names = [d.name for d in descs]
    return Snapshot(names, stats, rows, result, agreement_matrix(names, result), verdicts(stats, result), int(frames),
                    float(t_start), float(t_end))
