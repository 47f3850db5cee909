"""predictions.h5: one model's per-sample predictions (image ids, camera-space joints, roots, boxes, ...) with the
attributes that say what produced them; written in memory and then in one atomic write."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import numpy as np

from engine.h36m.model_run import ModelRun
from engine.h36m.outputs import atomic_write_bytes

__all__ = ["PREDICTIONS_SCHEMA", "read_predictions_h5", "write_predictions_h5"]

PREDICTIONS_SCHEMA = "posearena.h36m.predictions/1"


def write_predictions_h5(path: Path, run: ModelRun) -> None:
    import h5py

    p = run.predictions
    # Built in memory, then written with one plain write: when the disk fills up, HDF5 failing inside its own close
    # prints "Exception ignored" tracebacks and can crash the interpreter at exit; a plain write just raises OSError.
    buf = io.BytesIO()
    with h5py.File(buf, "w") as h:
        for key, arr in p.items():
            a = np.asarray(arr)
            if a.dtype.kind in "UO":
                h.create_dataset(key, data=np.array([str(v) for v in a], dtype=h5py.string_dtype()))
            else:
                h.create_dataset(key, data=a, compression="gzip", compression_opts=4)
        h.attrs["schema"] = PREDICTIONS_SCHEMA
        h.attrs["model"] = run.name
        h.attrs["label"] = run.label
        h.attrs["trained"] = bool(run.trained)
        h.attrs["joint_set"] = run.joint_set
        h.attrs["protocol"] = int(run.scores.protocol)
        h.attrs["root"] = run.root
        if run.root_model:
            h.attrs["root_model"] = str(run.root_model.get("label", ""))
            h.attrs["root_model_trained"] = bool(run.root_model.get("trained", True))
        h.attrs["flip"] = "" if run.flip is None else str(bool(run.flip))
        h.attrs["checkpoint_sha256"] = run.checkpoint_sha256 or ""
        h.attrs["units"] = "camera mm; joints_cam absolute, joints_rel root-relative"
    atomic_write_bytes(path, buf.getbuffer())


def read_predictions_h5(path: str | os.PathLike) -> dict[str, Any]:
    """{image_id, joints_cam, joint_set, root_cam?, model, root, ...} from a PoseArena predictions.h5."""
    import h5py

    path = Path(path)
    try:
        with h5py.File(path, "r") as h:
            if h.attrs.get("schema") != PREDICTIONS_SCHEMA:
                raise ValueError(f"{path}: not a PoseArena predictions file (schema {h.attrs.get('schema')!r})")
            for key in ("image_id", "joints_cam"):
                if key not in h:
                    raise ValueError(f"{path}: dataset {key!r} is missing")
            out = {k: h[k][()] for k in h.keys()}
            out.update({k: (v.decode() if isinstance(v, bytes) else v) for k, v in h.attrs.items()})
    except OSError as exc:
        raise ValueError(f"{path}: cannot be read as HDF5 ({exc})") from None
    return out
