"""Scoring predictions made elsewhere: the official 3DMPPE output JSON or a PoseArena predictions.h5.

3DMPPE's ``bbox_root_pose_human36m_output.json`` is a list of {image_id, joint_cam (17x3, root-relative mm; after
rigid alignment for Protocol 1), bbox, root_cam}; the benchmark writes the same layout for each model
(``engine.h36m.official_json``: 18 or 21 joints, unaligned), and scoring it here gives the run's own numbers.
PoseArena's predictions.h5 holds absolute camera joints of the
model's own joint set. Both are matched to the ground truth by image id; samples without a prediction are reported.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from engine.h36m.dataset import test_set_from_raw
from engine.h36m.exports import (
    ModelRun,
    published_for,
    read_predictions_h5,
    safe_name,
    write_model_files,
    write_run_files,
)
from engine.h36m.layout import DatasetError, validate
from engine.h36m.metrics import mrpe, score
from engine.h36m.outputs import staged_outputs
from models.errors import PoseArenaError

__all__ = ["ExternalPredictions", "OutputExistsError", "PredictionsError", "evaluate_file", "read_predictions"]

RUN_FILE = "run.json"  # a benchmark run's record (engine.h36m.run.runner.RUN_FILE)

_SET_BY_JOINTS = {17: "h36m17", 18: "h36m18", 21: "muco21"}


class PredictionsError(PoseArenaError):
    """A predictions file is missing or malformed; the message names the file, entry and key."""


class OutputExistsError(PoseArenaError):
    """``--out`` already holds results (a benchmark run's or an earlier evaluation's); replaced only when asked."""


def _check_out(out: Path, overwrite: bool) -> None:
    """Refuse to write over finished results unless ``overwrite``; a benchmark folder's ``run.json`` would go on
    describing the benchmark over the evaluation's numbers, so with ``overwrite`` it is removed."""
    run, results = out / RUN_FILE, out / "results.json"
    if not overwrite:
        if run.exists():
            raise OutputExistsError(f"{out} holds a benchmark run ({run}); evaluating into it would replace its "
                                    f"results: choose another output folder, or allow overwriting (--overwrite)")
        if results.exists():
            raise OutputExistsError(f"{out} already holds results ({results}); choose another output folder, or "
                                    f"allow overwriting (--overwrite)")
    run.unlink(missing_ok=True)


@dataclass
class ExternalPredictions:
    path: Path
    kind: str  # "3dmppe-json" | "posearena-h5"
    image_id: np.ndarray  # [N]
    joints: np.ndarray  # [N,J,3] camera mm (absolute or root-relative)
    joint_set: str
    root_cam: np.ndarray | None = None  # [N,3]
    attrs: dict[str, Any] = field(default_factory=dict)


def _read_json(path: Path) -> ExternalPredictions:
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PredictionsError(f"{path}: cannot be read as JSON ({exc})") from None
    if not isinstance(entries, list) or not entries:
        raise PredictionsError(f"{path}: expected a non-empty list of {{image_id, joint_cam}} entries")
    ids, joints, roots = [], [], []
    n_joints = None
    for k, e in enumerate(entries):
        if not isinstance(e, dict):
            raise PredictionsError(f"{path}: entry [{k}] is not an object")
        for key in ("image_id", "joint_cam"):
            if key not in e:
                raise PredictionsError(f"{path}: entry [{k}] has no {key!r}")
        try:
            j = np.asarray(e["joint_cam"], dtype=np.float64)
        except (TypeError, ValueError):
            raise PredictionsError(f"{path}: entry [{k}] (image {e['image_id']}) joint_cam is not numeric") from None
        if j.ndim != 2 or j.shape[1] != 3 or j.shape[0] not in _SET_BY_JOINTS:
            raise PredictionsError(f"{path}: entry [{k}] (image {e['image_id']}) joint_cam has shape {list(j.shape)}, "
                                   f"expected 17x3 (or 18x3 / 21x3)")
        if n_joints is None:
            n_joints = j.shape[0]
        elif j.shape[0] != n_joints:
            raise PredictionsError(f"{path}: entry [{k}] has {j.shape[0]} joints, earlier entries {n_joints}")
        if not np.isfinite(j).all():
            raise PredictionsError(f"{path}: entry [{k}] (image {e['image_id']}) joint_cam contains NaN/inf")
        ids.append(int(e["image_id"]))
        joints.append(j)
        if roots is not None and "root_cam" in e:
            roots.append(np.asarray(e["root_cam"], dtype=np.float64).reshape(3))
        else:
            roots = None
    return ExternalPredictions(path, "3dmppe-json", np.array(ids, dtype=np.int64), np.stack(joints),
                               _SET_BY_JOINTS[n_joints], np.stack(roots) if roots else None)


