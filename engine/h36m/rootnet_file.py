"""RootNet's published result file (``bbox_root_human36m_output.json``: processed boxes and camera-space roots per
test image): finding it (in the data folder, else the copy shipped with the app) and loading it, checked entry by
entry."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from assets import asset_path
from engine.h36m.issues import ValidationReport, finite_array, load_json

__all__ = ["find_rootnet_file", "load_rootnet_file"]


def find_rootnet_file(root: str | os.PathLike, protocol: int) -> Path | None:
    """The RootNet result file for a data folder: inside the folder if present, else the copy shipped with the app."""
    root = Path(root)
    for cand in (root / "bbox_root" / "bbox_root_human36m_output.json", root / "bbox_root_human36m_output.json"):
        if cand.is_file():
            return cand
    assets = asset_path("rootnet_h36m")
    shipped = assets / ("protocol1_S11_bbox_root_human36m_output.json" if protocol == 1
                        else "protocol2_S9_S11_bbox_root_human36m_output.json")
    return shipped if shipped.is_file() else None


def load_rootnet_file(path: str | os.PathLike, image_ids: np.ndarray | None = None, *,
                      report: ValidationReport | None = None) -> tuple[np.ndarray, np.ndarray]:
    """RootNet boxes [N,4] (already processed) and roots [N,3] in ``image_ids`` order.

    Problems go to ``report`` when given (arrays are then empty on error), else raise DatasetError.
    """
    own = report is None
    rep = report or ValidationReport(root=Path(path).parent, protocol=0)
    path = Path(path)
    rel = str(path)
    entries = load_json(rep, path)
    by_id: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    if entries is not None and not isinstance(entries, list):
        rep.add("error", rel, "", "must be a list of {image_id, bbox, root_cam}")
        entries = None
    for k, e in enumerate(entries or []):
        if not isinstance(e, dict) or any(key not in e for key in ("image_id", "bbox", "root_cam")):
            miss = [key for key in ("image_id", "bbox", "root_cam") if not isinstance(e, dict) or key not in e]
            rep.add("error", rel, f"[{k}].{miss[0]}", f"key(s) missing: {', '.join(miss)}", kind="entry keys missing")
            continue
        bbox, why_b = finite_array(e["bbox"], (4,))
        root, why_r = finite_array(e["root_cam"], (3,))
        if why_b or why_r:
            key, why = ("bbox", why_b) if why_b else ("root_cam", why_r)
            rep.add("error", rel, f"[{k}].{key}", why, sample=str(e["image_id"]), kind=f"bad {key}")
            continue
        if bbox[2] <= 0 or bbox[3] <= 0:
            rep.add("error", rel, f"[{k}].bbox", "width/height must be positive", sample=str(e["image_id"]),
                    kind="empty bbox")
            continue
        by_id[int(e["image_id"])] = (bbox, root)
    if image_ids is None:
        image_ids = np.array(sorted(by_id), dtype=np.int64)
    if entries is not None:
        missing = [int(i) for i in image_ids if int(i) not in by_id]
        if missing:
            rep.add("error", rel, "image_id",
                    f"{len(missing)} of {len(image_ids)} test images have no RootNet entry (e.g. ids {missing[:5]}); "
                    "is it the file for this protocol and these annotations?")
        extra = len(set(by_id) - {int(i) for i in image_ids})
        if extra:
            rep.add("warning", rel, "image_id", f"{extra} entries are not in the test set and are ignored")
        rep.counts["RootNet entries"] = len(by_id)
    if own:
        rep.raise_if_errors()
    if not rep.ok:
        return np.zeros((0, 4)), np.zeros((0, 3))
    boxes = np.stack([by_id[int(i)][0] for i in image_ids]) if len(image_ids) else np.zeros((0, 4))
    roots = np.stack([by_id[int(i)][1] for i in image_ids]) if len(image_ids) else np.zeros((0, 3))
    return boxes, roots
