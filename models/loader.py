"""Turn a model name into a ready network: find its weights, read them safely, build, load strictly.

Why one entry point: the GUI, the CLI and the benchmark must all refuse a checkpoint that does not fit (never a
non-strict load) and must never show random weights without saying so; ``LoadedModel.trained`` and ``label`` carry
that to every view.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import torch

from models.checkpoint import MAX_CHECKPOINT_BYTES, CheckpointError, check_checkpoint_file, sha256_file
from models.errors import PoseArenaError
from models.spec import ModelSpec, build, get_spec
from models.weights.download import downloadable, manual_instructions
from models.weights.store import find_entry, find_weights, resolve_weights_dir

__all__ = ["MAX_CHECKPOINT_BYTES", "UNTRAINED_SUFFIX", "LoadedModel", "WeightsMissingError", "check_checkpoint_file",
           "checkpoint_sha256", "load_model"]

UNTRAINED_SUFFIX = " (untrained weights)"
_HASHES: dict[tuple[str, int, int, int], str] = {}  # (path, inode, size, mtime_ns) -> sha256, this process
_HASH_LOCK = threading.Lock()


def checkpoint_sha256(path: Path, st: os.stat_result | None = None) -> str:
    """sha256 of a checkpoint, cached in this process by path, inode, size and modification time (the GUI loads the
    same files again and again; a file rewritten in place gets a new mtime and is hashed again)."""
    st = st or path.stat()
    key = (str(path.resolve()), st.st_ino, st.st_size, st.st_mtime_ns)
    with _HASH_LOCK:
        hit = _HASHES.get(key)
    if hit is None:
        hit = sha256_file(path)
        with _HASH_LOCK:
            _HASHES[key] = hit
    return hit


def _check_manifest_hash(name: str, path: Path, sha: str, weights_dir: Path) -> None:
    """An installed checkpoint must still be the file the manifest recorded: a changed byte (disk damage, a partial
    copy over it, an edit) is refused instead of silently producing other numbers."""
    try:
        entry = find_entry(name, weights_dir)
    except Exception:  # an unreadable manifest is reported where it is read (weights commands); nothing to compare
        return
    if entry is None or not entry.sha256:
        return
    if (weights_dir / entry.file).resolve() != path.resolve():
        return
    if entry.sha256.lower() != sha.lower():
        raise CheckpointError(
            f"{path}: sha256 {sha[:16]}... differs from the one recorded when it was installed "
            f"({entry.sha256[:16]}..., {weights_dir / 'manifest.json'}): the file changed or is damaged; "
            f"download or import it again (python main.py weights download/import)")


@dataclass
class LoadedModel:
    spec: ModelSpec
    net: torch.nn.Module  # eval mode, on CPU after loading (the predictor moves it)
    trained: bool  # False = random ("untrained") weights: speed tests only, always labelled
    checkpoint: Path | None
    sha256: str | None

    @property
    def label(self) -> str:
        return self.spec.name + ("" if self.trained else UNTRAINED_SUFFIX)


class WeightsMissingError(PoseArenaError):
    """A model has no weights; the message says which model, where we looked and how to get them."""


def _missing_message(spec: ModelSpec, weights_dir: Path) -> str:
    how = (f"get them with: python main.py weights download {spec.name} (or, with a file you already have: "
           f"python main.py weights import FILE)" if downloadable(spec)
           else manual_instructions(spec))
    if not spec.can_run_untrained:
        return (f"{spec.name} has no weights: looked in {weights_dir} (manifest.json, {spec.name}.onnx). {how}. "
                f"An {spec.backend.upper()} model is its file: it has no untrained (random-weight) mode.")
    return (f"{spec.name} has no weights: looked in {weights_dir} (manifest.json, {spec.name}.pth). {how}. "
            f"Or allow untrained (random) weights, for speed tests only.")


def load_model(name: str, *, weights: Path | None = None, allow_untrained: bool = False,
               weights_dir: Path | None = None, seed: int = 0) -> LoadedModel:
    """Build ``name`` and load its checkpoint (``weights`` or the one in the weights directory).

    Without a checkpoint: WeightsMissingError, or with ``allow_untrained`` a deterministic random init from ``seed``
    (labelled untrained; ONNX-backed models have no such mode). A checkpoint that does not fit raises
    CheckpointError listing the differences. The spec's runtime (models/runtimes.py) reads the file: a strict
    state_dict load for torch nets, ``models.onnx.backend.build_onnx_net`` for ONNX-backed specs.
    """
    spec = get_spec(name)
    d = resolve_weights_dir(weights_dir)
    path = Path(weights).expanduser() if weights is not None else find_weights(spec.name, d)
    if path is None:
        if not allow_untrained or not spec.can_run_untrained:
            raise WeightsMissingError(_missing_message(spec, d))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            net = build(spec)
        return LoadedModel(spec, net.eval().cpu(), False, None, None)
    st = check_checkpoint_file(path)  # type and size first: never hash a directory or a 20 GB file
    sha = checkpoint_sha256(path, st)
    _check_manifest_hash(spec.name, path, sha, d)
    try:
        runtime = spec.runtime
    except KeyError:
        msg = f"{path}: {spec.name} uses the {spec.backend!r} backend, which cannot be loaded"
        raise CheckpointError(msg) from None
    return LoadedModel(spec, runtime.load(spec, path, d), True, path, sha)
