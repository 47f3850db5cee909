"""The Human3.6M benchmark run: validate, stream crops, infer, save every batch, score, export.

``BenchmarkRunner(config).run()`` is a generator yielding ``Progress`` (the GUI shows it; the CLI draws a bar) and
returning a ``BenchmarkResult``. Cancelling (``runner.cancel()`` or the ``cancel`` Event) takes effect at the next
batch boundary. Every finished batch is saved at once (an .npz shard written atomically, plus a small state JSON)
under ``OUT/.partial/<config hash>/``, so rerunning the same configuration continues where it stopped and ends with
exactly the numbers of an uninterrupted run. A finished run of the same configuration is not recomputed; finished
results of a *different* configuration are never overwritten unless ``overwrite`` is set. Out of memory during
inference halves that network's inference batch (``engine.inference.oom``; same numbers, reported as a Progress
message and in ``BenchmarkResult.warnings``). An unreadable image (read in a loader worker or not), a full disk
(``OutputWriteError``) or out of memory at batch size 1 stops the run with one message naming the file and saying
what is kept.

Root sources (``root``): ``gt`` decodes depth with the GT root (GT boxes); ``rootnet`` takes boxes and roots from
RootNet's result file; ``rootnet-model`` runs the RootNet network (``rootnet_model``) live on the same 256x256 crops
of the GT boxes the 3DMPPE pose models use, stores its roots with each saved batch (so a resumed run decodes with
the very same roots) and reports their MRPE against the GT roots.

This module orchestrates; the parts live beside it: ``run_config`` (config, progress, result records),
``run_infer`` (the loop over loader batches, which decodes through ``Predictor.predict_batch`` exactly like the live
view, and the shards) and ``run_score`` (scores and notes per model).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import shutil
import threading
import time
from collections.abc import Generator, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.h36m.dataset import LIVE_ROOT, limit_indices, load_test_set
from engine.h36m.exports import (
    OutputWriteError,
    load_results,
    results_summary_from_json,
    summary_text,
    write_json,
    write_model_files,
    write_run_files,
)
from engine.h36m.layout import DatasetError, find_rootnet_file
from engine.h36m.run.config import BenchmarkConfig, BenchmarkResult, OutputLockedError, Progress, ResultsExistError
from engine.h36m.run.infer import BackOff, gather, infer_batches, next_shard_number, scan_shards
from engine.h36m.run.score import score_runs
from engine.h36m.shard_select import shard_indices
from models.checkpoint import sha256_file

if TYPE_CHECKING:
    from engine.inference.protocols import LoadedModelLike
    from models.loader import LoadedModel

__all__ = [
    "BenchmarkConfig", "BenchmarkResult", "BenchmarkRunner", "OutputLock", "OutputLockedError", "Progress",
    "ResultsExistError", "rootnet_to_camera", "run_to_completion",
]

RUN_FILE = "run.json"
PARTIAL = ".partial"
LOCK_FILE = ".posearena-bench.lock"


class OutputLock:
    """An OS lock (``fcntl.flock``) on ``OUT/.posearena-bench.lock`` for the whole run, holding the owner's pid.

    Why an OS lock: two runs into one folder (started together, or one while the other still runs) would replace
    each other's results or resume from each other's half-written batches; the kernel releases a flock when its
    process ends however it ends (kill -9 included), so a crash never leaves a stale lock. ``wait``: block until
    the other run ends instead of refusing. The file is removed on release (then a waiter re-checks that it locked
    the file still in place). An output folder this lock created, and left empty, is removed too.
    """

    def __init__(self, out_dir: Path, wait: bool = False, poll_s: float = 0.2,
                 cancel: threading.Event | None = None) -> None:
        self.out_dir, self.wait, self.poll_s, self.cancel = Path(out_dir), wait, poll_s, cancel
        self.path = self.out_dir / LOCK_FILE
        self._fd: int | None = None
        self._made_dir = False

    def _holder(self) -> str:
        try:
            pid = self.path.read_text().strip()
        except OSError:
            pid = ""
        return f"pid {pid}" if pid.isdigit() else "another process"

    def acquire(self) -> OutputLock:
        if not self.out_dir.is_dir():
            self.out_dir.mkdir(parents=True, exist_ok=True)
            self._made_dir = True
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise
                if not self.wait or (self.cancel is not None and self.cancel.is_set()):
                    self._drop_dir()
                    raise OutputLockedError(
                        f"{self.out_dir} is in use by another benchmark run ({self._holder()}, lock file "
                        f"{self.path}); wait for it to end (or pass --wait), or choose another --out") from None
                time.sleep(self.poll_s)
                continue
            try:  # the holder may have removed the file between our open and flock: lock the one in place
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                continue
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            self._fd = fd
            return self

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)  # while still locked: a waiter then sees another inode and retries
        finally:
            os.close(self._fd)
            self._fd = None
        self._drop_dir()

    def _drop_dir(self) -> None:
        if self._made_dir:
            try:
                self.out_dir.rmdir()  # only if empty: nothing was written
            except OSError:
                pass

    def __enter__(self) -> OutputLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


class BenchmarkRunner:
    """One benchmark run; see the module docstring. ``loaded`` may pass already-loaded models (tests, GUI)."""

    def __init__(self, config: BenchmarkConfig, cancel: threading.Event | None = None,
                 loaded: Sequence[LoadedModel] | None = None, rootnet: LoadedModel | None = None) -> None:
        self.config = config
        self.cancel_event = cancel or threading.Event()
        self._loaded = list(loaded) if loaded is not None else None
        self._rootnet = rootnet  # an already-loaded RootNet for root="rootnet-model" (tests, GUI)
        self.result: BenchmarkResult | None = None
        self.warnings: list[str] = []  # this session's warnings (out-of-memory back-offs), also in the result
        self._backoff = BackOff()  # per network: the inference batch after an out-of-memory back-off

    def cancel(self) -> None:
        self.cancel_event.set()

    # ------------------------------------------------------------------------------------------------------------

    def _load_models(self) -> list[LoadedModel]:
        from models.loader import load_model

        if self._loaded is not None:
            return self._loaded
        cfg = self.config
        return [load_model(n, weights=cfg.weights.get(n), allow_untrained=cfg.allow_untrained) for n in cfg.models]

    def _load_rootnet(self) -> LoadedModel:
        """The live root source: missing weights raise the loader's WeightsMissingError unless untrained is allowed."""
        from models.loader import load_model

        cfg = self.config
        rn = self._rootnet
        if rn is None:
            rn = load_model(cfg.rootnet_model, weights=cfg.weights.get(cfg.rootnet_model),
                            allow_untrained=cfg.allow_untrained)
        if not rn.spec.takes_k_value:
            raise ValueError(f"{rn.spec.name} is not a RootNet (it takes no k_value); root={LIVE_ROOT!r} needs one")
        return rn

    def _fingerprint(self, models: Sequence[LoadedModelLike], rootnet_file: Path | None,
                     rootnet: LoadedModelLike | None = None) -> dict[str, Any]:
        """Everything the numbers depend on (not the batch size, device or worker count)."""
        cfg = self.config
        fp = {
            "data_dir": str(cfg.data_dir.resolve()),
            "protocol": cfg.protocol,
            "root": cfg.root,
            "rootnet_file_sha256": sha256_file(rootnet_file) if rootnet_file else None,
            "flip": cfg.flip,
            "limit": cfg.limit,
            "precision": cfg.precision,
            "models": [{"name": m.spec.name, "trained": bool(m.trained), "sha256": m.sha256} for m in models],
        }
        if cfg.shard is not None:  # only then: a shard's predictions are its slice, batched as in the whole run
            fp["shard"] = [*cfg.shard, cfg.batch_size]
        if cfg.profile:  # only when set, so earlier runs keep their hashes; profiles change the numbers slightly
            fp["profile"] = cfg.profile
        if _mode_matters(models):  # only then, so runs of 3DMPPE-pipeline models keep their hashes
            fp["protocol_mode"] = cfg.protocol_mode
        if rootnet is not None:  # only then, so hashes of the other root sources stay as they were
            fp["rootnet_model"] = {"name": rootnet.spec.name, "trained": bool(rootnet.trained),
                                   "sha256": rootnet.sha256}
        return fp

    @staticmethod
    def config_hash(fingerprint: Mapping[str, Any]) -> str:
        return hashlib.sha256(json.dumps(fingerprint, sort_keys=True).encode()).hexdigest()[:16]

    def _finished_run(self) -> dict[str, Any] | None:
        p = self.config.out_dir / RUN_FILE
        if not p.is_file():
            return None
        try:
            d = json.loads(p.read_text())
        except (OSError, json.JSONDecodeError):
            return None
        return d if d.get("status") == "finished" else None

    # ------------------------------------------------------------------------------------------------------------

    def run(self) -> Generator[Progress, None, BenchmarkResult]:
        cfg = self.config
        lock = OutputLock(cfg.out_dir, wait=False, cancel=self.cancel_event)
        try:
            lock.acquire()
        except OutputLockedError:
            if not cfg.wait_for_lock:
                raise
            yield Progress(0, 0, None, "wait", message=f"waiting for the other run in {cfg.out_dir} to end "
                                                         f"({lock._holder()})")
            lock.wait = True
            lock.acquire()
        try:
            return (yield from self._run_locked())
        finally:
            lock.release()

    def _run_locked(self) -> Generator[Progress, None, BenchmarkResult]:
        cfg = self.config
        yield Progress(0, 0, None, "load", message="loading models")
        models = self._load_models()  # first: a missing checkpoint is reported at once
        rootnet = self._load_rootnet() if cfg.root == LIVE_ROOT else None
        rn_file = None
        if cfg.root == "rootnet":
            rn_file = cfg.rootnet_file or find_rootnet_file(cfg.data_dir, cfg.protocol)
            if rn_file is None or not Path(rn_file).is_file():
                raise DatasetError(f"RootNet result file not found: {rn_file or 'none in ' + str(cfg.data_dir)}")
        fp = self._fingerprint(models, rn_file, rootnet)
        key = self.config_hash(fp)
        finished = self._finished_run()
        stale: list[str] = []
        if finished is not None:
            if finished.get("config_hash") == key:  # same configuration: reprint, no validation or inference
                names = [m["name"] for m in finished.get("models", [])]
                summary = results_summary_from_json(load_results(cfg.out_dir, names))
                total = int(finished.get("num_samples", 0))
                self.result = BenchmarkResult("reused", cfg.out_dir, total, total, key, summary=summary)
                yield Progress(total, total, 0.0, "done", message="finished earlier with the same configuration")
                return self.result
            if not cfg.overwrite:
                raise ResultsExistError(
                    f"{cfg.out_dir} already holds finished results of another configuration "
                    f"(config {finished.get('config_hash')}, this one {key}); choose another --out, ask for a "
                    f"subfolder, or allow overwriting")
            stale = [m.get("folder", "") for m in finished.get("models", [])]

        yield Progress(0, 0, None, "validate", message=f"checking {cfg.data_dir}")
        test = load_test_set(cfg.data_dir, cfg.protocol, root_source=cfg.root, rootnet_file=rn_file,
                             images=cfg.check_images)
        test = test.subset(limit_indices(len(test), cfg.limit))
        if cfg.shard is not None:
            test = test.subset(shard_indices(len(test), *cfg.shard, align=cfg.batch_size))
        total = len(test)
        if stale:
            (cfg.out_dir / RUN_FILE).unlink(missing_ok=True)  # the old results stop being "finished" from here on

        part = cfg.out_dir / PARTIAL / key
        part.mkdir(parents=True, exist_ok=True)
        write_json(part / "state.json", {"config_hash": key, "fingerprint": fp, "total": total, "status": "running"})
        done_idx, shards, dropped = scan_shards(part, total)
        for note in dropped:  # a broken shard (cut off by a crash or a full disk) is removed and its batch redone
            self.warnings.append(note)
            yield Progress(int(done_idx.size), total, None, "validate", message=note)
        todo = np.setdiff1d(np.arange(total), done_idx)
        status = "finished"
        state = {"config_hash": key, "fingerprint": fp, "total": total}
        if todo.size:
            try:
                status = yield from infer_batches(cfg, self.cancel_event, self._backoff, self.warnings, test, models,
                                                  part, todo, total, next_shard_number(shards), rootnet)
            except BaseException:  # a crash or a closed generator: the partial state must not say "running"
                with contextlib.suppress(Exception):
                    write_json(part / "state.json", {**state, "status": "interrupted",
                                                     "done": int(scan_shards(part, total)[0].size)})
                raise
        if status == "cancelled":
            done = int(scan_shards(part, total)[0].size)
            write_json(part / "state.json", {**state, "status": "cancelled", "done": done})
            self.result = BenchmarkResult("cancelled", cfg.out_dir, done, total, key, partial_dir=part,
                                          warnings=list(self.warnings))
            yield Progress(done, total, None, "cancelled",
                           message=f"stopped: {done}/{total} samples saved; rerun the same configuration to resume")
            return self.result

        yield Progress(total, total, 0.0, "score", message="scoring")
        preds, roots = gather(part, total, models, rootnet)
        runs = score_runs(cfg, test, models, preds, rn_file, roots, rootnet)
        yield Progress(total, total, 0.0, "export", message=f"writing results to {cfg.out_dir}")
        files: dict[str, Path] = {}
        summary = summary_text(runs)
        try:
            for r in runs:
                for name, p in write_model_files(cfg.out_dir, r).items():
                    files[f"{r.folder}/{name}"] = p
            files.update(write_run_files(cfg.out_dir, runs))
            write_json(cfg.out_dir / RUN_FILE, {
                "status": "finished", "config_hash": key, "fingerprint": fp,
                "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(cfg).items()
                           if k not in ("weights",)},
                "models": [{"name": r.name, "folder": r.folder, "trained": r.trained} for r in runs],
                "root_model": runs[0].root_model if runs else None,
                "num_samples": total, "summary": summary,
            })
        except OutputWriteError as exc:
            exc.advice = (f"the inferred batches are kept in {part}; free some space and rerun the same command: "
                          "it exports them again without inferring")
            raise
        for folder in set(stale) - {r.folder for r in runs}:  # model folders of an overwritten configuration
            if folder and (cfg.out_dir / folder / "results.json").is_file():
                shutil.rmtree(cfg.out_dir / folder, ignore_errors=True)
        shutil.rmtree(part, ignore_errors=True)
        try:
            (cfg.out_dir / PARTIAL).rmdir()
        except OSError:
            pass
        self.result = BenchmarkResult("finished", cfg.out_dir, total, total, key, summary=summary, runs=runs,
                                      files=files, warnings=list(self.warnings))
        yield Progress(total, total, 0.0, "done", message="finished")
        return self.result


def rootnet_to_camera(out: np.ndarray, boxes: np.ndarray, f: np.ndarray, c: np.ndarray,
                      output_hw: Sequence[int]) -> np.ndarray:
    """``engine.inference.predictor.rootnet_to_camera`` (the one root decoding), imported on first use so that
    importing the runner stays light (no OpenCV / onnxruntime until a run starts)."""
    from engine.inference.predictor import rootnet_to_camera as decode

    return decode(out, boxes, f, c, output_hw)


def _mode_matters(models: Sequence[LoadedModelLike]) -> bool:
    """Whether any model runs differently under the protocol modes (its own test is not 3DMPPE's pipeline)."""
    from engine.inference.conventions import PROTOCOL_MODES, conventions_for

    return any(len({tuple(conventions_for(m.spec, mode).names.items()) for mode in PROTOCOL_MODES}) > 1
               for m in models)


def run_to_completion(runner: BenchmarkRunner, on_progress=None) -> BenchmarkResult:
    """Drive ``runner.run()``; ``on_progress(Progress)`` for each step. Returns the result."""
    gen = runner.run()
    while True:
        try:
            p = next(gen)
        except StopIteration as stop:
            return stop.value
        if on_progress is not None:
            on_progress(p)
