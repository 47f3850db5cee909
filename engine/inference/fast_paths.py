"""Inference fast paths: one place that prepares a network for inference by a named profile.

Every switch is independent and checked up front: precision (fp32 | bf16 | fp16 autocast), channels_last memory
format, ``torch.compile`` (off by default: on this project's 2-core CPUs it measured slower), CUDA graphs (GPU only,
via ``torch.compile(mode="reduce-overhead")``) and the backend (torch | onnxruntime). The onnxruntime backend exports
the torch net to ONNX once into a cache keyed by model name + weights + opset and reuses the file afterwards; pose
graphs then run through ``models.onnx_backend.OnnxPoseNet`` (the wrapper the imported ONNX models use), RootNet's
two-input graph through a plain session.

``parity_mm`` says how far a fast path's joints move from the fp32 reference, in millimetres at a *nominal* scale:
the crop is taken to be a 1000 mm-wide box, so x and y cells convert at ``1000 / output_width`` mm per cell (cells are
square, so the same factor serves y, also for non-square inputs); z bins convert at ``depth_range_mm / depth_bins``
mm per bin. RootNet's root depth is compared relatively, at a nominal 4000 mm: ``|d_fast - d_ref| / |d_ref| * 4000``
(random weights put roots ~10^7 mm away, where absolute mm would mean nothing). A real person's box is usually
1.5-2.5 m wide, so real image-plane errors scale accordingly; the number is a comparable yardstick across models and
precisions, not an MPJPE.
"""

from __future__ import annotations

import copy
import hashlib
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from engine.inference.device import autocast, synchronize
from models.fileio import atomic_path
from models.soft_argmax import soft_argmax_3d
from models.spec import ModelSpec

__all__ = [
    "BACKENDS",
    "DEFAULT_OPSET",
    "NOMINAL_BOX_MM",
    "NOMINAL_ROOT_DEPTH_MM",
    "PRECISIONS",
    "PROFILES",
    "FastPath",
    "FastPathConfig",
    "cells_to_nominal_mm",
    "export_onnx",
    "get_profile",
    "onnx_cache_dir",
    "onnx_cache_path",
    "parity_mm",
    "parity_threshold_mm",
    "prepare",
    "profiles_for",
    "weights_tag",
]

PRECISIONS = ("fp32", "bf16", "fp16")
BACKENDS = ("torch", "onnxruntime")
DEFAULT_OPSET = 17
NOMINAL_BOX_MM = 1000.0
NOMINAL_ROOT_DEPTH_MM = 4000.0
EXPORT_BATCH = 2  # a batch of 1 lets the tracer bake N=1 into reshapes; 2 keeps the batch axis symbolic


# ------------------------------------------------------------------------------------------------------ profiles


@dataclass(frozen=True)
class FastPathConfig:
    """How to run a network. Switches are independent; ``validate(device)`` rejects combinations that cannot run."""

    precision: str = "fp32"  # fp32 | bf16 | fp16 (autocast; soft-argmax stays fp32)
    channels_last: bool = False
    compile: bool = False  # torch.compile (default mode)
    cuda_graphs: bool = False  # GPU only: torch.compile(mode="reduce-overhead")
    backend: str = "torch"  # torch | onnxruntime

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(f"unknown precision {self.precision!r}; use one of {', '.join(PRECISIONS)}")
        if self.backend not in BACKENDS:
            raise ValueError(f"unknown backend {self.backend!r}; use one of {', '.join(BACKENDS)}")
        if self.backend == "onnxruntime":
            torch_only = [n for n, on in (("precision " + self.precision, self.precision != "fp32"),
                                          ("channels_last", self.channels_last), ("compile", self.compile),
                                          ("cuda_graphs", self.cuda_graphs)) if on]
            if torch_only:
                raise ValueError(f"the onnxruntime backend runs the exported fp32 graph; {', '.join(torch_only)} "
                                 f"only apply to the torch backend")

    def validate(self, device: torch.device) -> None:
        """Raise ValueError for switches the device cannot honour (CUDA graphs need a GPU)."""
        if self.cuda_graphs and torch.device(device).type != "cuda":
            raise ValueError(f"cuda_graphs needs a CUDA device, got {device}")

    @property
    def label(self) -> str:
        """Short human name, e.g. "fp32", "channels_last+bf16", "onnxruntime", "fp16+cuda_graphs"."""
        if self.backend == "onnxruntime":
            return "onnxruntime"
        parts = ["channels_last"] if self.channels_last else []
        if self.precision != "fp32":
            parts.append(self.precision)
        if self.cuda_graphs:
            parts.append("cuda_graphs")  # implies compile
        elif self.compile:
            parts.append("compile")
        return "+".join(parts) or "fp32"


