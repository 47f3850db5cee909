"""Reading released checkpoints safely and unwrapping them (strict loading and identification: models/matching.py).

Why so careful: the upstream files come in several shapes (``{'network': sd}`` with DataParallel's ``module.``
prefix; ConvNeXtPose's zip archives named ``.tar`` whose entries sit under a ``snapshot_83.pth/`` folder; torch 0.4
pickles holding numpy scalars or scheduler objects), and ``torch.load`` without ``weights_only`` runs arbitrary
code. So: weights-only unpickling first (numpy scalars allow-listed), full unpickling only for a file whose sha256
the user or the registry trusts, and a strict load that names every missing / unexpected / mis-shaped key.
Shapes as written by the official training code: mks0601/3DMPPE_POSENET_RELEASE and _ROOTNET_RELEASE
(``Trainer.save_model`` in ``common/base.py``), medialab-ku/ConvNeXtPose, JimmySuen/integral-human-pose (torch 0.4
pickles).
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import pickletools
import re
import stat
import tarfile
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from models.errors import PoseArenaError, first_line

__all__ = [
    "MAX_CHECKPOINT_BYTES",
    "CheckpointError",
    "check_checkpoint_file",
    "read_checkpoint",
    "sha256_file",
    "unwrap_state_dict",
]

WRAPPER_KEYS = ("network", "state_dict", "model", "model_state_dict", "net")
DP_PREFIX = "module."
_LIST_CAP = 8

_ZIP_MAGIC = b"PK\x03\x04"
_EMPTY_ZIP_MAGIC = b"PK\x05\x06"
# torch's legacy (pre-1.6) format starts with the pickled magic number 0x1950a86a20f9469cfc6c (protocol 2).
_LEGACY_MAGIC = b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19."


class CheckpointError(PoseArenaError):
    """A checkpoint file cannot be read or does not fit a model; the message names the file and what is wrong."""


# ---------------------------------------------------------------------------------------------------- reading


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def _numpy_safe_globals() -> list[Any]:
    """numpy scalar reconstruction (``epoch`` / losses stored as numpy numbers): data only, no code to run.

    numpy 1.x pickles name ``numpy.core.multiarray.scalar``; numpy 2 moved it to ``numpy._core``: allow both names.
    """
    try:
        import numpy as np
        import numpy.dtypes as npd
    except ImportError:  # pragma: no cover
        return []
    scalar = np._core.multiarray.scalar if hasattr(np, "_core") else np.core.multiarray.scalar
    dtypes = [getattr(npd, n) for n in dir(npd) if n.endswith("DType")]
    return [scalar, (scalar, "numpy.core.multiarray.scalar"), (scalar, "numpy._core.multiarray.scalar"),
            np.dtype, *dtypes]


def _sniff(path: Path) -> str:
    """'zip' | 'legacy' | 'tar'; raise for anything that cannot be a torch checkpoint."""
    if not path.exists():
        raise CheckpointError(f"{path}: no such file")
    if not path.is_file():
        raise CheckpointError(f"{path}: not a regular file")
    size = path.stat().st_size
    if size == 0:
        raise CheckpointError(f"{path}: the file is empty (0 bytes); an interrupted download or copy?")
    with open(path, "rb") as f:
        head = f.read(512)
    if head.startswith(_ZIP_MAGIC) or head.startswith(_EMPTY_ZIP_MAGIC):
        if not zipfile.is_zipfile(path):
            raise CheckpointError(f"{path}: truncated or corrupt zip archive (no central directory found; "
                                  f"{size} bytes): download or copy it again")
        return "zip"
    if head.startswith(_LEGACY_MAGIC):
        return "legacy"
    if len(head) > 262 and head[257:262] == b"ustar":
        return _sniff_tar(path)
    if head.startswith(b"\x1f\x8b"):
        raise CheckpointError(f"{path}: a gzip-compressed file (e.g. a .tar.gz archive), not a PyTorch checkpoint: "
                              f"extract it and import the checkpoint (or .onnx) inside")
    what = "a text file" if _looks_like_text(head) else "an unknown binary format"
    if head.lstrip().lower().startswith((b"<!doctype html", b"<html")):
        what = "an HTML page (a download that returned a web page instead of the file?)"
    raise CheckpointError(f"{path}: not a PyTorch checkpoint: it is {what}, neither a torch zip archive nor a "
                          f"legacy torch pickle")


def _sniff_tar(path: Path) -> str:
    """torch < 0.1.10 saved a tar with 'storages', 'tensors' and 'pickle' members; any other tar is an archive."""
    try:
        with tarfile.open(path) as tf:
            names = tf.getnames()
    except (tarfile.TarError, OSError) as e:
        raise CheckpointError(f"{path}: corrupt tar archive ({e})") from None
    if {"storages", "tensors", "pickle"} <= set(names):
        return "tar"
    shown = ", ".join(names[:_LIST_CAP]) or "none"
    raise CheckpointError(f"{path}: a tar archive, not a PyTorch checkpoint (members: {shown}): extract it and "
                          f"import the checkpoint inside")


def _looks_like_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _zip_source(path: Path) -> str | io.BytesIO:
    """The checkpoint as torch can read it: the file itself, or a re-packed copy when its entries sit elsewhere.

    torch wants every entry under one top folder with ``data.pkl`` directly in it. ConvNeXtPose's releases
    re-zip such a folder (``snapshot_83.pth/...``), sometimes one level deeper; re-pack from ``data.pkl``'s folder.
    """
    try:
        with zipfile.ZipFile(path) as z:
            files = [i for i in z.infolist() if not i.is_dir()]
            pkls = [i.filename for i in files if i.filename.rsplit("/", 1)[-1] == "data.pkl"]
            if not pkls:
                names = ", ".join(i.filename for i in files[:_LIST_CAP]) or "none"
                raise CheckpointError(f"{path}: zip archive without a data.pkl entry, so not a PyTorch checkpoint "
                                      f"(entries: {names})")
            if len(pkls) > 1:
                raise CheckpointError(f"{path}: zip archive holds {len(pkls)} checkpoints ({', '.join(pkls[:4])}); "
                                      f"extract the one you want and import that")
            root = pkls[0][: -len("data.pkl")]
            tops = {i.filename.split("/", 1)[0] for i in files}
            if root.count("/") == 1 and len(tops) == 1:
                return str(path)
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as out:
                for info in files:
                    if info.filename.startswith(root):
                        out.writestr("archive/" + info.filename[len(root):], z.read(info))
            buf.seek(0)
            return buf
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise CheckpointError(f"{path}: corrupt zip archive ({e})") from None


# Weights-only refusals that mean a damaged file rather than a file that needs the full unpickler.
_CORRUPT_WORDING = ("String is too long", "truncated", "corrupt")


def _refused_objects(e: BaseException) -> list[str] | None:
    """What the weights-only unpickler refused to rebuild (e.g. ``['posix.system']``; ``[]`` when it names nothing),
    or None when the error means a damaged file.

    torch words its refusals several ways ("GLOBAL x was not an allowed global", "GLOBAL posix.system whose module
    posix is blocked", "Trying to call reduce for unrecognized function", "Can only build ...", unsupported pickle
    opcodes...): every ``UnpicklingError`` from the weights-only load is a refusal unless it is one of the few that
    only a damaged byte stream produces (an opcode that does not exist, an impossible string length).
    """
    if not isinstance(e, pickle.UnpicklingError):
        return None
    text = str(e)
    names = re.findall(r"GLOBAL (\S+) (?:was not an allowed global|whose module \S+ is blocked)", text)
    names += re.findall(r"but got <class '([^']+)'>", text)
    names += re.findall(r"unrecognized function (<[^>]+>)", text)
    if names:
        return list(dict.fromkeys(names))
    op = re.search(r"Unsupported operand (\d+)", text)
    if op:  # a real opcode the weights-only unpickler lacks (protocol 4 framing...) vs a byte that is no opcode
        code = int(op.group(1))
        return [f"pickle opcode {pickletools.code2op[chr(code)].name}"] if chr(code) in pickletools.code2op else None
    if any(w in text for w in _CORRUPT_WORDING):
        return None
    return []


def _torch_load(src: str | io.BytesIO, weights_only: bool) -> Any:
    if isinstance(src, io.BytesIO):
        src.seek(0)
    if weights_only:
        with torch.serialization.safe_globals(_numpy_safe_globals()):
            return torch.load(src, map_location="cpu", weights_only=True)
    return torch.load(src, map_location="cpu", weights_only=False)


def _load_object(path: Path, trusted_sha256: set[str] | None) -> Any:
    kind = _sniff(path)
    src: str | io.BytesIO = _zip_source(path) if kind == "zip" else str(path)
    try:
        return _torch_load(src, weights_only=True)
    except Exception as e:  # EOFError, struct.error, RuntimeError, KeyError... from a cut-off or foreign file
        needs = _refused_objects(e)
        if needs is None:
            raise CheckpointError(f"{path}: corrupt or truncated checkpoint ({type(e).__name__}: "
                                  f"{_first_line(e)})") from None
    # Weights-only refused it: it stores Python objects besides tensors. Only a trusted file gets the full unpickler.
    sha = sha256_file(path)
    objects = ", ".join(needs[:_LIST_CAP]) if needs else "non-tensor objects"
    if not trusted_sha256 or sha not in trusted_sha256:
        raise CheckpointError(
            f"{path}: this checkpoint stores Python objects besides tensors ({objects}); reading it needs full "
            f"unpickling, which can execute code, and its sha256 {sha} is not a trusted release. If you trust where "
            f"it came from, run: python main.py weights import {path} --trust")
    try:
        return _torch_load(src, weights_only=False)
    except Exception as e:  # anything at all can fail inside a full unpickle
        raise CheckpointError(f"{path}: full unpickling failed ({type(e).__name__}: {_first_line(e)}); it may need "
                              f"a module that is not installed, or the file is corrupt") from None


def _first_line(e: BaseException) -> str:
    """``first_line`` without torch's "WeightsUnpickler error:" preamble (the refusal itself is what matters)."""
    return first_line(str(e).split("WeightsUnpickler error:", 1)[-1]) or type(e).__name__


