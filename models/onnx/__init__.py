"""ONNX models: import, inspection, matching onto a registered family, alignment, conversion, store and runtime.

Why a room: an ONNX file is a foreign format with its own life cycle (identify, align joints, store with a hash,
run on onnxruntime); everything about it lives here, and its catalogue entries are in ``models.onnx.zoo``.
"""
