"""Pure-torch model architectures, the model registry and checkpoint handling (no Qt)."""

from models.spec import ModelSpec, all_specs, build, get_spec, model_names, register, register_family

__all__ = ["ModelSpec", "all_specs", "build", "get_spec", "model_names", "register", "register_family"]
