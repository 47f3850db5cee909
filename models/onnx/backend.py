"""Run a pose model stored as ONNX through onnxruntime, behind the same interface as the torch nets.

Why: MobileHumanPose's only trained weights are third-party ONNX files (PINTO_model_zoo 156_MobileHumanPose). The
predictor treats every net alike (``forward(x [N,3,H,W]) -> heatmaps [N, J*D, Ho, Wo]``, then soft-argmax), so this
wrapper adapts whatever the graph declares: input name, NCHW or NHWC layout, dtype and a fixed batch size; output
``[N, J*D, H, W]`` or ``[N, J, D, H, W]`` heatmaps, or ``[N, J, 3]`` coordinates in heatmap cells, which are
re-encoded as a volume whose soft-argmax is exactly those coordinates (so no caller needs a branch for them).

Family ``onnx``: ``spec.arch`` = {"output": "heatmaps"|"coords", "joints", "depth_bins", "output_hw",
"input_hw", "onnx_file"} (all optional; the expected values are checked against the graph at load) plus
``"onnx_path"``, which the loader supplies from the weights directory: an ONNX spec has no untrained mode.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from models.errors import PoseArenaError
from models.spec import ModelSpec, register_family

__all__ = [
    "ARCH_KEYS",
    "BACKEND",
    "OnnxModelError",
    "OnnxPoseNet",
    "build_onnx",
    "build_onnx_net",
    "coords_to_heatmaps",
    "is_onnx_spec",
    "split_channels",
    "ort_providers",
    "untrained_error",
]

BACKEND = "onnx"  # the ModelSpec.backend this module runs (models.runtimes.OnnxRuntime is registered under it)
ARCH_KEYS = ("onnx_path", "output", "joints", "depth_bins", "output_hw", "input_hw", "onnx_file", "providers")
OUTPUT_KINDS = ("heatmaps", "coords")
KNOWN_JOINT_COUNTS = (21, 18)  # muco21, h36m18: used to split J*D channels when the spec does not say
_ORT_DTYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(double)": np.float64}
_FAR = -1.0e4  # logit that softmaxes to exactly 0 next to values near 0 (float32)


class OnnxModelError(PoseArenaError, ValueError):
    """An ONNX file cannot serve as a pose model; the message names the file and what is wrong."""


def untrained_error(spec: ModelSpec) -> OnnxModelError:
    """The error for asking an ONNX-backed model for random weights (its weights are the file itself)."""
    return OnnxModelError(
        f"{spec.name} is an ONNX model: its weights are the .onnx file itself, so it has no untrained (random-weight) "
        f"mode. Import the file with: python main.py weights import FILE.onnx")


def ort_providers(prefer_cuda: bool = True) -> list[str]:
    """CUDA first when this onnxruntime build has it, CPU always."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    chosen = ["CUDAExecutionProvider"] if prefer_cuda and "CUDAExecutionProvider" in available else []
    return [*chosen, "CPUExecutionProvider"]


def _static(dim: Any) -> int | None:
    return dim if isinstance(dim, int) and dim > 0 else None