def read_predictions(path: str | os.PathLike) -> ExternalPredictions:
    """Read either format (by content: HDF5 signature or JSON)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise PredictionsError(f"{path}: predictions file does not exist")
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head.startswith(b"\x89HDF"):
        try:
            d = read_predictions_h5(path)
        except ValueError as exc:
            raise PredictionsError(str(exc)) from None
        joints = np.asarray(d["joints_cam"], dtype=np.float64)
        attrs = {k: v for k, v in d.items() if not isinstance(v, np.ndarray)}
        return ExternalPredictions(path, "posearena-h5", np.asarray(d["image_id"], dtype=np.int64), joints,
                                   str(d.get("joint_set", "h36m18")),
                                   np.asarray(d["root_cam"], dtype=np.float64) if "root_cam" in d else None, attrs)
    return _read_json(path)


def evaluate_file(data_dir: str | os.PathLike, protocol: int, predictions: str | os.PathLike,
                  out_dir: str | os.PathLike, *, model: str | None = None, root: str | None = None,
                  overwrite: bool = False) -> tuple[ModelRun, dict[str, Path], list[str]]:
    """Score a predictions file on ``protocol``'s test set; write the usual outputs. Returns (run, files, notes).

    ``model`` names a registered model for the published comparison (default: the file's own model attribute).
    ``root`` ("gt"|"rootnet") says which published row to compare with (default: inferred from the roots).
    Finished results in ``out_dir`` are replaced only with ``overwrite``; the files appear together or not at all.
    """
    from models.spec import get_spec

    pred = read_predictions(predictions)
    report = validate(data_dir, protocol, images="none")
    report.raise_if_errors()
    assert report.index is not None
    test = test_set_from_raw(report.index, "gt", drop_degenerate=False)
    pos = {int(i): k for k, i in enumerate(test.image_ids)}
    if len(np.unique(pred.image_id)) != len(pred.image_id):
        raise PredictionsError(f"{pred.path}: some image ids appear more than once")
    rows = np.array([pos.get(int(i), -1) for i in pred.image_id])
    use = rows >= 0
    if not use.any():
        raise DatasetError(f"{pred.path}: none of its {len(rows)} image ids is in the "
                           f"Protocol {protocol} test set of {data_dir}; wrong protocol or annotations?")
    notes = []
    if (~use).any():
        notes.append(f"{int((~use).sum())} predictions are not in the Protocol {protocol} test set and were ignored")
    if use.sum() < len(test):
        notes.append(f"only {int(use.sum())} of {len(test)} test samples have a prediction; scored those")
    r = rows[use]
    joints = pred.joints[use]
    gt = test.joints_cam[r]
    s = score(joints, gt, test.actions[r], protocol=protocol, pred_set=pred.joint_set,
              image_ids=test.image_ids[r], model=str(model or pred.attrs.get("model") or pred.path.stem))
    if pred.kind == "3dmppe-json" and protocol == 1:
        notes.append("the official 3DMPPE code saves Protocol 1 predictions after rigid alignment, so for its files "
                     "the MPJPE column is not a plain MPJPE (PoseArena's own bbox_root_pose_human36m_output.json is "
                     "unaligned: every column is right)")
    root_source = root
    if pred.root_cam is not None:
        gt_root = test.gt_root[r]
        differs = bool(np.abs(pred.root_cam[use] - gt_root).max() > 1e-3)
        root_source = root_source or ("rootnet" if differs else "gt")
        if differs:
            s.mrpe = mrpe(pred.root_cam[use], gt_root)
    root_source = root_source or str(pred.attrs.get("root") or "gt")
    name = str(model or pred.attrs.get("model") or pred.path.stem)
    spec = None
    try:
        spec = get_spec(name)
    except KeyError:
        pass
    pub, pub_actions = published_for(spec, protocol, root_source) if spec is not None else (None, None)
    trained = bool(pred.attrs.get("trained", True))
    flip_attr = pred.attrs.get("flip")
    run = ModelRun(
        scores=s, name=name, trained=trained, joint_set=pred.joint_set, root=root_source,
        flip=None if flip_attr in (None, "") else str(flip_attr) == "True",
        checkpoint_sha256=str(pred.attrs.get("checkpoint_sha256") or "") or None,
        source=f"evaluate:{pred.path}", published=pub, published_per_action=pub_actions, notes=notes,
    )
    out = Path(out_dir)
    _check_out(out, overwrite)
    with staged_outputs(out, last=("results.json",)) as stage:
        staged = {f"{safe_name(name)}/{k}": v for k, v in write_model_files(stage, run).items()}
        staged.update(write_run_files(stage, [run], title=f"Human3.6M evaluation of {pred.path.name}"))
    files = {k: out / Path(v).relative_to(stage) for k, v in staged.items()}
    return run, files, notes
