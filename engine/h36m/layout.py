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

import json
import os
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from assets import asset_path

__all__ = [
    "ALL_SUBJECTS",
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
SAMPLING = 64  # test frames: frame_idx % 64 == 0
IMAGE_KEYS = ("id", "file_name", "width", "height", "subject", "action_idx", "subaction_idx", "cam_idx", "frame_idx")
_FILE_RE = re.compile(r"^(s_(\d\d)_act_(\d\d)_subact_(\d\d)_ca_(\d\d))/\1_(\d{6})\.jpg$")
_MAX_PER_KIND = 20  # issues listed per (file, key kind) before they are only counted


class DatasetError(Exception):
    """The data set folder or a file in it is missing or malformed; the message lists what and where."""


@dataclass(frozen=True)
class Issue:
    severity: str  # "error" | "warning"
    file: str  # path relative to the data root where possible
    key: str  # JSON key path, e.g. "images[12].frame_idx" or "['5']['1']['128']"
    message: str
    sample: str | None = None  # image id / file name the problem affects

    def __str__(self) -> str:
        where = f"{self.file}" + (f" {self.key}" if self.key else "")
        who = f" (sample {self.sample})" if self.sample else ""
        return f"{self.severity.upper()}: {where}: {self.message}{who}"


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


@dataclass
class ValidationReport:
    root: Path
    protocol: int
    issues: list[Issue] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # what was checked
    index: RawIndex | None = None  # set when the annotations parsed without errors
    _listed: dict[tuple[str, str, str], int] = field(default_factory=dict, repr=False)
    _more: dict[tuple[str, str, str], int] = field(default_factory=dict, repr=False)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors  # an issue is only ever counted-not-listed after others of its kind were listed

    def add(self, severity: str, file: str, key: str, message: str, sample: str | None = None,
            kind: str | None = None) -> None:
        """Record an issue; beyond _MAX_PER_KIND of one (severity, file, kind) they are only counted."""
        k = (severity, file, kind or message)
        n = self._listed.get(k, 0)
        if n >= _MAX_PER_KIND:
            self._more[k] = self._more.get(k, 0) + 1
            return
        self._listed[k] = n + 1
        self.issues.append(Issue(severity, file, key, message, sample))

    def format(self, max_lines: int = 60) -> str:
        """Readable multi-line text: a header, each issue on its own line, counts of the rest."""
        n_err = len(self.errors) + sum(v for k, v in self._more.items() if k[0] == "error")
        n_warn = len(self.warnings) + sum(v for k, v in self._more.items() if k[0] == "warning")
        head = f"Human3.6M data at {self.root} (Protocol {self.protocol}): {n_err} error(s), {n_warn} warning(s)"
        if self.counts:
            head += "; checked " + ", ".join(f"{v} {k}" for k, v in self.counts.items())
        ordered = self.errors + self.warnings
        lines = [head] + [f"  {i}" for i in ordered[:max_lines]]
        if len(ordered) > max_lines:
            lines.append(f"  ... and {len(ordered) - max_lines} more listed issues")
        for (sev, file, kind), n in self._more.items():
            lines.append(f"  ... {n} more {sev}(s) like '{kind}' in {file}")
        return "\n".join(lines)

    def raise_if_errors(self) -> None:
        if not self.ok:
            raise DatasetError(self.format())


def annotation_paths(root: Path, subject: int) -> dict[str, Path]:
    a = Path(root) / "annotations"
    return {kind: a / f"Human36M_subject{subject}_{kind}.json" for kind in ("data", "camera", "joint_3d")}


def _rel(root: Path, p: Path) -> str:
    try:
        return str(Path(p).relative_to(root))
    except ValueError:
        return str(p)


def _finite_array(value, shape: tuple[int, ...], allow_column: bool = False) -> tuple[np.ndarray | None, str | None]:
    """Array of the given shape with finite values, or (None, what is wrong).

    ``allow_column``: a vector may also come as a column or row ([[a], [b]] or [[a, b]]), as some exports store it.
    """
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None, f"is not a numeric array of shape {list(shape)}"
    if allow_column and len(shape) == 1 and arr.ndim == 2 and 1 in arr.shape and arr.size == shape[0]:
        arr = arr.reshape(shape)
    if arr.shape != shape:
        return None, f"has shape {list(arr.shape)}, expected {list(shape)}"
    if not np.isfinite(arr).all():
        return None, "contains NaN or infinite values"
    return arr, None


def _load_json(report: ValidationReport, path: Path):
    rel = _rel(report.root, path)
    if not path.is_file():
        report.add("error", rel, "", "file is missing")
        return None
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        report.add("error", rel, "", f"cannot be read as JSON: {exc}")
        return None


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
            arr, why = _finite_array(entry[key], shape, allow_column=key != "R")
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
        _, why = _finite_array(ann["bbox"], (4,))
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
        data = _load_json(report, paths["data"])
        cams = _load_json(report, paths["camera"])
        joints = _load_json(report, paths["joint_3d"])
        if data is None:
            continue
        rel_d, rel_c, rel_j = (_rel(root, paths[k]) for k in ("data", "camera", "joint_3d"))
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
            jw, why = _finite_array(node, (17, 3))
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
    import cv2

    n = len(ix)
    missing = 0
    for i in range(n):
        p = ix.image_path(i)
        if not p.is_file():
            missing += 1
            report.add("error", _rel(ix.root, p), "", "image file is missing", sample=str(ix.image_id[i]),
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
        img = cv2.imread(str(p), cv2.IMREAD_COLOR)
        decoded += 1
        if img is None:
            report.add("error", _rel(ix.root, p), "", "image cannot be decoded", sample=str(ix.image_id[i]),
                       kind="image undecodable")
        elif img.shape[:2] != (ix.height[i], ix.width[i]):
            report.add("error", _rel(ix.root, p), "",
                       f"image is {img.shape[1]}x{img.shape[0]}, annotation says {ix.width[i]}x{ix.height[i]}",
                       sample=str(ix.image_id[i]), kind="image size")
    report.counts["images decoded"] = decoded


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
    entries = _load_json(rep, path)
    by_id: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    if entries is not None and not isinstance(entries, list):
        rep.add("error", rel, "", "must be a list of {image_id, bbox, root_cam}")
        entries = None
    for k, e in enumerate(entries or []):
        if not isinstance(e, dict) or any(key not in e for key in ("image_id", "bbox", "root_cam")):
            miss = [key for key in ("image_id", "bbox", "root_cam") if not isinstance(e, dict) or key not in e]
            rep.add("error", rel, f"[{k}].{miss[0]}", f"key(s) missing: {', '.join(miss)}", kind="entry keys missing")
            continue
        bbox, why_b = _finite_array(e["bbox"], (4,))
        root, why_r = _finite_array(e["root_cam"], (3,))
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