def coords_to_heatmaps(coords: torch.Tensor, depth_bins: int, output_hw: tuple[int, int]) -> torch.Tensor:
    """[N, J, 3] (x, y cells, z bins) -> [N, J*D, H, W] logits whose ``soft_argmax_3d`` returns ``coords``.

    Each axis gets a two-point distribution on the neighbouring cells (weights 1-f and f), so the expectation is
    the coordinate itself; the volume's logit is the sum of the three per-axis log-weights (a separable softmax).
    Coordinates outside the map are clamped to it.
    """
    n, j, _ = coords.shape
    h, w = output_hw
    c = coords.detach().float()

    def axis_logits(v: torch.Tensor, size: int) -> torch.Tensor:  # [N, J] -> [N, J, size]
        v = v.clamp(0.0, size - 1.0)
        lo = v.floor().clamp(max=max(size - 2, 0))
        frac = v - lo
        out = torch.full((n, j, size), _FAR, dtype=torch.float32, device=c.device)
        idx = lo.long().unsqueeze(-1)
        out.scatter_(2, idx, torch.log((1.0 - frac).clamp_min(1e-30)).clamp_min(_FAR).unsqueeze(-1))
        if size > 1:
            out.scatter_(2, idx + 1, torch.log(frac.clamp_min(1e-30)).clamp_min(_FAR).unsqueeze(-1))
        return out

    lx, ly, lz = axis_logits(c[..., 0], w), axis_logits(c[..., 1], h), axis_logits(c[..., 2], depth_bins)
    vol = lz[:, :, :, None, None] + ly[:, :, None, :, None] + lx[:, :, None, None, :]
    return vol.reshape(n, j * depth_bins, h, w)


