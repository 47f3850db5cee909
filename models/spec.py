"""Declarative model specs and the model registry.

One ``ModelSpec`` per registered model; architectures register a *family builder* that turns the spec's
``arch`` mapping into an ``nn.Module``, and each ``backend`` registers a *runtime* (models/runtimes.py) that
finds, loads and installs its weights. Adding a model means registering one spec, never editing a switch.

Why this module imports nothing back (timm's ``_registry.py`` pattern): the package ``models/__init__.py``
imports ``models.zoo``, which imports the architecture and runtime modules and registers the specs. Python
always runs the package first, so ``from models.spec import get_spec`` sees the full registry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from models.registry import Registry

__all__ = [
    "CheckpointLayout",
    "CheckpointSource",
    "ModelSpec",
    "Published",
    "FAMILIES",
    "RUNTIMES",
    "SPECS",
    "all_specs",
    "build",
    "check_arch_keys",
    "get_spec",
    "model_names",
    "register",
    "register_family",
    "register_runtime",
]


@dataclass(frozen=True)
class CheckpointSource:
    """Where an official (or third-party) checkpoint can be obtained."""

    url: str
    filename: str
    sha256: str | None = None  # no upstream publishes checksums: recorded on first trusted download
    kind: str = "http"  # http | gdrive | gdrive-folder | dropbox | manual
    note: str = ""


@dataclass(frozen=True)
class CheckpointLayout:
    """How the released file wraps the state_dict."""

    wrapper_key: str | None = "network"  # torch.save({'epoch', 'network': sd, ...})
    prefix: str = "module."  # DataParallel
    packaging: str = "torch"  # torch | zip-tar (a zip named .tar, entries under one folder)


@dataclass(frozen=True)
class Published:
    """Published Human3.6M figures (mm) with their source; None where the paper gives none."""

    mpjpe_p2: float | None = None  # Protocol 2: MPJPE on S9+S11, GT box and root
    pa_mpjpe_p1: float | None = None  # Protocol 1: PA-MPJPE (no scale) on S11
    mpjpe_p2_rootnet: float | None = None  # with RootNet boxes and roots
    pa_mpjpe_p1_rootnet: float | None = None
    mrpe_p2: float | None = None  # RootNet mean root position error
    per_action_mpjpe_p2: tuple[float, ...] | None = None  # 15 actions, H36M order
    source: str = ""


@dataclass(frozen=True)
class ModelSpec:
    """Everything the app needs to know about one registered model."""

    name: str  # registry name, e.g. "posenet-r50"
    family: str  # rootnet | posenet | convnextpose | mobilehumanpose | integral | onnx
    variant: str
    joint_set: str  # "h36m18" | "muco21" | "root" (RootNet)
    input_hw: tuple[int, int]  # network input (H, W)
    normalisation: str  # imagenet_0_255 (3DMPPE quirk) | imagenet (0..255 standard) | raw_0_255
    output_hw: tuple[int, int]  # heatmap (H, W)
    depth_bins: int
    decoding: str  # "3dmppe" | "integral" | "rootnet"
    depth_range_mm: float = 2000.0  # heatmap depth span: z_rel = (z_bin / D - 0.5) * depth_range_mm
    # Its own test's conventions, by registered name (engine.inference.conventions holds the classes): the crop box
    # (3dmppe | integral-gt | integral-challenge) and the step from decoded pose to camera mm (backproject |
    # bone-length-rescale); ``extra_metrics`` are the figures its own evaluation reports besides 3DMPPE's.
    crop_policy: str = "3dmppe"
    pose_to_camera: str = "backproject"
    extra_metrics: tuple[str, ...] = ()
    arch: Mapping[str, Any] = field(default_factory=dict)  # builder arguments
    fixture: str | None = None  # conformance fixture name in tests/fixtures/conformance
    params: int | None = None
    gmacs: float | None = None
    activation_mb: float | None = None  # peak live activations of one crop in a forward (MiB, bench.benchmark_memory)
    published: Published = Published()
    checkpoints: tuple[CheckpointSource, ...] = ()
    layout: CheckpointLayout = CheckpointLayout()
    backend: str = "torch"  # torch | onnx: the registered runtime that loads it (see ``runtime``)
    inputs: tuple[str, ...] = ("image",)  # network inputs in call order: "image" [N,3,H,W], "k_value" [N,1]
    metric_3d: bool = False  # the net also gives metric root-relative 3D (``last_world_mm``): it can place itself
    reference: bool = False  # a bundled reference model (BlazePose), not one of the papers' models
    official: bool = True  # False for third-party or unreleased weights
    notes: str = ""
    # Told on import when a file identifies as this model yet may be published as another (same keys and shapes).
    identification_note: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "arch", MappingProxyType(dict(self.arch)))

    @property
    def num_joints(self) -> int:
        from models.joints import get_joint_set

        return 1 if self.is_root_model else get_joint_set(self.joint_set).num_joints

    @property
    def is_root_model(self) -> bool:
        """A root-depth model (RootNet: ``joint_set == "root"``), not a pose model: it gives one point per person."""
        return self.joint_set == "root"

    @property
    def takes_k_value(self) -> bool:
        """The network's call takes RootNet's ``k_value`` [N,1] after the image (declared in ``inputs``)."""
        return "k_value" in self.inputs

    @property
    def runtime(self) -> Any:
        """The runtime registered for ``backend`` (models/runtimes.py): file suffixes, load, download install.

        Callers ask it (or the properties below) instead of comparing ``backend`` with a name. KeyError naming the
        known backends when none is registered.
        """
        return RUNTIMES.lookup(self.backend)

    @property
    def can_run_untrained(self) -> bool:
        """The net can be built with random weights for speed tests (torch-built nets; an ONNX model is its file)."""
        rt = RUNTIMES.get(self.backend)
        return bool(rt is not None and rt.can_run_untrained)

    @property
    def loads_torch_checkpoint(self) -> bool:
        """Its weights are a torch state_dict for ``build(spec)`` (so checkpoints can be identified as this model)."""
        rt = RUNTIMES.get(self.backend)
        return bool(rt is not None and rt.loads_torch_checkpoint)


SPECS: Registry[ModelSpec] = Registry("model")
FAMILIES: Registry[Callable[[Mapping[str, Any]], Any]] = Registry("family")
RUNTIMES: Registry[Any] = Registry("runtime", set_kind=True)  # backend name -> runtime class (models/runtimes.py)


def register(spec: ModelSpec) -> ModelSpec:
    """Add a spec; a duplicate name is a programming error."""
    return SPECS.add(spec.name, spec, duplicate=f"model {spec.name!r} is already registered")


def register_family(family: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: register the function that builds a family's nn.Module from ``spec.arch``."""

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        return FAMILIES.add(family, fn, duplicate=f"family {family!r} already has a builder")

    return deco


