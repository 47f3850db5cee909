"""Validation of a Human3.6M folder in the 3DMPPE layout, done before any long work.

Layout (``ROOT`` = what the user points at)::

    ROOT/annotations/Human36M_subject{S}_data.json      COCO-style {images, annotations}
    ROOT/annotations/Human36M_subject{S}_camera.json    {cam_idx: {R 3x3, t 3, f 2, c 2}}
    ROOT/annotations/Human36M_subject{S}_joint_3d.json  {action: {subaction: {frame: 17x3 world mm}}}
    ROOT/images/<sequence>/<sequence>_<frame+1:06d>.jpg
    [optional] bbox_root_human36m_output.json           RootNet boxes (already processed) and roots

``validate`` parses what the chosen protocol needs, lists every problem precisely (file, key, sample) and, when
nothing is wrong, returns the test-sample index the dataset is built from, so the big JSON files are read once.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from engine.defaults import H36M_SAMPLING
from engine.h36m.issues import DatasetError, Issue, ValidationReport, finite_array, load_json, rel_path
from engine.h36m.raw_index import RawIndex
from engine.h36m.rootnet_file import find_rootnet_file, load_rootnet_file

__all__ = [
    "ALL_SUBJECTS",
    "FPS",
    "DatasetError",
    "Issue",
    "RawIndex",
    "SAMPLING",
    "TEST_SUBJECTS",
    "ValidationReport",
    "annotation_paths",
    "find_rootnet_file",
    "load_rootnet_file",
    "validate",
]

ALL_SUBJECTS = (1, 5, 6, 7, 8, 9, 11)
TEST_SUBJECTS = {1: (11,), 2: (9, 11)}
SAMPLING = H36M_SAMPLING.step  # test frames: frame_idx % 64 == 0
FPS = H36M_SAMPLING.fps  # the videos' frame rate (frame_idx counts 50 Hz frames)
IMAGE_KEYS = ("id", "file_name", "width", "height", "subject", "action_idx", "subaction_idx", "cam_idx", "frame_idx")
_FILE_RE = re.compile(r"^(s_(\d\d)_act_(\d\d)_subact_(\d\d)_ca_(\d\d))/\1_(\d{6})\.jpg$")


def annotation_paths(root: Path, subject: int) -> dict[str, Path]:
    a = Path(root) / "annotations"
    return {kind: a / f"Human36M_subject{subject}_{kind}.json" for kind in ("data", "camera", "joint_3d")}


def _check_cameras(report: ValidationReport, rel: str, cams, needed: Iterable[int]) -> dict[int, dict]:
    out: dict[int, dict] = {}
    if not isinstance(cams, dict):
        report.add("error", rel, "", f"top level must be an object {{cam_idx: {{R,t,f,c}}}}, got {type(cams).__name__}")
        return out
    for cam in sorted(set(needed)):
        entry = cams.get(str(cam))
        if entry is None:
            report.add("error", rel, f"['{cam}']", "camera is missing (used by test images)")
            continue
        if not isinstance(entry, dict):
            report.add("error", rel, f"['{cam}']", "must be an object with R, t, f, c")
            continue
        parsed = {}
        for key, shape in (("R", (3, 3)), ("t", (3,)), ("f", (2,)), ("c", (2,))):
            if key not in entry:
                report.add("error", rel, f"['{cam}']['{key}']", "key is missing")
                continue
            arr, why = finite_array(entry[key], shape, allow_column=key != "R")
            if why:
                report.add("error", rel, f"['{cam}']['{key}']", why)
            else:
                parsed[key] = arr
        if "R" in parsed and abs(abs(np.linalg.det(parsed["R"])) - 1.0) > 1e-2:
            report.add("error", rel, f"['{cam}']['R']", f"is not a rotation (det {np.linalg.det(parsed['R']):.4f})")
            del parsed["R"]
        if len(parsed) == 4:
            out[cam] = parsed
    return out


def _test_records(report: ValidationReport, rel: str, data, subject: int, protocol: int) -> list[tuple[dict, dict]]:
    """(image, annotation) pairs of the test frames in one data file, checked key by key."""
    if not isinstance(data, dict):
        report.add("error", rel, "", "top level must be an object with 'images' and 'annotations'")
        return []
    for key in ("images", "annotations"):
        if not isinstance(data.get(key), list):
            report.add("error", rel, f"['{key}']", "key is missing or not a list")
    if not isinstance(data.get("images"), list) or not isinstance(data.get("annotations"), list):
        return []
    ann_by_image: dict = {}
    for k, ann in enumerate(data["annotations"]):
        if not isinstance(ann, dict) or "image_id" not in ann:
            report.add("error", rel, f"annotations[{k}].image_id", "key is missing", kind="annotation image_id")
            continue
        ann_by_image.setdefault(ann["image_id"], ann)
    pairs = []
    for k, img in enumerate(data["images"]):
        if not isinstance(img, dict):
            report.add("error", rel, f"images[{k}]", "must be an object", kind="image not an object")
            continue
        missing = [key for key in IMAGE_KEYS if key not in img]
        sample = str(img.get("id", img.get("file_name", f"#{k}")))
        if missing:
            report.add("error", rel, f"images[{k}].{missing[0]}", f"key(s) missing: {', '.join(missing)}",
                       sample=sample, kind="image keys missing")
            continue
        try:
            frame = int(img["frame_idx"])
            subj = int(img["subject"])
        except (TypeError, ValueError):
            report.add("error", rel, f"images[{k}].frame_idx", "subject/frame_idx must be integers", sample=sample,
                       kind="non-integer subject/frame")
            continue
        if subj not in ALL_SUBJECTS:
            report.add("error", rel, f"images[{k}].subject", f"unknown subject {subj} (known: {ALL_SUBJECTS})",
                       sample=sample, kind="unknown subject")
            continue
        if subj != subject:
            report.add("error", rel, f"images[{k}].subject", f"subject {subj} inside the file of subject {subject}",
                       sample=sample, kind="subject mismatch")
            continue
        if frame % SAMPLING != 0 or subj not in TEST_SUBJECTS[protocol]:
            continue
        ok = True
        for key, lo, hi in (("action_idx", 2, 16), ("subaction_idx", 1, 2), ("cam_idx", 1, 4)):
            v = img[key]
            if not isinstance(v, int) or not lo <= v <= hi:
                report.add("error", rel, f"images[{k}].{key}", f"{v!r} is outside {lo}..{hi}", sample=sample,
                           kind=f"bad {key}")
                ok = False
        m = _FILE_RE.match(str(img["file_name"]))
        if not m:
            report.add("error", rel, f"images[{k}].file_name",
                       f"{img['file_name']!r} does not look like s_SS_act_AA_subact_BB_ca_CC/..._FFFFFF.jpg",
                       sample=sample, kind="bad file_name")
            ok = False
        elif ok and (int(m.group(2)), int(m.group(3)), int(m.group(4)), int(m.group(5)), int(m.group(6))) != (
                subj, img["action_idx"], img["subaction_idx"], img["cam_idx"], frame + 1):
            report.add("warning", rel, f"images[{k}].file_name",
                       "file name disagrees with subject/action/subaction/camera/frame_idx+1", sample=sample,
                       kind="file_name disagrees")
        for key in ("width", "height"):
            if not isinstance(img[key], int) or img[key] <= 0:
                report.add("error", rel, f"images[{k}].{key}", f"{img[key]!r} is not a positive integer",
                           sample=sample, kind=f"bad {key}")
                ok = False
        ann = ann_by_image.get(img["id"])
        if ann is None:
            report.add("error", rel, "annotations", f"no annotation for image id {img['id']}", sample=sample,
                       kind="image without annotation")
            continue
        if "bbox" not in ann:
            report.add("error", rel, f"annotations[image_id={img['id']}].bbox", "key is missing", sample=sample,
                       kind="annotation bbox missing")
            continue
        _, why = finite_array(ann["bbox"], (4,))
        if why:
            report.add("error", rel, f"annotations[image_id={img['id']}].bbox", why, sample=sample,
                       kind="bad bbox")
            continue
        if ok:
            pairs.append((img, ann))
    return pairs


def validate(
    root: str | os.PathLike,
    protocol: int = 2,
    *,
    images: str = "exists",
    rootnet_file: str | os.PathLike | None = None,
    decode_samples: int = 3,
) -> ValidationReport:
    """Check a 3DMPPE-layout Human3.6M folder for ``protocol`` (1: S11, 2: S9+S11).

    images: "none" (annotations only, e.g. for scoring saved predictions), "exists" (every test image exists, a few
    are decoded and their size compared), "all" (every test image decoded).
    """
    root = Path(root).expanduser()
    if protocol not in TEST_SUBJECTS:
        raise ValueError(f"protocol must be 1 or 2, got {protocol!r}")
    if images not in ("none", "exists", "all"):
        raise ValueError(f"images must be none|exists|all, got {images!r}")
    report = ValidationReport(root=root, protocol=protocol)
    if not root.is_dir():
        report.add("error", str(root), "", "data folder does not exist")
        return report
    if not (root / "annotations").is_dir():
        report.add("error", "annotations/", "", "folder is missing (expected annotations/Human36M_subject*_*.json)")
        return report
    rows: list[tuple] = []
    for subject in TEST_SUBJECTS[protocol]:
        paths = annotation_paths(root, subject)
        data = load_json(report, paths["data"])
        cams = load_json(report, paths["camera"])
        joints = load_json(report, paths["joint_3d"])
        if data is None:
            continue
        rel_d, rel_c, rel_j = (rel_path(root, paths[k]) for k in ("data", "camera", "joint_3d"))
        pairs = _test_records(report, rel_d, data, subject, protocol)
        if not pairs:
            report.add("error", rel_d, "images",
                       f"no usable test frames (frame_idx % {SAMPLING} == 0) of subject {subject}")
            continue
        if cams is None or joints is None:
            continue
        cam_params = _check_cameras(report, rel_c, cams, (int(img["cam_idx"]) for img, _ in pairs))
        if not isinstance(joints, dict):
            report.add("error", rel_j, "", "top level must be an object {action: {subaction: {frame: 17x3}}}")
            continue
        for img, ann in pairs:
            a, s, fr = str(img["action_idx"]), str(img["subaction_idx"]), str(img["frame_idx"])
            key = f"['{a}']['{s}']['{fr}']"
            node = joints.get(a)
            node = node.get(s) if isinstance(node, dict) else None
            node = node.get(fr) if isinstance(node, dict) else None
            sample = f"{img['id']} {img['file_name']}"
            if node is None:
                report.add("error", rel_j, key, "key is missing", sample=sample, kind="joints missing")
                continue
            jw, why = finite_array(node, (17, 3))
            if why:
                report.add("error", rel_j, key, f"joints {why}", sample=sample, kind="bad joints")
                continue
            cam = cam_params.get(int(img["cam_idx"]))
            if cam is None:
                continue
            rows.append((img, ann, jw, cam))
        del data, cams, joints  # the full files of one subject can be hundreds of MB: free them before the next
    report.counts["test samples"] = len(rows)
    ids = [int(img["id"]) for img, *_ in rows]
    if len(set(ids)) != len(ids):
        dup = sorted(i for i, n in Counter(ids).items() if n > 1)[:5]
        report.add("error", "annotations/", "images[].id", f"duplicate image ids across subjects, e.g. {dup}")
    if not rows:
        if not report.errors:
            report.add("error", "annotations/", "", "no usable test samples")
        return report
    # go on with the usable samples even after annotation errors, so one report lists every problem
    index = RawIndex(
        root=root, protocol=protocol,
        image_id=np.array(ids, dtype=np.int64),
        file_name=[str(img["file_name"]) for img, *_ in rows],
        subject=np.array([img["subject"] for img, *_ in rows], dtype=np.int64),
        action_idx=np.array([img["action_idx"] for img, *_ in rows], dtype=np.int64),
        subaction_idx=np.array([img["subaction_idx"] for img, *_ in rows], dtype=np.int64),
        cam_idx=np.array([img["cam_idx"] for img, *_ in rows], dtype=np.int64),
        frame_idx=np.array([img["frame_idx"] for img, *_ in rows], dtype=np.int64),
        width=np.array([img["width"] for img, *_ in rows], dtype=np.int64),
        height=np.array([img["height"] for img, *_ in rows], dtype=np.int64),
        bbox=np.array([ann["bbox"] for _, ann, *_ in rows], dtype=np.float64),
        joints_world=np.stack([jw for *_, jw, _ in rows]).astype(np.float32),
        R=np.stack([cam["R"] for *_, cam in rows]).astype(np.float32),
        t=np.stack([cam["t"] for *_, cam in rows]).astype(np.float32).reshape(-1, 3),
        f=np.stack([cam["f"] for *_, cam in rows]).astype(np.float32),
        c=np.stack([cam["c"] for *_, cam in rows]).astype(np.float32),
    )
    order = np.argsort(index.image_id, kind="stable")
    index = _reorder(index, order)
    if images != "none":
        _check_images(report, index, decode_all=images == "all", decode_samples=decode_samples)
    if rootnet_file is not None:
        load_rootnet_file(rootnet_file, index.image_id, report=report)
    if report.ok:
        report.index = index
    return report


def _reorder(ix: RawIndex, order: np.ndarray) -> RawIndex:
    kw = {}
    for name in RawIndex.__dataclass_fields__:
        v = getattr(ix, name)
        if isinstance(v, np.ndarray):
            kw[name] = v[order]
        elif isinstance(v, list):
            kw[name] = [v[i] for i in order]
        else:
            kw[name] = v
    return RawIndex(**kw)


def _check_images(report: ValidationReport, ix: RawIndex, *, decode_all: bool, decode_samples: int) -> None:
    from engine.live.image_source import read_image  # a cut-off JPEG is reported, not decoded with grey fill

    n = len(ix)
    missing = 0
    for i in range(n):
        p = ix.image_path(i)
        if not p.is_file():
            missing += 1
            report.add("error", rel_path(ix.root, p), "", "image file is missing", sample=str(ix.image_id[i]),
                       kind="image missing")
    report.counts["images checked for existence"] = n
    if missing == n:
        return
    pick = range(n) if decode_all else np.unique(np.linspace(0, n - 1, min(decode_samples, n)).astype(int))
    decoded = 0
    for i in pick:
        p = ix.image_path(int(i))
        if not p.is_file():
            continue
        img, why = read_image(p)
        decoded += 1
        if img is None:
            report.add("error", rel_path(ix.root, p), "", f"image cannot be decoded: {why}",
                       sample=str(ix.image_id[i]),
                       kind="image undecodable")
        elif img.shape[:2] != (ix.height[i], ix.width[i]):
            report.add("error", rel_path(ix.root, p), "",
                       f"image is {img.shape[1]}x{img.shape[0]}, annotation says {ix.width[i]}x{ix.height[i]}",
                       sample=str(ix.image_id[i]), kind="image size")
    report.counts["images decoded"] = decoded