def _is_tensor_map(obj: Any) -> bool:
    return isinstance(obj, Mapping) and bool(obj) and any(isinstance(v, torch.Tensor) for v in obj.values())


def unwrap_state_dict(obj: Any, path: str | Path = "<checkpoint>") -> dict[str, torch.Tensor]:
    """``{'network'|'state_dict'|'model': sd}`` or a bare sd (or a pickled nn.Module) -> sd without ``module.``
    prefixes (however many wrappers added them)."""
    for _ in range(3):  # wrappers may nest (e.g. {'model': {'state_dict': sd}})
        if isinstance(obj, torch.nn.Module):
            obj = obj.state_dict()
        if isinstance(obj, Mapping) and not _is_tensor_map(obj):
            inner = next((obj[k] for k in WRAPPER_KEYS if k in obj), None)
            if inner is None:
                break
            obj = inner
        else:
            break
    if not _is_tensor_map(obj):
        if isinstance(obj, Mapping):
            keys = ", ".join(map(str, list(obj)[:_LIST_CAP])) or "none"
            raise CheckpointError(f"{path}: holds no state_dict (no tensors; top-level keys: {keys})")
        raise CheckpointError(f"{path}: holds a {type(obj).__name__}, not a state_dict")
    sd = {str(k): v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    while sd and all(k.startswith(DP_PREFIX) for k in sd):  # DataParallel inside DataParallel nests the prefix
        sd = {k[len(DP_PREFIX):]: v for k, v in sd.items()}
    return sd


# the largest registered checkpoint is a few hundred MB; anything this big is not one (and hashing it takes minutes)
MAX_CHECKPOINT_BYTES = 4 << 30

def check_checkpoint_file(path: Path) -> os.stat_result:
    """Refuse what cannot be a checkpoint before reading it: a missing path, a directory, a device or pipe, an empty
    or an oversized file (``MAX_CHECKPOINT_BYTES``). Returns the file's stat."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such file") from None
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if stat.S_ISDIR(st.st_mode):
        raise CheckpointError(f"{path}: is a directory, not a checkpoint file; give the .pth / .onnx file in it")
    if not stat.S_ISREG(st.st_mode):
        raise CheckpointError(f"{path}: not a regular file (a device, pipe or socket), so not a checkpoint")
    if st.st_size > MAX_CHECKPOINT_BYTES:
        raise CheckpointError(f"{path}: {st.st_size / 1e9:.1f} GB is far larger than any model checkpoint "
                              f"(limit {MAX_CHECKPOINT_BYTES / 1e9:.1f} GB); not read or hashed: is it the right file?")
    return st


def read_checkpoint(path: str | Path, trusted_sha256: set[str] | None = None) -> dict[str, torch.Tensor]:
    """Read a released checkpoint into a plain state_dict (CPU tensors, no ``module.`` prefix).

    Weights-only unpickling first; full unpickling only when the file's sha256 is in ``trusted_sha256``.
    """
    path = Path(path)
    check_checkpoint_file(path)
    return unwrap_state_dict(_load_object(path, trusted_sha256), path)
