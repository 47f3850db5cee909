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
from typing import Any

import numpy as np

from engine.h36m.dataset import CropDataset, TestSet, crop_key, make_loader, normalise_batch, raise_marked_error
from engine.h36m.exports import OutputWriteError, atomic_path
from engine.h36m.layout import DatasetError
from engine.h36m.run.config import BenchmarkConfig, Progress
from engine.inference.oom import BackoffEvent, OutOfMemoryBackoffError, run_with_backoff
from models.joints import get_joint_set

__all__ = ["ROOT_KEY", "BackOff", "gather", "infer_batches", "kept_note", "next_shard_number", "scan_shards"]

ROOT_KEY = "__root__"  # shard arrays of the live RootNet: ROOT_KEY/output (cells, depth), ROOT_KEY/root_cam (mm)


def kept_note(done: int, part: Path) -> str:
    return f"the {done} samples saved so far are kept in {part}"


def _shard_problem(p: Path) -> str | None:
    """Why a saved shard cannot be used (empty, cut off, not an npz, no index), or None when it reads whole."""
    try:
        if p.stat().st_size == 0:
            return "the file is empty (0 bytes)"
        with np.load(p) as z:
            if "index" not in z.files:
                return "it holds no sample index"
            for key in z.files:  # read every array: a cut-off member fails here, not later while scoring
                z[key]
    except Exception as exc:  # EOFError, zipfile.BadZipFile, ValueError, OSError, zlib.error ...
        return f"cannot be read ({type(exc).__name__}: {exc})"
    return None


def scan_shards(part: Path, total: int) -> tuple[np.ndarray, list[Path], list[str]]:
    """Sample indices already saved under ``part``, the shard files holding them, and a note per broken shard.

    A broken shard (empty or cut off: a crash or a full disk while it was written outside ``atomic_path``, or a
    damaged disk) is deleted and its samples count as not done, so the run infers that batch again instead of
    failing on every rerun until someone deletes the folder by hand.
    """
    shards: list[Path] = []
    notes: list[str] = []
    idx = []
    for p in sorted(part.glob("shard_*.npz")):
        problem = _shard_problem(p)
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
                  test: TestSet, models: Sequence[Any], part: Path, todo: np.ndarray, total: int, n_shards: int,
                  rootnet: Any | None = None) -> Generator[Progress, None, str]:
    """Infer and save the ``todo`` samples; yields Progress, returns "finished" or "cancelled"."""
    import torch

    from engine.inference.predictor import CropBatch, Predictor

    predictor = Predictor(models, rootnet, device=cfg.device, precision=cfg.precision,
                          channels_last=cfg.channels_last, flip_test=cfg.flip, profile=cfg.profile)
    groups = predictor.crop_groups()  # RootNet shares the pose models' 256x256 crops: one warp per sample and size
    input_hw = {crop_key(hw): tuple(hw) for hw, _ in groups}
    boxes = {k: test.boxes(hw) for k, hw in input_hw.items()}
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
                crops={(hw, norm): normalise_batch(batch[crop_key(hw)].to(predictor.device, non_blocking=True), norm)
                       for hw, norm in groups},
                boxes={(hw, norm): boxes[crop_key(hw)][sel] for hw, norm in groups}, f=test.f[sel], c=test.c[sel])
            def chunked(name: str, n: int, infer: Any, notes: list[str] = notes, done: int = done) -> np.ndarray:
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


def gather(part: Path, total: int, models: Sequence[Any], rootnet: Any | None = None
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
