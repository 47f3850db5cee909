"""Registered ONNX-backed models: PINTO's third-party MobileHumanPose files (PINTO_model_zoo).

MobileHumanPose's authors never released weights; the only trained ones are ONNX conversions in PINTO_model_zoo
``156_MobileHumanPose``, published inside Google Drive ``resources.tar.gz`` archives. They predict the 21 MuCo-3DHP
joints from a plain 0..255 RGB crop (no normalisation, as ibaiGorordo/ONNX-Mobile-Human-Pose-3D feeds them).
The heatmap shape is read from the file at load; 32x32 maps with 32 depth bins (the LPSKI configuration) are
declared and checked. Imported with ``python main.py weights import mobile_human_pose_..._256x256.onnx``.
"""

from __future__ import annotations

from models.spec import CheckpointLayout, CheckpointSource, ModelSpec, Published, register

_GDRIVE = "https://drive.google.com/uc?id="
_ARCHIVE_NOTE = "resources.tar.gz archive: extract the .onnx and import it (python main.py weights import FILE.onnx)"
_ONNX_LAYOUT = CheckpointLayout(wrapper_key=None, prefix="", packaging="onnx")
_PROVENANCE = (
    "Third-party weights, not from the MobileHumanPose authors (who released none): PINTO0309/PINTO_model_zoo "
    "156_MobileHumanPose, file {file} from the '{tag}' archive, as used by ibaiGorordo/ONNX-Mobile-Human-Pose-3D. "
    "Training data, backbone and width are undocumented; MuCo 21 joints and raw 0..255 input follow that usage. "
    "No published Human3.6M figures apply."
)

INPUT_HW = (256, 256)
OUTPUT_HW = (32, 32)
DEPTH_BINS = 32

for _name, _tag, _id in (
    ("mhp-onnx-working-well", "working_well", "1vvjUsP_41Nqhj8oqRw2OpWjIdz8t5fxG"),
    ("mhp-onnx-baseline", "baseline", "1hlu8GtgeK2-DmYxJgQ4WOfypAZu9nQbK"),
):
    _file = f"mobile_human_pose_{_tag}_256x256.onnx"
    register(ModelSpec(
        name=_name, family="onnx", variant=f"PINTO ONNX '{_tag}' (MuCo 21 joints)", joint_set="muco21",
        input_hw=INPUT_HW, normalisation="raw_0_255", output_hw=OUTPUT_HW, depth_bins=DEPTH_BINS,
        decoding="3dmppe", depth_range_mm=2000.0,
        arch={"output": "heatmaps", "joints": 21, "depth_bins": DEPTH_BINS, "output_hw": OUTPUT_HW,
              "input_hw": INPUT_HW, "onnx_file": _file},
        published=Published(source="none: third-party weights (see notes)"),
        checkpoints=(CheckpointSource(_GDRIVE + _id, "resources.tar.gz", kind="gdrive", note=_ARCHIVE_NOTE),),
        layout=_ONNX_LAYOUT, backend="onnx", official=False, notes=_PROVENANCE.format(file=_file, tag=_tag),
    ))