def register_runtime(backend: str) -> Callable[[type], type]:
    """Class decorator: the runtime of ``ModelSpec.backend == backend`` (it gets ``kind = backend``)."""
    return RUNTIMES.register(backend)


def check_arch_keys(family: str, arch: Mapping[str, Any], keys: Sequence[str]) -> None:
    """For family builders: an arch dict with a key missing or an unknown one is refused, with both lists named."""
    missing = [k for k in keys if k not in arch]
    unknown = sorted(set(arch) - set(keys))
    if missing or unknown:
        raise ValueError(f"{family} arch: missing keys {missing}, unknown keys {unknown}")


def get_spec(name: str) -> ModelSpec:
    try:
        return SPECS[name]
    except KeyError:
        raise KeyError(f"unknown model {name!r}; known: {', '.join(sorted(SPECS))}") from None


def model_names() -> list[str]:
    return list(SPECS)


def all_specs() -> list[ModelSpec]:
    return list(SPECS.values())


def build(spec: ModelSpec | str):  # -> nn.Module
    """Build the untrained network for a spec (eval mode)."""
    if isinstance(spec, str):
        spec = get_spec(spec)
    try:
        builder = FAMILIES[spec.family]
    except KeyError:
        raise KeyError(f"no builder registered for family {spec.family!r}") from None
    return builder(spec.arch).eval()
