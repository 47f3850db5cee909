"""Score the gathered predictions of a benchmark run: one ``ModelRun`` (scores, notes, predictions) per model.

Split out of ``runner`` so scoring stays a pure step: saved predictions in, records for the exporters out.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.h36m.dataset import TestSet, dataset_qualifier
from engine.h36m.exports import ModelRun, published_for
from engine.h36m.metrics import mrpe, score
from engine.h36m.run.config import BenchmarkConfig
from models.joints import get_joint_set

if TYPE_CHECKING:
    from engine.inference.protocols import LoadedModelLike

log = logging.getLogger(__name__)

__all__ = ["gt_free_measures", "score_runs"]


def _root_notes(rootnet: LoadedModelLike, root_cam: np.ndarray) -> tuple[dict[str, Any], list[str]]:
    """The live RootNet's record and what a reader must know about its roots."""
    root_model = {"name": rootnet.spec.name, "label": rootnet.label, "trained": bool(rootnet.trained),
                  "checkpoint": str(rootnet.checkpoint) if rootnet.checkpoint else None,
                  "checkpoint_sha256": rootnet.sha256}
    notes = [f"roots from {rootnet.label} run live on the 256x256 crops of the GT boxes; "
             "its depth decodes the poses and MRPE compares its roots with the GT roots"]
    if not rootnet.trained:
        notes.append(f"{rootnet.label}: random initialisation, so its roots, the MRPE and the absolute "
                     "depths are meaningless")
    bad = int((root_cam[:, 2] <= 0).sum())
    if bad:
        notes.append(f"{bad} samples got a RootNet depth <= 0 mm (root behind the camera)")
    return root_model, notes


def gt_free_measures(test: TestSet, models: Sequence[LoadedModelLike], preds: Mapping[str, Mapping[str, np.ndarray]]
                     ) -> dict[str, Any] | None:
    """Bone-length CV, limb asymmetry and consecutive-sample jitter of each model's predictions and of the GT
    (``engine.compare.h36m``); None (with the reason logged) when the test set lacks the sequence columns."""
    from engine.compare.h36m import h36m_measures

    raw, rows = test.raw, test.rows
    try:
        return h36m_measures({m.spec.name: (preds[m.spec.name]["joints_cam"], m.spec.joint_set) for m in models},
                             test.joints_cam, raw.subject[rows], raw.action_idx[rows], raw.subaction_idx[rows],
                             raw.cam_idx[rows], raw.frame_idx[rows])
    except (ValueError, KeyError, IndexError) as e:  # never costs the benchmark its scores
        log.warning("ground-truth-free measures skipped: %s", e)
        return None


def score_runs(cfg: BenchmarkConfig, test: TestSet, models: Sequence[LoadedModelLike],
               preds: Mapping[str, Mapping[str, np.ndarray]], rn_file: Path | None,
               roots: Mapping[str, np.ndarray] | None = None, rootnet: LoadedModelLike | None = None
               ) -> list[ModelRun]:
    from engine.inference.device import pick_device

    root_cam = roots["root_cam"] if roots is not None else test.root_cam
    root_err = mrpe(root_cam, test.gt_root) if cfg.root != "gt" else None
    root_model, root_notes = _root_notes(rootnet, root_cam) if rootnet is not None else (None, [])
    from engine.inference.conventions import PROTOCOL_MODES, conventions_for

    runs = []
    mode = PROTOCOL_MODES.lookup(cfg.protocol_mode)
    for m in models:
        spec = m.spec
        p = preds[spec.name]
        conv = conventions_for(spec, cfg.protocol_mode)
        s = score(p["joints_cam"], test.joints_cam, test.actions, protocol=cfg.protocol, pred_set=spec.joint_set,
                  image_ids=test.image_ids, model=m.label, extra_metrics=spec.extra_metrics)
        s.mrpe = root_err
        root = get_joint_set(spec.joint_set).root
        pub, pub_actions = published_for(spec, cfg.protocol, cfg.root)
        notes = [f"protocol mode {mode.kind}: {mode.description} (crop {conv.crop.kind}, pose to camera "
                 f"{conv.to_camera.kind}; docs/protocol_modes.md)", *root_notes]
        if test.dropped:
            notes.append(f"{len(test.dropped)} samples dropped: degenerate annotation boxes (as the official code)")
        if cfg.limit is not None and cfg.limit < len(test.raw):
            notes.append(f"limited to {len(test)} of {len(test.raw)} test samples, spread evenly")
        r = ModelRun(
            scores=s, name=spec.name, trained=bool(m.trained), joint_set=spec.joint_set, root=cfg.root,
            root_file=str(rn_file) if rn_file else None, flip=cfg.flip,
            checkpoint=str(m.checkpoint) if m.checkpoint else None, checkpoint_sha256=m.sha256,
            device=str(pick_device(cfg.device)), precision=cfg.precision, limit=cfg.limit,
            published=pub, published_per_action=pub_actions, notes=notes, root_model=root_model,
            protocol_mode=mode.kind, conventions=conv.names,
            predictions={
                "image_id": test.image_ids, "file_name": np.array(test.file_names(), dtype=object),
                "joints_cam": p["joints_cam"],
                "joints_rel": p["joints_cam"] - p["joints_cam"][:, [root]],
                "coords_cells": p["cells"], "root_cam": root_cam,
                "bbox": test.boxes(spec.input_hw, conv.crop.kind),
            },
        )
        if roots is not None:
            r.predictions["rootnet_output"] = roots["output"]  # (x, y 64x64 map cells, depth mm) per sample
        runs.append(r)
    gt_free = gt_free_measures(test, models, preds)
    qualifier = dataset_qualifier(test, cfg.limit)
    for r in runs:  # read by results_json / report / summary through getattr (older ModelRuns lack it)
        r.dataset = qualifier
        r.gt_free = None if gt_free is None else {"model": gt_free["models"].get(r.name), "gt": gt_free["gt"],
                                                  "conventions": gt_free["conventions"]}
    return runs
