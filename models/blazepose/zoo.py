"""The bundled reference model: MediaPipe BlazePose GHUM (full), trained, shipped in ``assets/blazepose/``.

Not one of the papers' models: it is here so a first run shows a real 3D skeleton offline (docs/blazepose.md). Its
33 landmarks are mapped onto the Human3.6M 18 joints (docs/joint_sets.md) and re-encoded as 64x64x64 heatmaps, so
it runs through the same predictor, flip test and decoding as the others; its metric 3D lets it place itself
through the camera when no RootNet runs (``metric_3d``).
"""

from __future__ import annotations

from models.spec import ModelSpec, Published, register

register(ModelSpec(
    name="blazepose-full", family="blazepose", variant="GHUM full (33 landmarks)", joint_set="h36m18",
    input_hw=(256, 256), normalisation="raw_0_255", output_hw=(64, 64), depth_bins=64, decoding="3dmppe",
    depth_range_mm=2000.0, backend="tflite", official=False, reference=True, metric_3d=True,
    arch={"depth_bins": 64, "depth_range_mm": 2000.0, "output_hw": (64, 64), "model_path": None,
          "asset": "blazepose/pose_landmark_full.tflite"},
    published=Published(source="MediaPipe BlazePose GHUM model card (no Human3.6M Protocol 2 figure published)"),
    notes="reference model bundled with the app (MediaPipe BlazePose GHUM, Apache-2.0), not one of the papers'; "
          "33 landmarks mapped onto the Human3.6M joints",
))
