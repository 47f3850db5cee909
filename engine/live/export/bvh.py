"""BVH export of a live recording (``--format bvh``): one person of one model as an animated rigid skeleton for
Blender, MotionBuilder, Unity and other animation tools.

- Skeleton: Human3.6M-17 joints rooted at the pelvis (``bvh_solver``), each bone the track's median length, T rest
  pose. Models with another joint set are mapped to it first (``models.joint_mapping``).
- Axes: Y up, the camera's (x right, y down, z forward) turned 180 degrees about x: (X, Y, Z) = (x, -y, -z), as the
  TRC/C3D exports; a person facing the camera faces +Z, their left is +X. Units: centimetres (``units``: cm, m or
  mm). Channels: root ``Xposition Yposition Zposition Zrotation Xrotation Yrotation``, other joints
  ``Zrotation Xrotation Yrotation`` (degrees, R = Rz Rx Ry).
- Time: the frame time is the median step of the recording's clock (``Recording.times``); recorded frames are placed
  on that grid by their time, so a live source that dropped frames keeps its real speed.
- Gaps: the clip runs from the first to the last grid slot where the person has all 17 joints; a slot without them
  (the person missing, a joint missing, a dropped frame) holds the last complete pose. No motion is made up; the
  held slots are counted in ``BvhResult`` and printed by the CLI.

BVH has no comment syntax that the common readers accept (Blender and bvhio want ``HIERARCHY`` on the first line and
read every line after ``Frame Time`` as a frame), so units and axes are stated here and in docs/outputs.md, not in
the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.live.export.bvh_solver import (
    BONE_NAMES,
    CHILDREN,
    PARENTS,
    euler_zxy_deg,
    fit_skeleton,
    local_rotations,
    solve_rotations,
)
from engine.live.export.mocap import (
    ExportError,
    _select,
    _write_atomic,
    dominant_track,
    register_exporter,
    to_opensim_axes,
)
from engine.live.recording.reader import Recording, load_recording

__all__ = ["BVH_UNITS", "BvhResult", "bvh_track", "export_bvh", "resample_on_grid"]

BVH_UNITS = {"cm": 0.1, "m": 0.001, "mm": 1.0}  # per camera mm
# End Site of each leaf joint in its own rest frame, in mm (a foot forward, a hand and the head top continuing)
_END_SITES_MM = {"R_Ankle": (0.0, 0.0, 100.0), "L_Ankle": (0.0, 0.0, 100.0), "L_Wrist": (80.0, 0.0, 0.0),
                 "R_Wrist": (-80.0, 0.0, 0.0), "Head": (0.0, 100.0, 0.0)}


@dataclass(frozen=True)
class BvhResult:
    path: Path
    model: str
    track: int
    frames: int
    frame_time: float
    held: int  # grid slots that hold the previous pose (person or joints missing there)
    units: str


def _h36m17(rec: Recording, model: str, kind: str) -> tuple[np.ndarray, str]:
    """[N,M,17,3] camera-mm joints in the solver's order (mapped from another joint set when needed)."""
    _, data, _ = _select(rec, model, kind, "joints_cam_mm")
    js = rec.models[model].joint_set
    if js != "h36m18":
        from models.joint_mapping import to_joint_set

        try:
            data = to_joint_set(data, js, "h36m18")
        except (KeyError, ValueError) as e:
            raise ExportError(f"{rec.path}: model {model}'s joints ({js}) cannot be mapped to the BVH skeleton "
                              f"({e})") from None
    return data[..., :len(BONE_NAMES), :], js


def _person(rec: Recording, data: np.ndarray, track: int | None) -> tuple[int, np.ndarray]:
    """(track id, [N,17,3] that person's joints, NaN where absent). Untracked recordings (every id -1) take the first
    person of each frame."""
    ids = [int(rec.track_ids[i, p]) for i in range(len(rec)) for p in range(int(rec.num_persons[i]))]
    if not ids:
        raise ExportError(f"{rec.path}: no person was recorded")
    if track is None:
        track = dominant_track(rec) if any(i >= 0 for i in ids) else -1
    pts = np.full((len(rec), *data.shape[2:]), np.nan)
    for i in range(len(rec)):
        hits = [p for p in range(int(rec.num_persons[i])) if int(rec.track_ids[i, p]) == track]
        if hits:
            pts[i] = data[i, hits[0]]
    if not np.isfinite(pts).all(axis=(1, 2)).any():
        raise ExportError(f"{rec.path}: track {track} never has all {len(BONE_NAMES)} joints")
    return track, pts