PROFILES: Mapping[str, FastPathConfig] = {
    "fp32": FastPathConfig(),
    "bf16": FastPathConfig(precision="bf16"),
    "channels_last": FastPathConfig(channels_last=True),
    "channels_last+bf16": FastPathConfig(precision="bf16", channels_last=True),
    "onnxruntime": FastPathConfig(backend="onnxruntime"),
    "compile": FastPathConfig(compile=True),
    "fp16": FastPathConfig(precision="fp16"),
    "channels_last+fp16": FastPathConfig(precision="fp16", channels_last=True),
    "cuda_graphs": FastPathConfig(cuda_graphs=True),
    "fp16+cuda_graphs": FastPathConfig(precision="fp16", cuda_graphs=True),
}
_CUDA_ONLY = ("fp16", "channels_last+fp16", "cuda_graphs", "fp16+cuda_graphs")


def get_profile(name: str) -> FastPathConfig:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown fast-path profile {name!r}; known: {', '.join(PROFILES)}") from None


def profiles_for(device: torch.device, compile: bool = False) -> list[str]:
    """The profiles worth benchmarking on a device: fp16 and CUDA graphs only on CUDA, compile only when asked."""
    cuda = torch.device(device).type == "cuda"
    return [n for n in PROFILES if (cuda or n not in _CUDA_ONLY) and (compile or n != "compile")]


def parity_threshold_mm(cfg: FastPathConfig | str, spec: ModelSpec | None = None) -> float:
    """Largest nominal-mm drift from fp32 eager still counted as "the same answer" for this kind of path.

    fp32 paths (eager, channels_last, compile, onnxruntime) differ only by summation order: 0.1 mm. Half precision:
    5 mm for pose nets; 20 mm for RootNet, whose depth comes from one gamma factor where bf16's 8-bit mantissa alone
    is ~0.4 % (16 mm at the nominal 4 m) — still far below its published 120 mm root error.
    """
    cfg = get_profile(cfg) if isinstance(cfg, str) else cfg
    if cfg.backend == "onnxruntime" or cfg.precision == "fp32":
        return 0.1
    return 20.0 if spec is not None and spec.decoding == "rootnet" else 5.0


# ------------------------------------------------------------------------------------------------------ parity


def cells_to_nominal_mm(spec: ModelSpec, out: torch.Tensor, ref_depth: torch.Tensor | None = None) -> torch.Tensor:
    """Decoded output -> nominal mm (module docstring). Pose nets: heatmaps -> [N,J,3]; RootNet: [N,3] -> [N,1,3].

    RootNet's depth is rescaled so that ``ref_depth`` [N] (the reference output's depth; default: this output's)
    sits at ``NOMINAL_ROOT_DEPTH_MM``: its drift is relative, as random weights put roots hundreds of metres away.
    """
    out = out.detach().float().cpu()
    mm_per_cell = NOMINAL_BOX_MM / spec.output_hw[1]
    if spec.decoding == "rootnet":
        if out.ndim != 2 or out.shape[1] != 3:
            raise ValueError(f"{spec.name}: RootNet output must be [N,3], got {tuple(out.shape)}")
        out = out.double()  # depths of random nets reach 1e7 mm: float32 would eat the drift being measured
        ref = (out[:, 2] if ref_depth is None else ref_depth.detach().double().cpu()).abs().clamp_min(1.0)
        xy = out[:, :2] * mm_per_cell
        z = out[:, 2:] / ref[:, None] * NOMINAL_ROOT_DEPTH_MM
        return torch.cat((xy, z), dim=1)[:, None, :]
    if out.ndim != 4:
        raise ValueError(f"{spec.name}: heatmaps must be [N,J*D,H,W], got {tuple(out.shape)}")
    cells = soft_argmax_3d(out, spec.num_joints, spec.depth_bins)
    scale = torch.tensor([mm_per_cell, mm_per_cell, spec.depth_range_mm / spec.depth_bins])
    return cells * scale


