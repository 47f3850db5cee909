"""Pure-torch model architectures, the model registry and checkpoint handling (no Qt).

Importing the package fills the registry: ``models.zoo`` imports the architecture and runtime modules (their
builders register) and registers every spec. ``models.spec`` itself imports nothing back, so there is no circle.
"""

from models import thread_policy  # noqa: F401, I001  (first: before torch loads OpenMP)
from models import zoo  # noqa: F401  (registers runtimes, family builders and specs)
from models.spec import ModelSpec, all_specs, build, get_spec, model_names, register, register_family

__all__ = ["ModelSpec", "all_specs", "build", "get_spec", "model_names", "register", "register_family"]
