"""Inference backends, one class per file, found by name in ``BACKEND_CLASSES`` (see ``base``).

Importing the package registers every backend; ``engine.inference.fast_paths`` picks one per profile.
"""

from engine.inference.backends import cuda_graphs, onnx_runtime, torch_compile, torch_eager  # noqa: F401 (register)
from engine.inference.backends.base import BACKEND_CLASSES, DEFAULT_OPSET, Backend, Switches, register_backend

__all__ = ["BACKEND_CLASSES", "DEFAULT_OPSET", "Backend", "Switches", "register_backend"]
