"""Recognise, store and (where possible) convert ONNX pose models into strict PyTorch checkpoints: the public facade.

Why: the only trained MobileHumanPose weights are third-party ONNX files (PINTO_model_zoo 156_MobileHumanPose).
The ONNX backend runs them as they are; when a file's weights map layer by layer onto a registered PoseArena
architecture, converting it lets the torch pipeline run it. One job per module, used in this order:

- ``models.onnx.inspect`` — parse and check the file, describe it (``inspect_onnx``, ``OnnxInfo``, the errors);
- ``models.onnx.graph``   — folded constants, the graph's parameterised layers, its input affine;
- ``models.onnx.align``   — fill a torch net's state_dict from those layers (``OnnxMapping``, BN folding);
- ``models.onnx.match``   — which registered architecture fits (``match_architecture``);
- ``models.onnx.convert`` — write the checkpoint after a parity check in mm (``convert_to_checkpoint``);
- ``models.onnx.store``   — the weights-directory import (``import_onnx``, ``import_onnx_archive``).

This module only re-exports those names for callers outside ``models/`` (``python main.py weights import``, the
GUI, tests); code inside ``models/`` imports the module that does the job.
"""

from __future__ import annotations

from models.onnx.align import OnnxMapping
from models.onnx.convert import convert_to_checkpoint, verify_conversion
from models.onnx.inspect import (
    ConversionRefusedError,
    NoMappingError,
    OnnxImportError,
    OnnxInfo,
    TensorInfo,
    inspect_onnx,
)
from models.onnx.match import match_architecture
from models.onnx.store import import_onnx, import_onnx_archive

__all__ = [
    "ConversionRefusedError",
    "NoMappingError",
    "OnnxImportError",
    "OnnxInfo",
    "OnnxMapping",
    "TensorInfo",
    "convert_to_checkpoint",
    "import_onnx",
    "import_onnx_archive",
    "inspect_onnx",
    "match_architecture",
    "verify_conversion",
]
