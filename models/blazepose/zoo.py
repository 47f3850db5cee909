"""The bundled reference models: MediaPipe BlazePose GHUM lite, full and heavy, trained, in ``assets/blazepose/``.

Not the papers' models: they are here so a first run shows real 3D skeletons offline, side by side (docs/blazepose.md).
The three sizes share one input and output layout, one joint mapping and one placement, so one table describes them.
Their 33 landmarks are mapped onto the Human3.6M 18 joints (docs/joint_sets.md) and re-encoded as 64x64x64 heatmaps,
so they run through the same predictor, flip test and decoding as the others; their metric 3D lets them place
themselves through the camera when no RootNet runs (``metric_3d``).
"""

from __future__ import annotations

from models.spec import ModelSpec, Published, register

# size -> (variant label, file under assets/); the files' provenance and sha256 are in assets/blazepose/README.md
SIZES = {
    "lite": ("GHUM lite (33 landmarks)", "blazepose/pose_landmark_lite.tflite",
             "f17bfbecadb61c3be1baa8b8d851cc6619c870a87167b32848ad20db306b9d61"),
    "full": ("GHUM full (33 landmarks)", "blazepose/pose_landmark_full.tflite",
             "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f"),
    "heavy": ("GHUM heavy (33 landmarks)", "blazepose/pose_landmark_heavy.tflite",
              "59e42d71bcd44cbdbabc419f0ff76686595fd265419566bd4009ef703ea8e1fe"),
}

for _size, (_variant, _asset, _sha256) in SIZES.items():
    register(ModelSpec(
        name=f"blazepose-{_size}", family="blazepose", variant=_variant, joint_set="h36m18",
        input_hw=(256, 256), normalisation="raw_0_255", output_hw=(64, 64), depth_bins=64, decoding="3dmppe",
        depth_range_mm=2000.0, backend="tflite", official=False, reference=True, metric_3d=True,
        arch={"depth_bins": 64, "depth_range_mm": 2000.0, "output_hw": (64, 64), "model_path": None, "asset": _asset,
              "sha256": _sha256},
        published=Published(source="MediaPipe BlazePose GHUM model card (no Human3.6M Protocol 2 figure published)"),
        notes=f"reference model bundled with the app (MediaPipe BlazePose GHUM {_size}, Apache-2.0), not one of the "
              "papers'; 33 landmarks mapped onto the Human3.6M joints",
    ))
