"""The Human3.6M benchmark run: validate, stream crops, infer, save every batch, score, export.

``BenchmarkRunner(config).run()`` is a generator yielding ``Progress`` (the GUI shows it; the CLI draws a bar) and
returning a ``BenchmarkResult``. Cancelling (``runner.cancel()`` or the ``cancel`` Event) takes effect at the next
batch boundary. Every finished batch is saved at once (an .npz shard written atomically, plus a small state JSON)
under ``OUT/.partial/<config hash>/``, so rerunning the same configuration continues where it stopped and ends with
exactly the numbers of an uninterrupted run. A finished run of the same configuration is not recomputed; finished
results of a *different* configuration are never overwritten unless ``overwrite`` is set. Out of memory during
inference halves that network's inference batch (``engine.inference.oom``; same numbers, reported as a Progress
message and in
``BenchmarkResult.warnings``). An unreadable image (read in a loader worker or not), a full disk (``OutputWriteError``)
or out of memory at batch size 1 stops the run with one message naming the file and saying what is kept.

Root sources (``root``): ``gt`` decodes depth with the GT root (GT boxes); ``rootnet`` takes boxes and roots from
RootNet's result file; ``rootnet-model`` runs the RootNet network (``rootnet_model``) live on the same 256x256 crops
of the GT boxes the 3DMPPE pose models use, stores its roots with each saved batch (so a resumed run decodes with
the very same roots) and reports their MRPE against the GT roots.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
import time
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from engine.h36m.dataset import (
    LIVE_ROOT,
    ROOT_SOURCES,
    CropDataset,
    TestSet,
    crop_key,
    limit_indices,
    load_test_set,
    make_loader,
    normalise_batch,
    raise_marked_error,
)
from engine.h36m.exports import (
    ModelRun,
    OutputWriteError,
    atomic_path,
    load_results,
    published_for,
    results_summary_from_json,
    summary_text,
    write_json,
    write_model_files,
    write_run_files,
)
from engine.h36m.layout import DatasetError, find_rootnet_file
from engine.h36m.metrics import mrpe, score
from engine.inference.oom import BackoffEvent, OutOfMemoryBackoffError, run_with_backoff
from models.joints import get_joint_set

__all__ = [
    "BenchmarkConfig", "BenchmarkResult", "BenchmarkRunner", "Progress", "ResultsExistError", "rootnet_to_camera",
    "run_to_completion",
]

RUN_FILE = "run.json"
PARTIAL = ".partial"
ROOT_KEY = "__root__"  # shard arrays of the live RootNet: ROOT_KEY/output (cells, depth), ROOT_KEY/root_cam (mm)


class ResultsExistError(Exception):
    """The output folder holds finished results of another configuration (never overwritten without asking)."""


@dataclass
class BenchmarkConfig:
    data_dir: Path
    models: Sequence[str]
    out_dir: Path
    protocol: int = 2
    root: str = "gt"  # gt | rootnet (RootNet result file: boxes and roots) | rootnet-model (RootNet run live)
    rootnet_file: Path | None = None  # default: in the data folder, else the copy shipped in assets/rootnet_h36m
    rootnet_model: str = "rootnet-r50"  # the network run for root="rootnet-model" (checkpoint: weights[name])
    flip: bool = True
    limit: int | None = None  # score only this many samples, spread evenly over the test set
    batch_size: int = 32
    device: str = "auto"
    precision: str = "fp32"
    channels_last: bool = False
    profile: str | None = None  # engine.inference.fast_paths.PROFILES name; None: precision + channels_last decide
    num_workers: int = 2
    allow_untrained: bool = False
    weights: Mapping[str, Path] = field(default_factory=dict)  # explicit checkpoint per model name
    overwrite: bool = False
    check_images: str = "exists"  # validation of images: none | exists | all

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir).expanduser()
        self.out_dir = Path(self.out_dir).expanduser()
        self.models = tuple(self.models)
        if not self.models:
            raise ValueError("no models given")
        if len(set(self.models)) != len(self.models):
            raise ValueError(f"a model is listed twice: {', '.join(self.models)}")
        if self.protocol not in (1, 2):
            raise ValueError(f"protocol must be 1 or 2, got {self.protocol!r}")
        if self.root not in ROOT_SOURCES:
            raise ValueError(f"root must be one of {', '.join(ROOT_SOURCES)}; got {self.root!r}")
        if self.root == LIVE_ROOT and self.rootnet_model in self.models:
            raise ValueError(f"{self.rootnet_model} is the root source with root={LIVE_ROOT!r}; "
                             "list only pose models in models")
        if self.batch_size < 1:
            raise ValueError("batch size must be at least 1")
        if self.num_workers < 0:
            raise ValueError("num_workers must be >= 0")
        if self.rootnet_file is not None:
            self.rootnet_file = Path(self.rootnet_file).expanduser()


@dataclass
class Progress:
    done: int  # samples with saved predictions (including those resumed from disk)
    total: int
    eta_s: float | None  # seconds left at the current rate; None until measurable
    phase: str  # validate | load | infer | score | export | done | cancelled
    rate: float = 0.0  # samples per second in this session
    message: str = ""  # on a phase change: what starts; within "infer": a warning (e.g. an out-of-memory back-off)

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 0.0


@dataclass
class BenchmarkResult:
    status: str  # finished | cancelled | reused
    out_dir: Path
    done: int
    total: int
    config_hash: str
    summary: str = ""
    runs: list[ModelRun] = field(default_factory=list)  # empty when reused
    files: dict[str, Path] = field(default_factory=dict)
    partial_dir: Path | None = None
    warnings: list[str] = field(default_factory=list)  # e.g. out-of-memory back-offs (the numbers are unaffected)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class BenchmarkRunner:
    """One benchmark run; see the module docstring. ``loaded`` may pass already-loaded models (tests, GUI)."""

    def __init__(self, config: BenchmarkConfig, cancel: threading.Event | None = None,
                 loaded: Sequence[Any] | None = None, rootnet: Any | None = None) -> None:
        self.config = config
        self.cancel_event = cancel or threading.Event()
        self._loaded = list(loaded) if loaded is not None else None
        self._rootnet = rootnet  # an already-loaded RootNet for root="rootnet-model" (tests, GUI)
        self.result: BenchmarkResult | None = None
        self.warnings: list[str] = []  # this session's warnings (out-of-memory back-offs), also in the result
        self._chunk: dict[str, int] = {}  # per network: the inference batch after an out-of-memory back-off

    def cancel(self) -> None:
        self.cancel_event.set()

    # ------------------------------------------------------------------------------------------------------------

    def _load_models(self) -> list[Any]:
        from models.loader import load_model

        if self._loaded is not None:
            return self._loaded
        cfg = self.config
        return [load_model(n, weights=cfg.weights.get(n), allow_untrained=cfg.allow_untrained) for n in cfg.models]

    def _load_rootnet(self) -> Any:
        """The live root source: missing weights raise the loader's WeightsMissingError unless untrained is allowed."""
        from models.loader import load_model

        cfg = self.config
        rn = self._rootnet
        if rn is None:
            rn = load_model(cfg.rootnet_model, weights=cfg.weights.get(cfg.rootnet_model),
                            allow_untrained=cfg.allow_untrained)
        if rn.spec.decoding != "rootnet":
            raise ValueError(f"{rn.spec.name} is not a RootNet (decoding {rn.spec.decoding!r}); "
                             f"root={LIVE_ROOT!r} needs one")
        return rn

    def _fingerprint(self, models: Sequence[Any], rootnet_file: Path | None,
                     rootnet: Any | None = None) -> dict[str, Any]:
        """Everything the numbers depend on (not the batch size, device or worker count)."""
        cfg = self.config
        fp = {
            "data_dir": str(cfg.data_dir.resolve()),
            "protocol": cfg.protocol,
            "root": cfg.root,
            "rootnet_file_sha256": _sha256(rootnet_file) if rootnet_file else None,
            "flip": cfg.flip,
            "limit": cfg.limit,
            "precision": cfg.precision,
            "models": [{"name": m.spec.name, "trained": bool(m.trained), "sha256": m.sha256} for m in models],
        }
        if cfg.profile:  # only when set, so earlier runs keep their hashes; profiles change the numbers slightly
            fp["profile"] = cfg.profile
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
        total = len(test)
        if stale:
            (cfg.out_dir / RUN_FILE).unlink(missing_ok=True)  # the old results stop being "finished" from here on

        part = cfg.out_dir / PARTIAL / key
        part.mkdir(parents=True, exist_ok=True)
        write_json(part / "state.json", {"config_hash": key, "fingerprint": fp, "total": total, "status": "running"})
        done_idx, shards = self._scan_shards(part, total)
        todo = np.setdiff1d(np.arange(total), done_idx)
        status = "finished"
        if todo.size:
            status = yield from self._infer(test, models, part, todo, total, len(shards), rootnet)
        if status == "cancelled":
            done = total - self._remaining(part, total)
            self.result = BenchmarkResult("cancelled", cfg.out_dir, done, total, key, partial_dir=part,
                                          warnings=list(self.warnings))
            yield Progress(done, total, None, "cancelled",
                           message=f"stopped: {done}/{total} samples saved; rerun the same configuration to resume")
            return self.result

        yield Progress(total, total, 0.0, "score", message="scoring")
        preds, roots = self._gather(part, total, models, rootnet)
        runs = self._score(test, models, preds, rn_file, roots, rootnet)
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

    # ------------------------------------------------------------------------------------------------------------
    # shards

    @staticmethod
    def _scan_shards(part: Path, total: int) -> tuple[np.ndarray, list[Path]]:
        shards = sorted(part.glob("shard_*.npz"))
        idx = [np.load(p)["index"] for p in shards]
        done = np.unique(np.concatenate(idx)) if idx else np.zeros(0, dtype=np.int64)
        if done.size and (done.min() < 0 or done.max() >= total):
            raise RuntimeError(f"{part}: saved predictions do not fit this test set; delete the folder to restart")
        return done, shards

    def _remaining(self, part: Path, total: int) -> int:
        done, _ = self._scan_shards(part, total)
        return total - int(done.size)

    def _infer(self, test: TestSet, models: Sequence[Any], part: Path, todo: np.ndarray, total: int,
               n_shards: int, rootnet: Any | None = None) -> Generator[Progress, None, str]:
        import torch

        from engine.inference.geometry import decode_to_camera, rootnet_k_value
        from engine.inference.predictor import Predictor

        cfg = self.config
        predictor = Predictor(models, rootnet, device=cfg.device, precision=cfg.precision,
                              channels_last=cfg.channels_last, flip_test=cfg.flip, profile=cfg.profile)
        input_hw = {crop_key(m.spec.input_hw): tuple(m.spec.input_hw) for m in models}
        if rootnet is not None:  # RootNet shares the pose models' 256x256 crops: one warp per sample and size
            input_hw[crop_key(rootnet.spec.input_hw)] = tuple(rootnet.spec.input_hw)
        nets = [*models, *([rootnet] if rootnet is not None else [])]
        groups = sorted({(crop_key(m.spec.input_hw), m.spec.normalisation) for m in nets})
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
                if self.cancel_event.is_set():
                    return "cancelled"
                try:
                    batch = next(it)
                    raise_marked_error(batch)
                except StopIteration:
                    break
                except DatasetError as exc:
                    raise DatasetError(f"{exc}; {self._kept(done, part)}: restore or replace the image, then "
                                       "rerun the same command to resume") from None
                except Exception:
                    if self.cancel_event.is_set():  # Ctrl-C reached a worker before it could ignore it
                        return "cancelled"
                    raise
                backoffs: list[str] = []
                sel = batch["index"].numpy().astype(np.int64)
                arrays: dict[str, np.ndarray] = {"index": sel}
                inputs = {(k, norm): normalise_batch(batch[k].to(predictor.device, non_blocking=True), norm)
                          for k, norm in groups}  # once per (crop size, normalisation)
                root_z = test.root_cam[sel, 2]
                if rootnet is not None:
                    rspec = rootnet.spec
                    rbox = boxes[crop_key(rspec.input_hw)][sel]
                    kv = rootnet_k_value(rbox, test.f[sel], tuple(rspec.arch.get("bbox_real_mm", (2000.0, 2000.0))))
                    x = inputs[crop_key(rspec.input_hw), rspec.normalisation]
                    out = self._backoff(rspec.name, len(sel), backoffs, done, part,
                                        lambda a, b, x=x, kv=kv: predictor.infer_root(x[a:b], kv[a:b]))
                    root_cam = rootnet_to_camera(out, rbox, test.f[sel], test.c[sel], rspec.output_hw)
                    arrays[f"{ROOT_KEY}/output"] = out
                    arrays[f"{ROOT_KEY}/root_cam"] = root_cam
                    root_z = root_cam[:, 2]
                for m in models:
                    spec = m.spec
                    k = crop_key(spec.input_hw)
                    x = inputs[k, spec.normalisation]
                    cells = self._backoff(spec.name, len(sel), backoffs, done, part,
                                          lambda a, b, x=x, name=spec.name: predictor.infer_cells(name, x[a:b]))
                    _, cam = decode_to_camera(cells, spec, boxes[k][sel], test.f[sel], test.c[sel], root_z)
                    arrays[f"{spec.name}/cells"] = cells.astype(np.float32)
                    arrays[f"{spec.name}/joints_cam"] = cam
                try:
                    with atomic_path(part / f"shard_{n_shards:06d}.npz") as tmp:
                        with open(tmp, "wb") as fh:
                            np.savez(fh, **arrays)
                except OutputWriteError as exc:
                    exc.advice = f"{self._kept(done, part)}; free some space and rerun the same command to resume"
                    raise
                n_shards += 1
                done += sel.size
                session += sel.size
                rate = session / max(time.perf_counter() - t0, 1e-9)
                eta = (total - done) / rate if rate > 0 else None
                self.warnings.extend(backoffs)
                yield Progress(done, total, eta, "infer", rate=rate, message="; ".join(backoffs))
        finally:
            del it  # shuts the worker processes down
            if predictor.device.type == "cuda":
                torch.cuda.empty_cache()
        return "finished"

    @staticmethod
    def _kept(done: int, part: Path) -> str:
        return f"the {done} samples saved so far are kept in {part}"

    def _backoff(self, name: str, n: int, notes: list[str], done: int, part: Path,
                 infer: Callable[[int, int], np.ndarray]) -> np.ndarray:
        """``infer(a, b)`` on rows a..b of this batch, in smaller chunks after an out-of-memory error (inference.oom).

        The smaller chunk is kept for the rest of the run, so the error is not met again on every batch; the
        numbers do not change (inference is per sample)."""
        def on_backoff(event: BackoffEvent) -> None:
            self._chunk[name] = event.new_batch
            notes.append(f"{name}: {event}")

        try:
            return run_with_backoff(lambda r: infer(r.start, r.stop), range(n), self._chunk.get(name, n),
                                    on_backoff=on_backoff)
        except OutOfMemoryBackoffError as exc:
            raise OutOfMemoryBackoffError(f"{name}: {exc}; {self._kept(done, part)}: rerun the same command "
                                          "to resume") from None

    def _gather(self, part: Path, total: int, models: Sequence[Any], rootnet: Any | None = None
                ) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, np.ndarray] | None]:
        """Saved predictions per model, and the live RootNet's saved output and roots (None without one)."""
        shards = sorted(part.glob("shard_*.npz"))
        out: dict[str, dict[str, np.ndarray]] = {}
        seen = np.zeros(total, dtype=bool)
        for m in models:
            spec = m.spec
            j = get_joint_set(spec.joint_set).num_joints
            out[spec.name] = {"cells": np.zeros((total, j, 3), np.float32), "joints_cam": np.zeros((total, j, 3))}
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

    def _score(self, test: TestSet, models: Sequence[Any], preds: Mapping[str, Mapping[str, np.ndarray]],
               rn_file: Path | None, roots: Mapping[str, np.ndarray] | None = None,
               rootnet: Any | None = None) -> list[ModelRun]:
        from engine.inference.device import pick_device

        cfg = self.config
        root_cam = roots["root_cam"] if roots is not None else test.root_cam
        root_err = mrpe(root_cam, test.gt_root) if cfg.root != "gt" else None
        root_model, root_notes = None, []
        if rootnet is not None:
            root_model = {"name": rootnet.spec.name, "label": rootnet.label, "trained": bool(rootnet.trained),
                          "checkpoint": str(rootnet.checkpoint) if rootnet.checkpoint else None,
                          "checkpoint_sha256": rootnet.sha256}
            root_notes.append(f"roots from {rootnet.label} run live on the 256x256 crops of the GT boxes; "
                              "its depth decodes the poses and MRPE compares its roots with the GT roots")
            if not rootnet.trained:
                root_notes.append(f"{rootnet.label}: random initialisation, so its roots, the MRPE and the absolute "
                                  "depths are meaningless")
            bad = int((root_cam[:, 2] <= 0).sum())
            if bad:
                root_notes.append(f"{bad} samples got a RootNet depth <= 0 mm (root behind the camera)")
        runs = []
        for m in models:
            spec = m.spec
            p = preds[spec.name]
            s = score(p["joints_cam"], test.joints_cam, test.actions, protocol=cfg.protocol, pred_set=spec.joint_set,
                      image_ids=test.image_ids, model=m.label)
            s.mrpe = root_err
            root = get_joint_set(spec.joint_set).root
            pub, pub_actions = published_for(spec, cfg.protocol, cfg.root)
            notes = list(root_notes)
            if test.dropped:
                notes.append(f"{len(test.dropped)} samples dropped: degenerate annotation boxes (as the official code)")
            if cfg.limit is not None and cfg.limit < len(test.raw):
                notes.append(f"limited to {len(test)} of {len(test.raw)} test samples, spread evenly")
            r = ModelRun(
                scores=s, name=spec.name, trained=bool(m.trained), joint_set=spec.joint_set, root=cfg.root,
                root_file=str(rn_file) if rn_file else None, flip=cfg.flip,
                checkpoint=str(m.checkpoint) if m.checkpoint else None, checkpoint_sha256=m.sha256,
                device=str(pick_device(cfg.device)), precision=cfg.precision, limit=cfg.limit,
                published=pub, published_per_action=pub_actions, notes=notes, root_model=root_model,
                predictions={
                    "image_id": test.image_ids, "file_name": np.array(test.file_names(), dtype=object),
                    "joints_cam": p["joints_cam"],
                    "joints_rel": p["joints_cam"] - p["joints_cam"][:, [root]],
                    "coords_cells": p["cells"], "root_cam": root_cam, "bbox": test.boxes(spec.input_hw),
                },
            )
            if roots is not None:
                r.predictions["rootnet_output"] = roots["output"]  # (x, y 64x64 map cells, depth mm) per sample
            runs.append(r)
        return runs


def rootnet_to_camera(out: np.ndarray, boxes: np.ndarray, f: np.ndarray, c: np.ndarray,
                      output_hw: Sequence[int]) -> np.ndarray:
    """RootNet output [N,3] (x, y map cells, depth mm) -> root [N,3] camera mm, as RootNet's own evaluation does:
    cells -> image by the processed box (bbox-linear), Z = depth, then ``pixel2cam`` with each sample's camera."""
    from engine.inference.geometry import cells_to_image, pixel2cam

    o = np.asarray(out, dtype=np.float64).reshape(-1, 3)
    xy = cells_to_image(o[:, None, :2], boxes, tuple(output_hw))[:, 0]
    return pixel2cam(np.concatenate([xy, o[:, 2:3]], axis=1), f, c)


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
