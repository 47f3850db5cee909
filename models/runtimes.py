"""One class per ``ModelSpec.backend``: how that kind of model's weights are stored, loaded and installed.

Why: the loader, the weights store and the checkpoint identifier never branch on ``spec.backend``; they ask
``spec.runtime`` (registered here by backend name through ``models.spec.register_runtime``), like ultralytics' one
class per backend. Adding a backend means registering one class here.

A runtime is a class used as a namespace (no state); the registry sets ``kind`` to its backend name.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from torch import nn

from models.checkpoint import read_checkpoint
from models.matching import load_strict
from models.onnx.backend import BACKEND as ONNX_BACKEND
from models.onnx.backend import build_onnx_net
from models.spec import ModelSpec, build, register_runtime
from models.weights.store import ManifestEntry, WeightsError, trusted_hashes, verify_checkpoint

__all__ = ["OnnxRuntime", "Runtime", "TorchRuntime"]


class Runtime:
    """The interface every backend implements (see the subclasses for what each means)."""

    kind: ClassVar[str] = ""  # the backend name, set by the registry
    file_suffixes: ClassVar[tuple[str, ...]] = ()  # ``<model><suffix>`` found without a manifest entry; [0] = stored
    can_run_untrained: ClassVar[bool] = False  # a random-weight net can be built (speed tests)
    loads_torch_checkpoint: ClassVar[bool] = False  # its weights are a state_dict for models.spec.build

    @classmethod
    def bundled_file(cls, spec: ModelSpec) -> Path | None:
        """Weights shipped with the app (found when the weights folder has none); None for downloaded models."""
        return None

    @classmethod
    def bundled_sha256(cls, spec: ModelSpec) -> str | None:
        """The sha256 the bundled file must have (listed beside the manifest's hashes); None when nothing ships."""
        return None

    @classmethod
    def load(cls, spec: ModelSpec, path: Path, weights_dir: Path) -> nn.Module:
        """The trained net from ``path`` (eval mode, CPU); CheckpointError / OnnxModelError when it does not fit."""
        raise NotImplementedError

    @classmethod
    def accept_download(cls, spec: ModelSpec, staged: Path, weights_dir: Path, url: str, sha256: str,
                        trusted: bool) -> ManifestEntry | None:
        """Check a finished download. None: the weights store moves it in as ``<model><file_suffixes[0]>``;
        an entry: the runtime stored the model itself (and removed ``staged``)."""
        raise NotImplementedError


@register_runtime("torch")
class TorchRuntime(Runtime):
    """A PoseArena architecture built by its family builder, filled by a strict state_dict load."""

    file_suffixes = (".pth", ".pth.tar", ".tar", ".pt")
    can_run_untrained = True
    loads_torch_checkpoint = True

    @classmethod
    def load(cls, spec: ModelSpec, path: Path, weights_dir: Path) -> nn.Module:
        sd = read_checkpoint(path, trusted_hashes(weights_dir))
        net = build(spec)
        load_strict(net, sd, path, spec.name)
        return net.eval().cpu()

    @classmethod
    def accept_download(cls, spec: ModelSpec, staged: Path, weights_dir: Path, url: str, sha256: str,
                        trusted: bool) -> ManifestEntry | None:
        verify_checkpoint(staged, spec, trusted_hashes(weights_dir) | ({sha256} if trusted else set()))
        return None


@register_runtime(ONNX_BACKEND)
class OnnxRuntime(Runtime):
    """An ONNX file run by onnxruntime (models.onnx.backend): the file is the model, so no untrained mode."""

    file_suffixes = (".onnx",)

    @classmethod
    def load(cls, spec: ModelSpec, path: Path, weights_dir: Path) -> nn.Module:
        return build_onnx_net(spec, path)

    @classmethod
    def accept_download(cls, spec: ModelSpec, staged: Path, weights_dir: Path, url: str, sha256: str,
                        trusted: bool) -> ManifestEntry | None:
        """Hand the download (a .onnx file or a tar archive of them) to models.onnx.store."""
        try:
            import models.onnx.store as onnx_store
        except ImportError as e:
            raise WeightsError(f"{url}: ONNX import is not available in this build ({e})") from None
        return onnx_store.install_download(spec, staged, weights_dir, url)

