"""Does a state_dict fit a model, and which registered model is it: strict loading and identification.

Why apart from reading (models/checkpoint.py): reading is about file formats and safety; this is about keys and
shapes. A strict load names every missing / unexpected / mis-shaped key; identification finds the registered model
whose keys and shapes equal the file's, and otherwise says what the file most likely is and which models come
nearest (counts on one line, key lists below it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import torch

from models.checkpoint import _LIST_CAP, CheckpointError, _first_line, read_checkpoint
from models.spec import ModelSpec, all_specs, build

__all__ = [
    "KeyReport",
    "compare_keys",
    "expected_shapes",
    "identification_note",
    "identify_checkpoint",
    "identify_state_dict",
    "load_strict",
]

BENIGN_MISSING_SUFFIX = "num_batches_tracked"  # torch <= 0.4.0 checkpoints (Integral) lack it


# ---------------------------------------------------------------------------------------------------- strict load


class KeyReport:
    """Differences between a checkpoint's keys/shapes and a model's."""

    def __init__(self, missing: list[str], unexpected: list[str],
                 mismatched: list[tuple[str, tuple[int, ...], tuple[int, ...]]]) -> None:
        self.benign = [k for k in missing if k.rsplit(".", 1)[-1] == BENIGN_MISSING_SUFFIX]
        self.missing = [k for k in missing if k.rsplit(".", 1)[-1] != BENIGN_MISSING_SUFFIX]
        self.unexpected = unexpected
        self.mismatched = mismatched  # (key, checkpoint shape, model shape)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.mismatched)

    @property
    def distance(self) -> int:
        return len(self.missing) + len(self.unexpected) + len(self.mismatched)

    def counts(self) -> str:
        """'174 missing, 122 unexpected keys' (numbers only: the one-line summary)."""
        parts = [f"{len(v)} {what}" for v, what in ((self.missing, "missing"), (self.unexpected, "unexpected"),
                                                   (self.mismatched, "mismatched")) if v]
        return (", ".join(parts) + " keys") if parts else "keys and shapes match"

    def describe(self, cap: int = _LIST_CAP) -> str:
        parts = []
        if self.missing:
            parts.append(f"{len(self.missing)} missing key(s): {_capped(self.missing, cap)}")
        if self.unexpected:
            parts.append(f"{len(self.unexpected)} unexpected key(s): {_capped(self.unexpected, cap)}")
        if self.mismatched:
            items = [f"{k} (checkpoint {list(a)} vs model {list(b)})" for k, a, b in self.mismatched]
            parts.append(f"{len(self.mismatched)} shape mismatch(es): {_capped(items, cap)}")
        return "; ".join(parts) or "keys and shapes match"


def _capped(items: list[str], cap: int) -> str:
    shown = ", ".join(items[:cap])
    return shown + (f", ... and {len(items) - cap} more" if len(items) > cap else "")


def compare_keys(expected: Mapping[str, tuple[int, ...]], sd: Mapping[str, Any]) -> KeyReport:
    """Compare a model's ``{key: shape}`` with a state_dict (tensors or shapes)."""
    got = {k: tuple(v.shape) if isinstance(v, torch.Tensor) else tuple(v) for k, v in sd.items()}
    missing = [k for k in expected if k not in got]
    unexpected = [k for k in got if k not in expected]
    mismatched = [(k, got[k], tuple(expected[k])) for k in expected if k in got and got[k] != tuple(expected[k])]
    return KeyReport(missing, unexpected, mismatched)


def load_strict(net: torch.nn.Module, sd: Mapping[str, torch.Tensor], path: str | Path,
                model: str | None = None) -> None:
    """Load ``sd`` into ``net`` strictly; every difference is an error except missing ``num_batches_tracked``."""
    own = net.state_dict()
    report = compare_keys({k: tuple(v.shape) for k, v in own.items()}, sd)
    if not report.ok:
        who = f" {model}" if model else f" this {type(net).__name__}"
        hint = _other_model_hint(sd, model)
        raise CheckpointError(f"{path}: checkpoint does not fit{who}{hint}: {report.describe()}")
    full = dict(sd)
    for k in report.benign:
        full[k] = torch.zeros_like(own[k])
    try:
        net.load_state_dict(full, strict=True)
    except RuntimeError as e:  # dtype trouble and the like, after our key/shape check passed
        raise CheckpointError(f"{path}: loading into{' ' + model if model else ''} failed: {_first_line(e)}") \
            from None


def _other_model_hint(sd: Mapping[str, torch.Tensor], model: str | None) -> str:
    """' (it is a checkpoint of X)' when the state_dict matches another registered model exactly."""
    try:
        other, _ = identify_state_dict(sd)
    except Exception:
        return ""
    return "" if other.name == model else f" (it is a checkpoint of {other.name})"


# ---------------------------------------------------------------------------------------------------- identify

_SHAPES_CACHE: dict[str, dict[str, tuple[int, ...]]] = {}