class OnnxPoseNet(nn.Module):
    """An onnxruntime session that looks like a PoseArena torch pose net (no parameters; eval only)."""

    def __init__(self, onnx_path: str | Path, *, output: str = "heatmaps", joints: int | None = None,
                 depth_bins: int | None = None, output_hw: Sequence[int] | None = None,
                 input_hw: Sequence[int] | None = None, providers: Sequence[str] | None = None) -> None:
        super().__init__()
        if output not in OUTPUT_KINDS:
            raise OnnxModelError(f"{onnx_path}: output kind {output!r} is not one of {OUTPUT_KINDS}")
        self.onnx_path = Path(onnx_path)
        self.output_kind = output
        self._providers = list(providers) if providers else None
        self._session: Any = None
        self._open()
        self._read_io(joints, depth_bins, tuple(output_hw) if output_hw else None,
                      tuple(input_hw) if input_hw else None)
        self.eval()

    # ------------------------------------------------------------------------------------------------ session

    def _open(self) -> None:
        import onnxruntime as ort

        path = self.onnx_path
        if not path.is_file():
            raise OnnxModelError(f"{path}: no such ONNX file")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = max(1, torch.get_num_threads())  # same CPU budget as the torch nets
        opts.log_severity_level = 3
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")  # no busy-wait next to torch
        try:
            self._session = ort.InferenceSession(str(path), sess_options=opts,
                                                 providers=self._providers or ort_providers())
        except Exception as e:  # onnxruntime raises its own Fail/InvalidGraph/InvalidProtobuf types
            first = (str(e).strip().splitlines() or [type(e).__name__])[0][:300]
            raise OnnxModelError(f"{path}: onnxruntime cannot load it ({first})") from None

    @property
    def session(self) -> Any:
        if self._session is None:  # after unpickling / deepcopy
            self._open()
        return self._session

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_session"] = None  # an InferenceSession cannot be pickled; it is reopened on first use
        return state

    @property
    def providers(self) -> list[str]:
        return list(self.session.get_providers())

    # ------------------------------------------------------------------------------------------------ graph I/O

    def _read_io(self, joints: int | None, depth_bins: int | None, output_hw: tuple[int, int] | None,
                 input_hw: tuple[int, int] | None) -> None:
        path = self.onnx_path
        inputs = self.session.get_inputs()
        if len(inputs) != 1:
            names = ", ".join(f"{i.name} {i.shape}" for i in inputs)
            raise OnnxModelError(f"{path}: expects {len(inputs)} inputs ({names}); a pose model takes one image "
                                 f"batch")
        inp = inputs[0]
        if inp.type not in _ORT_DTYPES:
            raise OnnxModelError(f"{path}: input {inp.name!r} has type {inp.type}; expected a float image tensor")
        shape = list(inp.shape)
        if len(shape) != 4:
            raise OnnxModelError(f"{path}: input {inp.name!r} has shape {shape}; expected a 4-D image batch")
        if shape[1] == 3:
            layout, hw = "NCHW", (_static(shape[2]), _static(shape[3]))
        elif shape[3] == 3:
            layout, hw = "NHWC", (_static(shape[1]), _static(shape[2]))
        elif _static(shape[1]) is None and _static(shape[3]) is None:
            layout, hw = "NCHW", (_static(shape[2]), _static(shape[3]))
        else:
            raise OnnxModelError(f"{path}: input {inp.name!r} has shape {shape}: no axis of 3 colour channels")
        self.input_name, self.input_layout = inp.name, layout
        self.input_dtype = _ORT_DTYPES[inp.type]
        self.fixed_batch = _static(shape[0])
        if input_hw and all(hw) and tuple(hw) != tuple(input_hw):
            raise OnnxModelError(f"{path}: the graph takes {hw[0]}x{hw[1]} crops, the spec says "
                                 f"{input_hw[0]}x{input_hw[1]}")
        self.input_hw: tuple[int, int] = tuple(hw) if all(hw) else tuple(input_hw or (256, 256))  # type: ignore

        out = self.session.get_outputs()[0]
        self.output_name = out.name
        oshape = [_static(d) for d in out.shape]
        if any(d is None for d in oshape[1:]):  # dynamic dims: one probe run tells the real shape
            oshape = [None, *self.run_numpy(np.zeros((1, 3, *self.input_hw), np.float32)).shape[1:]]
        self._set_output(oshape, joints, depth_bins, output_hw)

    def _set_output(self, oshape: list[int | None], joints: int | None, depth_bins: int | None,
                    output_hw: tuple[int, int] | None) -> None:
        path, kind = self.onnx_path, self.output_kind
        want = f"{kind} output"
        if kind == "heatmaps" and len(oshape) == 4:
            c, h, w = oshape[1:]
            d = split_channels(c, joints, h) if joints or not depth_bins else depth_bins
            if not c or d is None or c % d:
                raise OnnxModelError(f"{path}: output {self.output_name!r} has {c} channels, which do not split into "
                                     f"joints x depth bins ({joints or 'joints'} x {depth_bins or h})")
            j = c // d
        elif kind == "heatmaps" and len(oshape) == 5:
            j, d, h, w = oshape[1:]
        elif kind == "coords" and len(oshape) == 3 and oshape[2] == 3:
            j = oshape[1]
            if not (depth_bins and output_hw):
                raise OnnxModelError(f"{path}: a coordinate output needs depth_bins and output_hw in the spec (the "
                                     f"units of its cells)")
            d, (h, w) = depth_bins, output_hw
        else:
            raise OnnxModelError(f"{path}: output {self.output_name!r} has shape {oshape}; a {want} must be "
                                 + ("[N, J*D, H, W] or [N, J, D, H, W]" if kind == "heatmaps" else "[N, J, 3]"))
        found = {"joints": j, "depth_bins": d, "output_hw": (h, w)}
        declared = {"joints": joints, "depth_bins": depth_bins, "output_hw": output_hw}
        wrong = [f"{k} {found[k]} (spec: {v})" for k, v in declared.items()
                 if v is not None and tuple(np.atleast_1d(v)) != tuple(np.atleast_1d(found[k]))]
        if wrong:
            raise OnnxModelError(f"{path}: the graph does not match its spec: {'; '.join(wrong)}")
        self.joints, self.depth_bins, self.output_hw = int(j), int(d), (int(h), int(w))

    # ------------------------------------------------------------------------------------------------ inference

    def run_numpy(self, batch: np.ndarray) -> np.ndarray:
        """[n,3,H,W] float -> raw first output, honouring layout, dtype and a fixed batch size."""
        if self.input_layout == "NHWC":
            batch = batch.transpose(0, 2, 3, 1)
        batch = np.ascontiguousarray(batch, dtype=self.input_dtype)
        step = self.fixed_batch or len(batch)
        outs = []
        for i in range(0, len(batch), step):
            chunk = batch[i:i + step]
            real = len(chunk)
            if real < step:  # pad a fixed-batch graph's last chunk
                chunk = np.concatenate([chunk, np.zeros((step - real, *chunk.shape[1:]), chunk.dtype)])
            outs.append(self.session.run([self.output_name], {self.input_name: chunk})[0][:real])
        return np.concatenate(outs).astype(np.float32, copy=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[N,3,H,W] normalised crops -> heatmap logits [N, J*D, Ho, Wo] on ``x``'s device (float32)."""
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"{self.onnx_path.name}: expected crops [N,3,H,W], got {tuple(x.shape)}")
        if tuple(x.shape[2:]) != self.input_hw:
            raise ValueError(f"{self.onnx_path.name}: expected {self.input_hw[0]}x{self.input_hw[1]} crops, got "
                             f"{x.shape[2]}x{x.shape[3]}")
        out = torch.from_numpy(self.run_numpy(x.detach().float().cpu().numpy()))
        n = out.shape[0]
        if self.output_kind == "coords":
            out = coords_to_heatmaps(out, self.depth_bins, self.output_hw)
        else:
            out = out.reshape(n, self.joints * self.depth_bins, *self.output_hw)
        return out.to(x.device)

    def extra_repr(self) -> str:
        return (f"{self.onnx_path.name}, {self.input_layout} {self.input_hw}, {self.output_kind} "
                f"J={self.joints} D={self.depth_bins} {self.output_hw}")


