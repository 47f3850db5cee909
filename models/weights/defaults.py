"""The files the default live view needs: YOLO detector weights (fetched by ultralytics into
``<weights dir>/detectors``) and the default download set (the lightest official pose model, the live RootNet, YOLO),
fetched one by one so that a failure does not stop the others. Model downloads: models/weights/download.py.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from models.checkpoint import CheckpointError, sha256_file
from models.errors import first_line
from models.spec import all_specs
from models.weights.download import (
    DownloadCancelled,
    NoNetworkError,
    Progress,
    download,
    downloadable,
    is_offline,
)
from models.weights.store import WeightsError, find_entry, find_weights, resolve_weights_dir

__all__ = [
    "DefaultItem",
    "DefaultResult",
    "default_download_plan",
    "download_defaults",
    "download_detector",
    "downloadable",
    "lightest_downloadable_pose_model",
]

DETECTORS_DIR = "detectors"  # YOLO weights live in <weights dir>/detectors (engine/live/detector.py looks there)


# ---------------------------------------------------------------------------------------------------- detector


def detector_path(name: str, weights_dir: str | Path | None = None) -> Path:
    """Where ``weights download --defaults`` stores a YOLO file: ``<weights dir>/detectors/<name>``."""
    return resolve_weights_dir(weights_dir) / DETECTORS_DIR / name


def _fetch_yolo(name: str, staged: Path) -> Path:
    """Let ultralytics download its own release asset ``name`` to ``staged`` (or find it in its settings dir)."""
    try:
        from ultralytics.utils.downloads import attempt_download_asset
    except ImportError:
        raise WeightsError(f"{name}: YOLO weights need the ultralytics package (pip install ultralytics)") from None
    try:
        got = Path(attempt_download_asset(str(staged)))
    except Exception as e:  # ultralytics raises its own errors for network problems
        if is_offline(e):
            raise NoNetworkError(name, "https://github.com/ultralytics/assets") from None
        raise WeightsError(f"{name}: ultralytics could not download it ({first_line(e)})") from None
    if not got.is_file():
        raise WeightsError(f"{name}: ultralytics could not download it (no network, or no such release asset)")
    return got


def _check_yolo(path: Path) -> None:
    """The file loads as a YOLO model (ultralytics.YOLO)."""
    try:
        from ultralytics import YOLO

        YOLO(str(path))
    except Exception as e:
        raise WeightsError(f"{path.name}: the downloaded file does not load as a YOLO model ({first_line(e)})") \
            from None


def download_detector(name: str, weights_dir: str | Path | None = None, progress: Progress | None = None,
                      cancel: threading.Event | None = None) -> Path:
    """YOLO weights ``name`` (e.g. yolo11n.pt), downloaded by ultralytics into ``<weights dir>/detectors/``, where
    the live detector looks for them. An existing file is kept. Checked by loading it before it is moved in."""
    dest = detector_path(name, weights_dir)
    if dest.is_file():
        return dest
    if cancel is not None and cancel.is_set():
        raise DownloadCancelled(f"{name}: download cancelled")
    stage_dir = dest.parent / ".download"
    stage_dir.mkdir(parents=True, exist_ok=True)
    staged = stage_dir / name
    if progress:
        progress(0, None)
    try:
        got = _fetch_yolo(name, staged)
        if got != staged:  # ultralytics had it already (its weights_dir): copy it in
            shutil.copyfile(got, staged)
        _check_yolo(staged)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    size = staged.stat().st_size
    os.replace(staged, dest)
    shutil.rmtree(stage_dir, ignore_errors=True)
    if progress:
        progress(size, size)
    return dest


# ---------------------------------------------------------------------------------------------------- defaults


@dataclass(frozen=True)
class DefaultItem:
    """One file the default live view needs: a registry model's checkpoint or a YOLO detector file."""

    kind: str  # "model" | "detector"
    name: str
    why: str = ""


@dataclass(frozen=True)
class DefaultResult:
    item: DefaultItem
    status: str  # downloaded | present | failed | cancelled | skipped
    detail: str = ""  # the file, or the error (in the CLI's words)
    sha256: str = ""
    error: Exception | None = None  # the failure itself, for an interface that words it its own way

    @property
    def ok(self) -> bool:
        return self.status in ("downloaded", "present")


def lightest_downloadable_pose_model() -> str:
    """The official pose model with a published download and the fewest GMACs (convnextpose-xs today)."""
    pose = [s for s in all_specs() if s.official and s.joint_set != "root" and downloadable(s)]
    if not pose:
        raise WeightsError("no official pose model has a published download")
    return min(pose, key=lambda s: (s.gmacs if s.gmacs is not None else float("inf"), s.name)).name


def default_download_plan(rootnet: str, detector: str) -> list[DefaultItem]:
    """What the default live view needs online: the lightest official pose model, the live RootNet and YOLO's
    default weights (the bundled BlazePose model needs no download). Callers pass the engine's defaults
    (engine.defaults.ROOT.rootnet, engine.live.detector.DEFAULT_YOLO[0]); models/ does not import engine/."""
    return [DefaultItem("model", lightest_downloadable_pose_model(), "lightest official pose model"),
            DefaultItem("model", rootnet, "live RootNet (absolute depth)"),
            DefaultItem("detector", detector, "YOLO person detector")]


def download_defaults(plan: Iterable[DefaultItem], weights_dir: str | Path | None = None,
                      progress: Callable[[DefaultItem], Progress | None] | None = None,
                      cancel: threading.Event | None = None,
                      on_result: Callable[[DefaultResult], None] | None = None,
                      warn: Callable[[str], None] | None = None) -> list[DefaultResult]:
    """Download every item of ``plan`` that is not installed yet; a failure does not stop the others, a cancel
    stops them all (the partial file is kept). ``progress(item)`` gives that file's progress callback."""
    results: list[DefaultResult] = []
    for item in plan:
        if cancel is not None and cancel.is_set():
            res = DefaultResult(item, "skipped", "cancelled before it started")
        else:
            res = _download_one(item, weights_dir, progress(item) if progress else None, cancel, warn)
        results.append(res)
        if on_result is not None:
            on_result(res)
    return results


def _download_one(item: DefaultItem, weights_dir: str | Path | None, progress: Progress | None,
                  cancel: threading.Event | None, warn: Callable[[str], None] | None) -> DefaultResult:
    try:
        if item.kind == "detector":
            existed = detector_path(item.name, weights_dir).is_file()
            path = download_detector(item.name, weights_dir, progress, cancel)
            return DefaultResult(item, "present" if existed else "downloaded", str(path), sha256_file(path))
        if item.kind != "model":
            raise WeightsError(f"{item.name}: unknown kind {item.kind!r}")
        d = resolve_weights_dir(weights_dir)
        have = find_weights(item.name, d)
        if have is not None:
            entry = find_entry(item.name, d)
            return DefaultResult(item, "present", str(have), entry.sha256 if entry else "")
        entry = download(item.name, d, progress=progress, cancel=cancel, warn=warn)
        return DefaultResult(item, "downloaded", str(d / entry.file), entry.sha256)
    except DownloadCancelled as e:
        return DefaultResult(item, "cancelled", str(e))
    except (WeightsError, CheckpointError, KeyError, OSError, ValueError) as e:
        return DefaultResult(item, "failed", str(e).strip("'\""), error=e)