def parity_mm(spec: ModelSpec, ref_heatmaps: torch.Tensor, fast_heatmaps: torch.Tensor) -> float:
    """Largest 3-D distance (nominal mm) between the same joint of the same crop in two outputs; NaN stays NaN."""
    if tuple(ref_heatmaps.shape) != tuple(fast_heatmaps.shape):
        raise ValueError(f"{spec.name}: outputs differ in shape: {tuple(ref_heatmaps.shape)} vs "
                         f"{tuple(fast_heatmaps.shape)}")
    ref_depth = ref_heatmaps[:, 2] if spec.decoding == "rootnet" and ref_heatmaps.ndim == 2 else None
    a = cells_to_nominal_mm(spec, ref_heatmaps, ref_depth)
    b = cells_to_nominal_mm(spec, fast_heatmaps, ref_depth)
    d = torch.linalg.vector_norm((a - b).double(), dim=-1)
    if torch.isnan(d).any():
        return float("nan")
    return float(d.max()) if d.numel() else 0.0


# ------------------------------------------------------------------------------------------------------ ONNX cache


def onnx_cache_dir(override: str | Path | None = None) -> Path:
    """argument > $POSEARENA_ONNX_CACHE > $POSEARENA_HOME/cache/onnx > $XDG_CACHE_HOME/posearena/onnx > ~/.cache/..."""
    if override:
        return Path(override).expanduser()
    env = os.environ
    if env.get("POSEARENA_ONNX_CACHE"):
        return Path(env["POSEARENA_ONNX_CACHE"]).expanduser()
    if env.get("POSEARENA_HOME"):
        return Path(env["POSEARENA_HOME"]).expanduser() / "cache" / "onnx"
    if env.get("XDG_CACHE_HOME"):
        return Path(env["XDG_CACHE_HOME"]).expanduser() / "posearena" / "onnx"
    return Path.home() / ".cache" / "posearena" / "onnx"


def weights_tag(net: torch.nn.Module, sha256: str | None = None) -> str:
    """Cache-key part for the weights: the checkpoint's sha256, else "untrained-" + a hash of the parameters.

    Why hash random weights: two untrained inits (other seeds) must not share an exported file.
    """
    if sha256:
        return sha256.lower()[:16]
    h = hashlib.sha256()
    for name, t in net.state_dict().items():
        t = t.detach().to("cpu", torch.float32 if t.is_floating_point() else t.dtype).contiguous()
        h.update(f"{name}{tuple(t.shape)}".encode())
        h.update(t.numpy().tobytes())
    return "untrained-" + h.hexdigest()[:12]


def onnx_cache_path(spec: ModelSpec, tag: str, opset: int = DEFAULT_OPSET, cache_dir: str | Path | None = None) -> Path:
    return onnx_cache_dir(cache_dir) / f"{spec.name}-{tag}-opset{opset}.onnx"


def _io_names(spec: ModelSpec) -> tuple[list[str], str]:
    return (["x", "k_value"], "root") if spec.decoding == "rootnet" else (["x"], "heatmaps")


def _dummy_inputs(spec: ModelSpec, batch: int = EXPORT_BATCH) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(batch, 3, *spec.input_hw, generator=g)
    return (x, torch.full((batch, 1), 3000.0)) if spec.decoding == "rootnet" else (x,)