def resample_on_grid(times: np.ndarray, pts: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
    """Place frames [N,...] on a regular grid of the median step: (slots [K,...], step s, held [K] bool). A slot
    takes the last complete frame whose time rounds to it; empty slots hold the previous slot; the grid spans the
    first to the last complete frame."""
    ok = np.isfinite(pts).all(axis=tuple(range(1, pts.ndim)))
    dt = np.diff(times)
    step = float(np.median(dt)) if len(dt) and np.median(dt) > 0 else 1.0 / 30.0
    first, last = np.flatnonzero(ok)[[0, -1]]
    slot = np.rint((times - times[first]) / step).astype(np.int64)
    k = int(slot[last]) + 1
    out = np.full((k, *pts.shape[1:]), np.nan)
    filled = np.zeros(k, dtype=bool)
    for i in range(first, last + 1):
        if ok[i] and 0 <= slot[i] < k:
            out[slot[i]], filled[slot[i]] = pts[i], True
    for s in range(1, k):
        if not filled[s]:
            out[s] = out[s - 1]
    return out, step, ~filled


def bvh_track(rec: Recording, *, model: str | None = None, kind: str = "smoothed", track: int | None = None,
              units: str = "cm") -> tuple[str, int, np.ndarray, float, np.ndarray]:
    """(model, track id, Y-up points [K,17,3] in ``units`` on the time grid, frame time s, held [K])."""
    if units not in BVH_UNITS:
        raise ExportError(f"BVH units must be one of {', '.join(BVH_UNITS)}, got {units!r}")
    if len(rec) == 0:
        raise ExportError(f"{rec.path}: the recording has no frames")
    model, _, _ = _select(rec, model, kind, "joints_cam_mm")
    data, _ = _h36m17(rec, model, kind)
    tid, pts = _person(rec, data, track)
    grid, step, held = resample_on_grid(rec.times(), to_opensim_axes(pts) * BVH_UNITS[units])
    return model, tid, grid, step, held


def _hierarchy(offsets: np.ndarray, scale: float) -> list[str]:
    lines = ["HIERARCHY"]

    def joint(j: int, depth: int) -> None:
        pad = "  " * depth
        kind = "ROOT" if PARENTS[j] < 0 else "JOINT"
        chans = ("CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation" if PARENTS[j] < 0
                 else "CHANNELS 3 Zrotation Xrotation Yrotation")
        lines.extend([f"{pad}{kind} {BONE_NAMES[j]}", f"{pad}{{",
                      f"{pad}  OFFSET " + " ".join(f"{v:.6f}" for v in offsets[j]), f"{pad}  {chans}"])
        for c in CHILDREN[j]:
            joint(c, depth + 1)
        if not CHILDREN[j]:
            end = np.asarray(_END_SITES_MM[BONE_NAMES[j]]) * scale
            lines.extend([f"{pad}  End Site", f"{pad}  {{", f"{pad}    OFFSET " + " ".join(f"{v:.6f}" for v in end),
                          f"{pad}  }}"])
        lines.append(f"{pad}}}")

    joint(0, 0)
    return lines


def bvh_text(grid: np.ndarray, step: float, scale: float) -> str:
    """The BVH file for Y-up points [K,17,3] (all finite) at ``step`` seconds per frame."""
    fit = fit_skeleton(grid)
    local = local_rotations(solve_rotations(grid))
    angles = np.degrees(np.unwrap(np.radians(euler_zxy_deg(local)), axis=0))  # no 360-degree jumps between frames
    lines = _hierarchy(fit.offsets, scale)
    lines += ["MOTION", f"Frames: {len(grid)}", f"Frame Time: {step:.6f}"]
    for k in range(len(grid)):
        vals = np.concatenate([grid[k, 0], angles[k].reshape(-1)])
        lines.append(" ".join(f"{v:.6f}" for v in vals))
    return "\n".join(lines) + "\n"


@register_exporter("bvh")
def export_bvh(rec: Recording | str | Path, out: str | Path, *, model: str | None = None, kind: str = "smoothed",
               track: int | None = None, units: str = "cm") -> Path:
    """One person of one model as BVH (Y up, ``units``; gaps hold the last complete pose). The returned path's
    ``note`` says what was written (frames, frame time, held slots) for the CLI to print."""
    r = write_bvh(rec, out, model=model, kind=kind, track=track, units=units)
    path = _NotedPath(r.path)
    path.note = (f"{r.model}, track {r.track}: {r.frames} frames at {r.frame_time * 1e3:.1f} ms, {r.units}, Y up; "
                 f"{r.held} frame(s) hold the previous pose (person or joints missing)")
    return path


class _NotedPath(type(Path())):  # type: ignore[misc]
    """A path with a ``note`` for the person who asked for the file."""

    note: str = ""


def write_bvh(rec: Recording | str | Path, out: str | Path, *, model: str | None = None, kind: str = "smoothed",
              track: int | None = None, units: str = "cm") -> BvhResult:
    """``export_bvh`` with what was written (frames, frame time, held slots)."""
    rec = rec if isinstance(rec, Recording) else load_recording(rec)
    model, tid, grid, step, held = bvh_track(rec, model=model, kind=kind, track=track, units=units)
    path = _write_atomic(Path(out), bvh_text(grid, step, BVH_UNITS[units]))
    return BvhResult(path, model, tid, len(grid), step, int(held.sum()), units)
