"""Split one benchmark run over several machines and merge the pieces: ``shard_indices`` and ``merge_runs``.

Why shards of one configuration and not a scheduler: checkpoint and model sweeps already run as array jobs of an
existing scheduler (SLURM job arrays, Ray tasks; see docs/scaling.md). Each task runs shard ``I`` of ``N`` (a
contiguous slice of the test set, after ``limit``) into its own output folder; ``merge_runs`` reads the saved
predictions of all ``N`` folders (``<model>/predictions.h5``, ``run.json``), checks that they are one configuration
(same models and weights, protocol, root, flip, limit, precision, profile, data: it refuses naming the field that
differs), and scores them **once** with the runner's own scoring (``run_score.score_runs``) and exporters, so the
merged results equal those of one whole run exactly (tests/engine/h36m/test_h36m_shards.py).

Running a shard: ``run_shard(config, index, count)``. The runner has no shard option yet (only ``limit``, which
spreads samples evenly rather than slicing); until ``BenchmarkConfig.shard`` exists, ``run_shard`` narrows the
runner's test-set selection for the duration of the run (under a lock) and writes ``shard.json`` beside ``run.json``.
Once ``BenchmarkConfig`` has a ``shard`` field it is used instead, unchanged otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.h36m.dataset import LIVE_ROOT, limit_indices, load_test_set
from engine.h36m.exports import (
    read_predictions_h5,
    safe_name,
    summary_text,
    write_json,
    write_model_files,
    write_run_files,
)
from engine.h36m.layout import find_rootnet_file
from engine.h36m.outputs import staged_outputs
from engine.h36m.run.config import BenchmarkConfig, BenchmarkResult
from engine.h36m.run.score import score_runs
from engine.h36m.shard_select import parse_shard, shard_indices
from models.errors import PoseArenaError

if TYPE_CHECKING:
    from models.loader import LoadedModel
    from models.spec import ModelSpec

__all__ = ["SHARD_FILE", "MergeError", "merge_runs", "parse_shard", "run_shard", "shard_indices"]

SHARD_FILE = "shard.json"
RUN_FILE = "run.json"  # engine.h36m.run.runner.RUN_FILE (not imported: the runner pulls in the whole run at import)


class MergeError(PoseArenaError, ValueError):
    """The shard folders do not make up one run of one configuration (the message names what differs)."""


# ---------------------------------------------------------------------------------------------------- run a shard


def run_shard(config: BenchmarkConfig, index: int, count: int, *, align: int | None = None,
              loaded: Sequence[LoadedModel] | None = None, rootnet: LoadedModel | None = None,
              on_progress=None) -> BenchmarkResult:
    """Run shard ``index`` of ``count`` of ``config`` into ``config.out_dir`` (one folder per shard) and record it in
    ``OUT/shard.json``. ``align``: shard boundaries on multiples of this (default: the config's batch size)."""
    from engine.h36m.run.runner import BenchmarkRunner, run_to_completion

    align = int(config.batch_size if align is None else align)
    shard_indices(0, index, count, align)  # validate before loading anything
    res = run_to_completion(BenchmarkRunner(replace(config, shard=(index, count)), loaded=loaded, rootnet=rootnet),
                            on_progress)
    if res.status in ("finished", "reused"):
        write_json(Path(config.out_dir) / SHARD_FILE, {"index": int(index), "count": int(count), "align": align,
                                                       "samples": int(res.total), "config_hash": res.config_hash})
    return res


# ---------------------------------------------------------------------------------------------------- merge


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise MergeError(f"{path} is missing: not a finished shard run") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise MergeError(f"{path} cannot be read ({exc})") from None


def _shard_of(d: Path, run: dict[str, Any]) -> tuple[int, int]:
    fp_shard = run.get("fingerprint", {}).get("shard") or run.get("config", {}).get("shard")
    if fp_shard:  # written by the runner itself once it supports shards
        return int(fp_shard[0]), int(fp_shard[1])
    s = _read_json(d / SHARD_FILE)
    if s.get("config_hash") != run.get("config_hash"):
        raise MergeError(f"{d / SHARD_FILE} belongs to another run than {d / RUN_FILE} (config "
                         f"{s.get('config_hash')} vs {run.get('config_hash')}); rerun that shard")
    return int(s["index"]), int(s["count"])


def _first_difference(a: Any, b: Any, path: str) -> str | None:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k == "shard":
                continue
            diff = _first_difference(a.get(k), b.get(k), f"{path}.{k}" if path else k)
            if diff:
                return diff
        return None
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            diff = _first_difference(x, y, f"{path}[{i}]")
            if diff:
                return diff
        return None
    return None if a == b else f"{path}: {a!r} vs {b!r}"


@dataclass(frozen=True)
class _StandIn:
    """What scoring reads of a loaded model (``engine.inference.protocols.LoadedModelLike``), without its network."""

    spec: ModelSpec
    label: str
    trained: bool
    checkpoint: Path | None
    sha256: str | None


def _stand_in(name: str, label: str, trained: bool, checkpoint: str | None, sha256: str | None) -> _StandIn:
    """What scoring reads of a loaded model (spec, label, trained, checkpoint, sha256): no weights are loaded."""
    from models import get_spec

    return _StandIn(spec=get_spec(name), label=label, trained=bool(trained),
                    checkpoint=Path(checkpoint) if checkpoint else None, sha256=sha256)


def _check_not_a_shard(out_dir: Path, dirs: Sequence[Path]) -> None:
    """Merging into one of the shards would replace that shard's results."""
    out = out_dir.resolve()
    for d in dirs:
        if d.resolve() == out:
            raise MergeError(f"the output folder {out_dir} is the shard folder {d}: merging there "
                             f"would replace that shard's results; choose another --out")


def _check_merge_out(out_dir: Path, key: str, overwrite: bool) -> None:
    """``out_dir`` must not hold finished results of another configuration unless ``overwrite`` (merging the same
    shards again is allowed: same configuration)."""
    run = out_dir / RUN_FILE
    if run.exists():
        try:
            held = json.loads(run.read_text()).get("config_hash")
        except (OSError, ValueError, AttributeError):
            held = None
        if held == key or overwrite:
            return
        raise MergeError(f"{out_dir} already holds finished results of another configuration (config {held}, this "
                         f"merge {key}); choose another --out, or allow overwriting (--overwrite)")
    if (out_dir / "results.json").exists() and not overwrite:
        raise MergeError(f"{out_dir} already holds results ({out_dir / 'results.json'}); choose another --out, or "
                         f"allow overwriting (--overwrite)")


def _read_shard_predictions(d: Path, folder: str, index: int, count: int) -> dict[str, Any]:
    path = d / folder / "predictions.h5"
    try:
        return read_predictions_h5(path)
    except (ValueError, OSError, KeyError) as exc:
        raise MergeError(f"{path}: the saved predictions of shard {index}/{count} cannot be read ({exc}); rerun "
                         f"that shard into {d}, then merge again") from None


def merge_runs(dirs: Sequence[str | Path], out_dir: str | Path, *, overwrite: bool = False) -> BenchmarkResult:
    """Merge the finished shard runs in ``dirs`` (any order, all ``count`` shards of one configuration) into
    ``out_dir``: predictions concatenated in test-set order, scored once, every output file written as a whole
    run writes it (``run.json`` records ``merged_from``; all files appear together, ``run.json`` last). Raises
    ``MergeError`` naming what does not fit; finished results of another configuration in ``out_dir`` are replaced
    only with ``overwrite``, and ``out_dir`` is never one of the shards."""
    from engine.h36m.run.runner import BenchmarkRunner, OutputLock
    from models.checkpoint import sha256_file

    dirs = [Path(d) for d in dirs]
    if not dirs:
        raise MergeError("no shard folders given")
    _check_not_a_shard(Path(out_dir), dirs)
    runs = []
    for d in dirs:
        r = _read_json(d / RUN_FILE)
        if r.get("status") != "finished":
            raise MergeError(f"{d}: the run is not finished (status {r.get('status')!r}); rerun that shard")
        runs.append((d, r, *_shard_of(d, r)))
    d0, r0 = runs[0][0], runs[0][1]
    for d, r, _, _ in runs[1:]:
        diff = _first_difference(r0.get("fingerprint", {}), r.get("fingerprint", {}), "")
        if diff:
            raise MergeError(f"{d} is another configuration than {d0}: {diff}")
    counts = {c for *_, c in runs}
    if len(counts) != 1:
        raise MergeError(f"the folders are shards of different splits (counts {sorted(counts)})")
    count = counts.pop()
    by_index: dict[int, Path] = {}
    for d, _, i, _ in runs:
        if i in by_index:
            raise MergeError(f"shard {i}/{count} given twice: {by_index[i]} and {d}")
        by_index[i] = d
    missing = sorted(set(range(count)) - set(by_index))
    if missing:
        raise MergeError(f"shards {', '.join(f'{i}/{count}' for i in missing)} are missing")
    ordered = [by_index[i] for i in range(count)]

    fp = r0["fingerprint"]
    conf = {k: v for k, v in r0["config"].items() if k not in ("out_dir", "shard")}
    out_dir = Path(out_dir)
    cfg = BenchmarkConfig(**conf, out_dir=out_dir)
    rn_file = None
    if cfg.root == "rootnet":
        rn_file = cfg.rootnet_file or find_rootnet_file(cfg.data_dir, cfg.protocol)
        if rn_file is None or sha256_file(Path(rn_file)) != fp.get("rootnet_file_sha256"):
            raise MergeError(f"the RootNet result file {rn_file} is not the one the shards used")
    test = load_test_set(cfg.data_dir, cfg.protocol, root_source=cfg.root, rootnet_file=rn_file, images="none")
    test = test.subset(limit_indices(len(test), cfg.limit))

    names = [m["name"] for m in r0["models"]]
    models, preds = [], {}
    roots: dict[str, np.ndarray] | None = None
    for m in r0["models"]:
        parts = [_read_shard_predictions(d, m["folder"], i, count) for i, d in enumerate(ordered)]
        ids = np.concatenate([p["image_id"] for p in parts])
        if ids.shape != test.image_ids.shape or not np.array_equal(ids, test.image_ids):
            raise MergeError(f"{m['name']}: the shards' {ids.size} samples are not the test set's {len(test)} "
                             f"in order (data folder {cfg.data_dir} changed, or a shard was run differently)")
        preds[m["name"]] = {"joints_cam": np.concatenate([p["joints_cam"] for p in parts]),
                            "cells": np.concatenate([p["coords_cells"] for p in parts])}
        if cfg.root == LIVE_ROOT and roots is None:
            roots = {"output": np.concatenate([p["rootnet_output"] for p in parts]),
                     "root_cam": np.concatenate([p["root_cam"] for p in parts])}
        res = _read_json(d0 / m["folder"] / "results.json")
        models.append(_stand_in(m["name"], res["label"], res["trained"], res.get("checkpoint"),
                                res.get("checkpoint_sha256")))
    rootnet = None
    if cfg.root == LIVE_ROOT:
        rm = r0.get("root_model") or {}
        rootnet = _stand_in(rm["name"], rm["label"], rm["trained"], rm.get("checkpoint"),
                            rm.get("checkpoint_sha256"))

    scored = score_runs(cfg, test, models, preds, rn_file, roots, rootnet)
    files: dict[str, Path] = {}
    summary = summary_text(scored)
    fp_out = {k: v for k, v in fp.items() if k != "shard"}
    key = BenchmarkRunner.config_hash(fp_out)  # the whole run's hash: rerunning it whole into out_dir reuses this
    _check_merge_out(out_dir, key, overwrite)
    with OutputLock(out_dir), staged_outputs(out_dir, last=("results.json", RUN_FILE)) as stage:
        for r in scored:
            for name, p in write_model_files(stage, r).items():
                files[f"{r.folder}/{name}"] = out_dir / Path(p).relative_to(stage)
        files.update({k: out_dir / Path(p).relative_to(stage) for k, p in write_run_files(stage, scored).items()})
        write_json(stage / RUN_FILE, {
            "status": "finished", "config_hash": key, "fingerprint": fp_out,
            "config": {**conf, "out_dir": str(out_dir)},
            "models": [{"name": r.name, "folder": r.folder, "trained": r.trained} for r in scored],
            "root_model": scored[0].root_model if scored else None,
            "num_samples": len(test), "summary": summary,
            "merged_from": [str(d) for d in ordered],
        })
    assert [safe_name(n) for n in names] == [r.folder for r in scored]
    return BenchmarkResult("finished", out_dir, len(test), len(test), key, summary=summary, runs=scored, files=files)