def export_onnx(net: torch.nn.Module, spec: ModelSpec, path: str | Path, opset: int = DEFAULT_OPSET) -> Path:
    """Export ``net`` (fp32, CPU copy) to ``path`` atomically, with a dynamic batch axis on every input and the output.

    Uses the TorchScript exporter (``dynamo=False``): the dynamo exporter needs onnxscript, which is not installed.
    RootNet takes two inputs (``x``, ``k_value``) and returns ``root`` [N,3]; pose nets return ``heatmaps``.
    """
    path = Path(path)
    net = copy.deepcopy(net).float().cpu().to(memory_format=torch.contiguous_format).eval()
    inputs, output = _io_names(spec)
    axes = {n: {0: "batch"} for n in [*inputs, output]}
    with atomic_path(path) as tmp, warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        warnings.simplefilter("ignore")  # legacy-exporter deprecation and tracer notes: expected here
        torch.onnx.export(net, _dummy_inputs(spec), str(tmp), dynamo=False, opset_version=opset,
                          input_names=inputs, output_names=[output], dynamic_axes=axes, do_constant_folding=True)
    return path


def _root_session(path: Path, spec: ModelSpec, device: torch.device) -> Any:
    """RootNet's two-input graph: its own small session (``OnnxPoseNet`` serves one-input pose graphs only)."""
    import onnxruntime as ort

    from models.onnx_backend import ort_providers

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = max(1, torch.get_num_threads())
    opts.log_severity_level = 3
    sess = ort.InferenceSession(str(path), opts, providers=ort_providers(prefer_cuda=device.type == "cuda"))
    inputs, output = _io_names(spec)
    got_in, got_out = [i.name for i in sess.get_inputs()], [o.name for o in sess.get_outputs()]
    if got_in != inputs or got_out != [output] or list(sess.get_inputs()[0].shape[1:]) != [3, *spec.input_hw]:
        raise ValueError(f"{path}: not a RootNet graph (inputs {got_in}, outputs {got_out}); expected {inputs} -> "
                         f"{output}")
    return sess


def _open_onnx(path: Path, spec: ModelSpec, device: torch.device) -> Any:
    """An onnxruntime runner for the exported graph, checked against the spec (wrong file -> ValueError)."""
    if spec.decoding == "rootnet":
        return _root_session(path, spec, device)
    from models.onnx_backend import OnnxPoseNet, ort_providers

    return OnnxPoseNet(path, joints=spec.num_joints, depth_bins=spec.depth_bins, output_hw=spec.output_hw,
                       input_hw=spec.input_hw, providers=ort_providers(prefer_cuda=device.type == "cuda"))


# ------------------------------------------------------------------------------------------------------ prepare