def _arch_key(family: str, arch: Mapping[str, Any]) -> str:
    return family + repr(sorted((k, repr(v)) for k, v in arch.items()))


def expected_shapes(spec: ModelSpec, arch: Mapping[str, Any] | None = None) -> dict[str, tuple[int, ...]]:
    """``{key: shape}`` of the network a spec (or an arch of its family) builds; built on the meta device."""
    from dataclasses import replace

    if arch is not None:
        spec = replace(spec, arch=dict(arch))
    key = _arch_key(spec.family, spec.arch)
    if key not in _SHAPES_CACHE:
        try:
            with torch.device("meta"):
                net = build(spec)
        except Exception:  # a builder that needs real data: build on CPU (slower, same shapes)
            net = build(spec)
        _SHAPES_CACHE[key] = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    return _SHAPES_CACHE[key]


def _variant_inferers() -> dict[str, Any]:
    """Families whose variant follows from tensor shapes (for messages about unregistered variants)."""
    try:
        import models.variant_inference as vi
    except ImportError:
        return {}
    return {fam: getattr(vi, fn) for fam, fn in (("convnextpose", "infer_convnextpose_arch"),
                                                  ("mobilehumanpose", "infer_mobilehumanpose_arch"))
            if hasattr(vi, fn)}


def identification_note(spec: ModelSpec) -> str:
    """What to tell on import when a file identifying as ``spec`` may be published as another model ('' if none);
    the registry (models/zoo.py) holds it beside the models it concerns."""
    return spec.identification_note


def identify_state_dict(sd: Mapping[str, torch.Tensor], path: str | Path = "<checkpoint>",
                        candidates: Iterable[ModelSpec] | None = None) -> tuple[ModelSpec, dict[str, Any]]:
    """The registered model whose keys and shapes equal the state_dict's; CheckpointError naming the closest."""
    specs = [s for s in (candidates if candidates is not None else all_specs()) if s.loads_torch_checkpoint]
    scored: list[tuple[int, int, ModelSpec, KeyReport]] = []
    for i, spec in enumerate(specs):
        try:
            report = compare_keys(expected_shapes(spec), sd)
        except Exception:  # a family whose builder is not available cannot be a match
            continue
        scored.append((report.distance, i, spec, report))
    exact = [s for d, _, s, _ in sorted(scored, key=lambda t: (t[0], not t[2].official, t[1])) if d == 0]
    if exact:
        return exact[0], dict(exact[0].arch)
    msg = f"{path}: matches no registered model ({len(sd)} tensors{_layout_guess(sd)})"
    inferred = _describe_inferred(sd)
    if inferred:
        msg += f"; {inferred}"
    closest = sorted(scored, key=lambda t: (t[0], t[1]))[:3]
    if closest:  # a one-line summary first; the key lists on the lines below (a details view / indented in the CLI)
        msg += ". Nearest: " + ", ".join(f"{s.name} ({r.counts()})" for _, _, s, r in closest)
        msg += "\nClosest: " + " | ".join(f"{s.name}: {r.describe(cap=3)}" for _, _, s, r in closest)
    raise CheckpointError(msg)


_LAYOUTS = (  # key patterns -> what kind of network a foreign state_dict probably is (for the message only)
    (("conv1.weight", "layer1.0.", "fc.weight"), "a torchvision-style ResNet classifier"),
    (("conv1.weight", "layer1.0."), "a ResNet-style network"),
    (("downsample_layers.", "stages."), "a ConvNeXt-style network"),
    (("features.", "classifier."), "a torchvision-style MobileNet/VGG classifier"),
    (("model.0.", "model.1."), "an ultralytics YOLO model"),
)


def _layout_guess(sd: Mapping[str, Any]) -> str:
    """'; its keys look like X' when the key names match a known layout, else '' (a hint, never a verdict)."""
    keys = list(sd)
    for patterns, what in _LAYOUTS:
        if all(any(k.startswith(p) or f".{p}" in k for k in keys) for p in patterns):
            return f"; its keys look like {what}"
    return ""


def _describe_inferred(sd: Mapping[str, torch.Tensor]) -> str:
    for family, infer in _variant_inferers().items():
        try:
            arch = infer(sd)
        except Exception:
            continue
        if arch:
            return f"its shapes describe a {family} network {dict(arch)} that no registered model has"
    return ""


def identify_checkpoint(path: str | Path, trusted_sha256: set[str] | None = None
                        ) -> tuple[ModelSpec, dict[str, Any], dict[str, torch.Tensor]]:
    """Which registered model a file belongs to, by key layout and shapes -> (spec, arch, state_dict).

    Matching is exact (every key and shape, missing ``num_batches_tracked`` excepted), so ResNet depth, joint count,
    depth bins, head type and ConvNeXtPose / MobileHumanPose variants all follow from the file itself.
    """
    sd = read_checkpoint(path, trusted_sha256)
    spec, arch = identify_state_dict(sd, path)
    return spec, arch, sd
