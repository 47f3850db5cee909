"""The benchmark's inference loop: stream crops, run ``Predictor.predict_batch``, save every batch as a shard.

Why through the Predictor's batch API: the live view and the benchmark must decode identically (RootNet's k value,
root decoding, cells -> image pixels -> camera mm), so this loop only supplies crops from the data loader and stores
what comes back. Shards (``shard_NNNNNN.npz`` in ``OUT/.partial/<config hash>/``) are written atomically, one per
batch, so a rerun resumes where a run stopped and ends with exactly the numbers of an uninterrupted run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from engine.h36m.dataset import CropDataset, TestSet, crop_key, make_loader, normalise_batch, raise_marked_error
from engine.h36m.exports import OutputWriteError, atomic_path
from engine.h36m.layout import DatasetError
from engine.h36m.run.config import BenchmarkConfig, Progress
from engine.inference.oom import BackoffEvent, OutOfMemoryBackoffError, run_with_backoff
from models.joints import get_joint_set

if TYPE_CHECKING:
    from engine.inference.protocols import LoadedModelLike
    from models.loader import LoadedModel

__all__ = ["ROOT_KEY", "BackOff", "gather", "infer_batches", "kept_note", "next_shard_number", "scan_shards"]

ROOT_KEY = "__root__"  # shard arrays of the live RootNet: ROOT_KEY/output (cells, depth), ROOT_KEY/root_cam (mm)


def kept_note(done: int, part: Path) -> str:
    return f"the {done} samples saved so far are kept in {part}"


def expected_arrays(part: Path) -> dict[str, tuple[int, ...]]:
    """The arrays every saved batch of this run must hold, by name, with their shapes after the sample axis: each
    model's cells and camera joints (its joint count x 3), and the live RootNet's output and roots when it runs.
    Read from ``part/state.json`` (written before the batches are scanned); {} when it cannot be read."""
    import json

    from models.spec import get_spec

    try:
        fp = json.loads((part / "state.json").read_text())["fingerprint"]
        names = [m["name"] for m in fp["models"]]
        joints = {n: get_joint_set(get_spec(n).joint_set).num_joints for n in names}
    except Exception:  # noqa: BLE001 - without a readable state only the basic checks apply
        return {}
    shapes = {f"{n}/{key}": (j, 3) for n, j in joints.items() for key in ("cells", "joints_cam")}
    if fp.get("rootnet_model"):
        shapes.update({f"{ROOT_KEY}/output": (3,), f"{ROOT_KEY}/root_cam": (3,)})
    return shapes


def _shard_problem(p: Path, expect: dict[str, tuple[int, ...]] | None = None) -> str | None:
    """Why a saved shard cannot be used (empty, cut off, not an npz, no index, an array missing or of the wrong
    shape for this run), or None when it reads whole and fits."""
    try:
        if p.stat().st_size == 0:
            return "the file is empty (0 bytes)"
        with np.load(p) as z:
            if "index" not in z.files:
                return "it holds no sample index"
            arrays = {key: z[key] for key in z.files}  # every array read: a cut-off member fails here
    except Exception as exc:  # EOFError, zipfile.BadZipFile, ValueError, OSError, zlib.error ...
        return f"cannot be read ({type(exc).__name__}: {exc})"
    n = arrays["index"].shape[0] if arrays["index"].ndim == 1 else -1
    if n < 0:
        return f"its sample index has shape {list(arrays['index'].shape)}, expected one dimension"
    for key, tail in (expect or {}).items():
        if key not in arrays:
            return f"it holds no {key!r} array"
        if arrays[key].shape != (n, *tail):
            return f"{key!r} has shape {list(arrays[key].shape)}, expected {[n, *tail]}"
    return None


def scan_shards(part: Path, total: int) -> tuple[np.ndarray, list[Path], list[str]]:
    """Sample indices already saved under ``part``, the shard files holding them, and a note per broken shard.

    A broken shard (empty or cut off: a crash or a full disk while it was written outside ``atomic_path``, or a
    damaged disk; or arrays missing or of the wrong shape for this run's models) is deleted and its samples count
    as not done, so the run infers that batch again instead of failing on every rerun until someone deletes the
    folder by hand.
    """
    shards: list[Path] = []
    notes: list[str] = []
    idx = []
    expect = expected_arrays(part)
    for p in sorted(part.glob("shard_*.npz")):
        problem = _shard_problem(p, expect)
        if problem is not None:
            p.unlink(missing_ok=True)
            notes.append(f"{p}: saved batch is broken ({problem}); removed it, its samples are inferred again")
            continue
        shards.append(p)
        idx.append(np.load(p)["index"])
    done = np.unique(np.concatenate(idx)) if idx else np.zeros(0, dtype=np.int64)
    if done.size and (done.min() < 0 or done.max() >= total):
        raise RuntimeError(f"{part}: saved predictions do not fit this test set; delete the folder to restart")
    return done, shards, notes


def next_shard_number(shards: Sequence[Path]) -> int:
    """One past the highest shard number in use (never the count: a removed shard leaves a gap, and the next
    batch must not replace a good shard holding other samples)."""
    nums = [int(p.stem.split("_")[-1]) for p in shards if p.stem.split("_")[-1].isdigit()]
    return max(nums) + 1 if nums else 0


class BackOff:
    """Out-of-memory back-off per network (``engine.inference.oom``); the smaller chunk is kept for the whole run.

    Why keep it: the error is then not met again on every batch; the numbers do not change (inference is per sample).
    """

    def __init__(self) -> None:
        self.chunk: dict[str, int] = {}  # per network: the inference batch after an out-of-memory back-off

    def run(self, name: str, n: int, infer: Callable[[int, int], np.ndarray], notes: list[str], done: int,
            part: Path) -> np.ndarray:
        """``infer(a, b)`` on rows a..b of this batch, in smaller chunks after an out-of-memory error."""
        def on_backoff(event: BackoffEvent) -> None:
            self.chunk[name] = event.new_batch
            notes.append(f"{name}: {event}")

        try:
            return run_with_backoff(lambda r: infer(r.start, r.stop), range(n), self.chunk.get(name, n),
                                    on_backoff=on_backoff)
        except OutOfMemoryBackoffError as exc:
            raise OutOfMemoryBackoffError(f"{name}: {exc}; {kept_note(done, part)}: rerun the same command "
                                          "to resume") from None


class _BatchCancelled(Exception):
    """Cancel seen between two models of one batch (the batch is dropped, never half-saved)."""


def infer_batches(cfg: BenchmarkConfig, cancel: threading.Event, backoff: BackOff, warnings: list[str],
                  test: TestSet, models: Sequence[LoadedModel], part: Path, todo: np.ndarray, total: int, n_shards: int,
                  rootnet: LoadedModel | None = None) -> Generator[Progress, None, str]:
    """Infer and save the ``todo`` samples; yields Progress, returns "finished" or "cancelled"."""
    import torch

    from engine.inference.predictor import CropBatch, Predictor

    predictor = Predictor(models, rootnet, device=cfg.device, precision=cfg.precision,
                          channels_last=cfg.channels_last, flip_test=cfg.flip, profile=cfg.profile,
                          protocol_mode=cfg.protocol_mode)
    groups = predictor.crop_groups()  # RootNet shares the pose models' 256x256 crops: one warp per sample and size
    input_hw = {crop_key(g.input_hw, g.crop): tuple(g.input_hw) for g in groups}
    boxes = {crop_key(g.input_hw, g.crop): test.boxes(g.input_hw, g.crop) for g in groups}
    # unreadable images come back marked, so a loader worker's failure is raised here as one clear message
    dataset = CropDataset(test.image_paths(), boxes, input_hw, mark_errors=True)
    loader = make_loader(dataset, todo.tolist(), batch_size=cfg.batch_size, num_workers=cfg.num_workers,
                         pin_memory=predictor.device.type == "cuda")
    done = total - int(todo.size)
    t0 = time.perf_counter()
    session = 0
    yield Progress(done, total, None, "infer", message=f"{todo.size} samples to go on {predictor.device}")
    it = iter(loader)
    try:
        while True:
            if cancel.is_set():
                return "cancelled"
            try:
                batch = next(it)
                raise_marked_error(batch)
            except StopIteration:
                break
            except DatasetError as exc:
                raise DatasetError(f"{exc}; {kept_note(done, part)}: restore or replace the image, then "
                                   "rerun the same command to resume") from None
            except Exception:
                if cancel.is_set():  # Ctrl-C reached a worker before it could ignore it
                    return "cancelled"
                raise
            notes: list[str] = []
            sel = batch["index"].numpy().astype(np.int64)
            crops = CropBatch(  # normalised once per (crop size, normalisation), on the device
                crops={g: normalise_batch(batch[crop_key(g.input_hw, g.crop)].to(predictor.device, non_blocking=True),
                                          g.normalisation) for g in groups},
                boxes={g: boxes[crop_key(g.input_hw, g.crop)][sel] for g in groups}, f=test.f[sel], c=test.c[sel])
            def chunked(name: str, n: int, infer: Callable[[int, int], np.ndarray], notes: list[str] = notes,
                        done: int = done) -> np.ndarray:
                if cancel.is_set():  # between the models of a batch: cancel answers within one model's forward
                    raise _BatchCancelled
                return backoff.run(name, n, infer, notes, done, part)

            try:
                pred = predictor.predict_batch(crops, None if rootnet is not None else test.root_cam[sel],
                                               chunked=chunked)
            except _BatchCancelled:
                return "cancelled"  # this batch was not saved: a resume redoes it
            arrays: dict[str, np.ndarray] = {"index": sel}
            if pred.root_output is not None:
                arrays[f"{ROOT_KEY}/output"] = pred.root_output
                arrays[f"{ROOT_KEY}/root_cam"] = pred.root_cam_mm
            for m in models:
                o = pred.outputs[m.spec.name]
                arrays[f"{m.spec.name}/cells"] = o.coords_cells.astype(np.float32)
                arrays[f"{m.spec.name}/joints_cam"] = o.joints_cam_mm
            try:
                with atomic_path(part / f"shard_{n_shards:06d}.npz") as tmp:
                    with open(tmp, "wb") as fh:
                        np.savez(fh, **arrays)
            except OutputWriteError as exc:
                exc.advice = f"{kept_note(done, part)}; free some space and rerun the same command to resume"
                raise
            n_shards += 1
            done += sel.size
            session += sel.size
            rate = session / max(time.perf_counter() - t0, 1e-9)
            eta = (total - done) / rate if rate > 0 else None
            warnings.extend(notes)
            yield Progress(done, total, eta, "infer", rate=rate, message="; ".join(notes))
    finally:
        del it  # shuts the worker processes down
        if predictor.device.type == "cuda":
            torch.cuda.empty_cache()
    return "finished"


def gather(part: Path, total: int, models: Sequence[LoadedModelLike], rootnet: LoadedModelLike | None = None
           ) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, np.ndarray] | None]:
    """Saved predictions per model, and the live RootNet's saved output and roots (None without one)."""
    shards = sorted(part.glob("shard_*.npz"))
    out: dict[str, dict[str, np.ndarray]] = {}
    seen = np.zeros(total, dtype=bool)
    for m in models:
        j = get_joint_set(m.spec.joint_set).num_joints
        out[m.spec.name] = {"cells": np.zeros((total, j, 3), np.float32), "joints_cam": np.zeros((total, j, 3))}
    roots = None if rootnet is None else {"output": np.zeros((total, 3)), "root_cam": np.zeros((total, 3))}
    for p in shards:
        with np.load(p) as z:
            sel = z["index"]
            seen[sel] = True
            for m in models:
                for key in ("cells", "joints_cam"):
                    out[m.spec.name][key][sel] = z[f"{m.spec.name}/{key}"]
            if roots is not None:
                for key in roots:
                    if f"{ROOT_KEY}/{key}" not in z.files:
                        raise RuntimeError(f"{p}: saved batch has no RootNet roots; delete {part} to restart")
                    roots[key][sel] = z[f"{ROOT_KEY}/{key}"]
    if not seen.all():
        raise RuntimeError(f"{part}: {int((~seen).sum())} samples have no saved prediction")
    return out, roots