class FastPath:
    """A prepared network: ``fp(x[, k]) -> float32 output on the device`` (heatmaps, or [N,3] for RootNet).

    Attributes say what actually runs: ``cfg``, ``device``, ``providers`` (onnxruntime), ``onnx_path`` and
    ``exported`` (False when a cached ONNX file was reused).
    """

    def __init__(self, spec: ModelSpec, device: torch.device, cfg: FastPathConfig) -> None:
        self.spec, self.device, self.cfg = spec, device, cfg
        self.net: torch.nn.Module | None = None
        self.onnx_path: Path | None = None
        self.exported = False
        self.providers: list[str] = []
        self._fn: Any = None
        self._ort: Any = None  # OnnxPoseNet, or RootNet's onnxruntime session

    @property
    def label(self) -> str:
        return self.cfg.label

    def _args(self, x: torch.Tensor, k: torch.Tensor | None) -> tuple[torch.Tensor, ...]:
        rootnet = self.spec.decoding == "rootnet"
        if rootnet and k is None:
            raise ValueError(f"{self.spec.name}: RootNet needs k_value [N,1] as the second input")
        if not rootnet and k is not None:
            raise ValueError(f"{self.spec.name}: a pose net takes one input; got a k_value")
        if x.ndim != 4 or tuple(x.shape[1:]) != (3, *self.spec.input_hw):
            raise ValueError(f"{self.spec.name}: input must be [N,3,{self.spec.input_hw[0]},{self.spec.input_hw[1]}], "
                             f"got {tuple(x.shape)}")
        return (x,) if k is None else (x, k.reshape(-1, 1))

    def __call__(self, x: torch.Tensor, k: torch.Tensor | None = None) -> torch.Tensor:
        args = self._args(x, k)
        if self._ort is not None:
            if not isinstance(self._ort, torch.nn.Module):  # RootNet session
                feeds = {i.name: a.detach().float().cpu().contiguous().numpy()
                         for i, a in zip(self._ort.get_inputs(), args)}
                return torch.from_numpy(np.ascontiguousarray(self._ort.run(None, feeds)[0])).to(self.device)
            return self._ort(args[0]).to(self.device)  # OnnxPoseNet
        args = tuple(a.to(self.device, torch.float32, non_blocking=True) for a in args)
        if self.cfg.channels_last:
            args = (args[0].contiguous(memory_format=torch.channels_last), *args[1:])
        with torch.inference_mode(), autocast(self.device, self.cfg.precision):
            if self.cfg.cuda_graphs:
                torch.compiler.cudagraph_mark_step_begin()
            out = self._fn(*args)
        out = out.float()
        return out.clone() if self.cfg.cuda_graphs else out  # graph outputs are overwritten by the next replay

    def synchronize(self) -> None:
        synchronize(self.device)


def prepare(net: Any, spec: ModelSpec, device: str | torch.device, cfg: FastPathConfig | str = "fp32", *,
            weights_sha256: str | None = None, cache_dir: str | Path | None = None,
            opset: int = DEFAULT_OPSET) -> FastPath:
    """Prepare ``net`` (an nn.Module or a ``models.loader.LoadedModel``) to run ``spec`` on ``device`` per ``cfg``.

    Torch backend: the net is moved / converted **in place** (like ``nn.Module.to``); pass a deepcopy to keep the
    original. onnxruntime backend: the net is exported once to the ONNX cache (``onnx_cache_path``) keyed by the
    model name, ``weights_sha256`` (taken from a LoadedModel; without one, a hash of the parameters) and the opset;
    an existing file is reused, a corrupt one is re-exported. Raises ValueError for a switch the device cannot run.
    """
    if hasattr(net, "net") and hasattr(net, "sha256"):  # LoadedModel
        weights_sha256 = weights_sha256 or net.sha256
        net = net.net
    cfg = get_profile(cfg) if isinstance(cfg, str) else cfg
    device = torch.device(device)
    cfg.validate(device)
    fp = FastPath(spec, device, cfg)
    if cfg.backend == "onnxruntime":
        if spec.backend != "torch":
            raise ValueError(f"{spec.name} is already an ONNX model run by onnxruntime; prepare it with the torch "
                             f"backend (fp32), which calls its session")
        path = onnx_cache_path(spec, weights_tag(net, weights_sha256), opset, cache_dir)
        if not path.is_file():
            export_onnx(net, spec, path, opset)
            fp.exported = True
        try:
            runner = _open_onnx(path, spec, device)
        except Exception:
            if fp.exported:
                raise
            export_onnx(net, spec, path, opset)  # unreadable or foreign cache entry: replace it once
            fp.exported = True
            runner = _open_onnx(path, spec, device)
        fp._ort, fp.onnx_path = runner, path
        fp.providers = list(runner.providers if isinstance(runner, torch.nn.Module) else runner.get_providers())
        return fp
    net = net.to(device).eval()
    if cfg.channels_last:
        net = net.to(memory_format=torch.channels_last)
    fp.net = net
    fp._fn = net
    if cfg.compile or cfg.cuda_graphs:
        fp._fn = torch.compile(net, mode="reduce-overhead" if cfg.cuda_graphs else None)
    return fp
