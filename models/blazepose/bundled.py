"""The "tflite" runtime: a LiteRT model file shipped in ``assets/`` (BlazePose), trained and usable offline.

Why a runtime of its own: its weights are neither a torch state_dict nor a download; the file named by the spec
ships with the app, so ``find_weights`` finds it with nothing installed, and there is no untrained mode.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from torch import nn

from assets import asset_path
from models.checkpoint import CheckpointError, sha256_file
from models.runtimes import Runtime
from models.spec import ModelSpec, build, register_runtime

__all__ = ["BundledTfliteRuntime"]


@register_runtime("tflite")
class BundledTfliteRuntime(Runtime):
    """A ``.tflite`` model run by LiteRT; ``spec.arch["asset"]`` names its file under ``assets/``."""

    file_suffixes = (".tflite",)

    @classmethod
    def bundled_file(cls, spec: ModelSpec) -> Path | None:
        asset = spec.arch.get("asset")
        return asset_path(*str(asset).split("/")) if asset else None

    @classmethod
    def bundled_sha256(cls, spec: ModelSpec) -> str | None:
        return spec.arch.get("sha256")

    @classmethod
    def load(cls, spec: ModelSpec, path: Path, weights_dir: Path) -> nn.Module:
        want = cls.bundled_sha256(spec)
        if want and path == cls.bundled_file(spec) and sha256_file(path) != want:
            raise CheckpointError(f"{path}: the bundled {spec.name} file is damaged (its sha256 is not the one that "
                                  "ships with the app); reinstall PoseArena")
        return build(replace(spec, arch={**spec.arch, "model_path": str(path)})).eval().cpu()

    @classmethod
    def accept_download(cls, spec: ModelSpec, staged: Path, weights_dir: Path, url: str, sha256: str,
                        trusted: bool) -> None:
        return None  # a .tflite file is moved in as is; loading it checks the layout

