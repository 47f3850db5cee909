"""onnxruntime: the torch net exported once to the ONNX cache (``onnx_cache``), then run by a session.

One-input pose graphs run through ``models.onnx.backend.OnnxPoseNet`` (the wrapper the imported ONNX models use);
graphs with more inputs (RootNet's image + k_value) through a plain session fed by input name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from engine.inference.backends.base import DEFAULT_OPSET, Backend, register_backend
from engine.inference.backends.onnx_cache import export_onnx, onnx_cache_path, weights_tag
from engine.inference.net_io import onnx_input_names, output_name, torch_built

__all__ = ["OnnxRuntime"]


@register_backend("onnxruntime")
class OnnxRuntime(Backend):
    label_part = "onnxruntime"
    fixed = {"precision": "fp32", "channels_last": False, "compile": False, "cuda_graphs": False}
    fixed_reason = "runs the exported fp32 graph"

    def prepare(self, net: torch.nn.Module, *, weights_sha256: str | None = None,
                cache_dir: str | Path | None = None, opset: int = DEFAULT_OPSET) -> OnnxRuntime:
        """Export into the cache unless a file is there; an unreadable or foreign cache entry is re-exported once."""
        spec = self.spec
        if not torch_built(spec):
            raise ValueError(f"{spec.name} is already an ONNX model run by onnxruntime; prepare it with the torch "
                             f"backend (fp32), which calls its session")
        path = onnx_cache_path(spec, weights_tag(net, weights_sha256), opset, cache_dir)
        if not path.is_file():
            export_onnx(net, spec, path, opset)
            self.exported = True
        try:
            self._open(path)
        except Exception:
            if self.exported:
                raise
            export_onnx(net, spec, path, opset)
            self.exported = True
            self._open(path)
        self.onnx_path = path
        return self

    def _open(self, path: Path) -> None:
        """A runner for the exported graph, checked against the spec (wrong file -> ValueError)."""
        from models.onnx.backend import OnnxPoseNet, ort_providers

        spec = self.spec
        providers = ort_providers(prefer_cuda=self.device.type == "cuda")
        if len(spec.inputs) == 1:
            self._pose = OnnxPoseNet(path, joints=spec.num_joints, depth_bins=spec.depth_bins,
                                     output_hw=spec.output_hw, input_hw=spec.input_hw, providers=providers)
            self._session = None
            self.providers = list(self._pose.providers)
            return
        self._session = _session(path, providers)
        inputs, output = onnx_input_names(spec), output_name(spec)
        got_in = [i.name for i in self._session.get_inputs()]
        got_out = [o.name for o in self._session.get_outputs()]
        if (got_in != inputs or got_out != [output]
                or list(self._session.get_inputs()[0].shape[1:]) != [3, *spec.input_hw]):
            raise ValueError(f"{path}: not a {spec.name} graph (inputs {got_in}, outputs {got_out}); expected "
                             f"{inputs} -> {output}")
        self.providers = list(self._session.get_providers())

    def forward(self, *args: torch.Tensor) -> torch.Tensor:
        if self._session is None:
            return self._pose(args[0]).to(self.device)
        feeds = {i.name: a.detach().float().cpu().contiguous().numpy()
                 for i, a in zip(self._session.get_inputs(), args)}
        return torch.from_numpy(np.ascontiguousarray(self._session.run(None, feeds)[0])).to(self.device)


def _session(path: Path, providers: list[str]) -> Any:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = max(1, torch.get_num_threads())
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), opts, providers=providers)