def split_channels(channels: int | None, joints: int | None, height: int | None) -> int | None:
    """Depth bins of a [N, J*D, H, W] output: from the spec's joints, else D == H (3DMPPE), else a known J."""
    if not channels:
        return None
    if joints:
        return channels // joints if channels % joints == 0 else None
    if height and channels % height == 0 and channels // height in KNOWN_JOINT_COUNTS:
        return height
    for j in KNOWN_JOINT_COUNTS:
        if channels % j == 0:
            return channels // j
    return None


@register_family("onnx")
def build_onnx(arch: Mapping[str, Any]) -> OnnxPoseNet:
    """Builder for ``spec.arch`` (see the module docstring); ``onnx_path`` is required."""
    unknown = sorted(set(arch) - set(ARCH_KEYS))
    if unknown:
        raise ValueError(f"onnx arch: unknown keys {unknown}; known: {list(ARCH_KEYS)}")
    if not arch.get("onnx_path"):
        raise OnnxModelError("an ONNX model needs its .onnx file (arch has no 'onnx_path'); it has no untrained "
                             "mode. Import the file with: python main.py weights import FILE.onnx")
    hw = arch.get("output_hw")
    ihw = arch.get("input_hw")
    return OnnxPoseNet(arch["onnx_path"], output=str(arch.get("output", "heatmaps")),
                       joints=arch.get("joints"), depth_bins=arch.get("depth_bins"),
                       output_hw=tuple(hw) if hw else None, input_hw=tuple(ihw) if ihw else None,
                       providers=arch.get("providers"))


def is_onnx_spec(spec: ModelSpec) -> bool:
    """The spec's model is an ONNX file run by this module (its backend is this module's ``BACKEND``)."""
    return spec.backend == BACKEND


def build_onnx_net(spec: ModelSpec, onnx_path: str | Path) -> OnnxPoseNet:
    """The net of an ONNX spec from its file, checked against the spec's input size, joints and heatmap shape."""
    if not is_onnx_spec(spec):
        raise ValueError(f"{spec.name} uses the {spec.backend} backend, not onnx")
    arch = {"output": "heatmaps", **dict(spec.arch), "onnx_path": str(onnx_path),
            "joints": spec.num_joints, "depth_bins": spec.depth_bins, "output_hw": tuple(spec.output_hw),
            "input_hw": tuple(spec.input_hw)}
    return build_onnx(arch).eval()
