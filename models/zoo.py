"""The registered models: one declarative ``ModelSpec`` each.

Architecture and runtime modules are *declared* (module paths, loaded on first use) so that reading the table needs
no torch: the GUI's widgets import ``models.joints`` and names without loading the networks. The package
``models/__init__.py`` imports this module; nothing imports it back (models.spec stays a plain registry).
Figures: the papers' tables and the official repositories' result images (each spec's ``reference``; the sources
per model: THIRD_PARTY_NOTICES.md). Parameter counts are those of the official code; GMACs are measured with
``torch.utils.flop_counter`` by ``python -m bench.model_stats`` (multiply-accumulates); activation_mb is the peak of
live activations of one crop in an eval forward, measured by ``python -m bench.benchmark_memory --activations``
(the CPU forward cap reads it: engine.inference.forward_cap).
"""

from __future__ import annotations

from models.spec import FAMILIES, RUNTIMES, CheckpointLayout, CheckpointSource, ModelSpec, Published, register

for _family, _module in (("convnextpose", "models.arch.convnextpose"),
                         ("mobilehumanpose", "models.arch.mobilehumanpose"), ("posenet", "models.arch.resnet"),
                         ("integral", "models.arch.resnet"), ("rootnet", "models.arch.resnet"),
                         ("onnx", "models.onnx.backend")):
    FAMILIES.declare(_family, _module)
for _backend in ("torch", "onnx"):
    RUNTIMES.declare(_backend, "models.runtimes")
FAMILIES.declare("blazepose", "models.blazepose.net")
RUNTIMES.declare("tflite", "models.blazepose.bundled")

_GDRIVE = "https://drive.google.com/uc?id="
_GDRIVE_FOLDER = "https://drive.google.com/drive/folders/"

POSENET_P2_PER_ACTION = (50.5, 55.7, 50.1, 51.7, 53.9, 46.8, 50.0, 61.9, 68.0, 52.5, 55.9, 49.9, 41.8, 56.1, 46.9)
INTEGRAL_P2_PER_ACTION = (47.5, 47.7, 49.5, 50.2, 51.4, 43.8, 46.4, 58.9, 65.7, 49.4, 55.8, 47.8, 38.9, 49.0, 43.8)

# Files with one model's keys and shapes that are published as another: the file identifies as the first model, so
# its import message (``identification_note``) and the other model's notes both tell it.
_ROOTNET_TWINS = ("rootnet-r50 (Human3.6M) and rootnet-r50-muco (MuCo demo snapshot_18) have the same architecture, "
                  "so a RootNet file identifies as rootnet-r50; import the MuCo snapshot with --as rootnet-r50-muco")
_INTEGRAL_R50_AS_POSENET = ("mks0601's Integral R50 re-implementation (the practical 'Integral R50 on Human3.6M P2') "
                            "has exactly the PoseNet key layout and 0..255 input convention, so its checkpoint "
                            "identifies as posenet-r50 too")

_3DMPPE = dict(normalisation="imagenet_0_255", input_hw=(256, 256), decoding="3dmppe", depth_range_mm=2000.0)

_ROOTNET = dict(family="rootnet", variant="ResNet-50", joint_set="root", output_hw=(64, 64), depth_bins=1,
                arch={"resnet": 50, "bbox_real_mm": (2000.0, 2000.0)}, params=33_997_634, gmacs=7.22,
                activation_mb=17.0,
                inputs=("image", "k_value"), **{**_3DMPPE, "decoding": "rootnet"})
_ROOTNET_FOLDER = _GDRIVE_FOLDER + "1oGXqscxZpakld6j4Lj4hEDy8DCnh9cAs"  # "pre-trained RootNet" (P1, P2, MuCo...)

register(ModelSpec(
    name="rootnet-r50", fixture="rootnet_r50", **_ROOTNET,
    published=Published(mrpe_p2=120.0,
                        source="3DMPPE_ROOTNET_RELEASE README (Human3.6M Protocol 2, x 23.3 y 23.0 z 108.1)"),
    checkpoints=(
        CheckpointSource(_ROOTNET_FOLDER, "snapshot_7.pth.tar", kind="gdrive-folder",
                         note="pre-trained RootNet folder: Human3.6M protocol 2 model (snapshot_7)"),
    ),
    notes="Human3.6M Protocol 2 snapshot: the benchmark's RootNet (its published MRPE is this model's). "
          "The live view's RootNet is rootnet-r50-muco.",
    identification_note=_ROOTNET_TWINS,
))

register(ModelSpec(
    name="rootnet-r50-muco", fixture=None, **_ROOTNET,
    published=Published(source="MuCo-trained demo snapshot: no Human3.6M figures (the README's MuPoTS-3D "
                               "AP_root25 31.0 % is for its MuCo-trained model)"),
    checkpoints=(
        CheckpointSource(_GDRIVE + "1ZHoXNFxBBsmis-5Xzu7dfXYGNxjpntgt", "snapshot_18.pth.tar", kind="gdrive",
                         note="RootNet demo snapshot (MuCo-trained, epoch 18)"),
    ),
    notes=f"MuCo-trained demo snapshot (snapshot_18): the live view's RootNet, trained on multi-person scenes. "
          f"{_ROOTNET_TWINS}.",
))

register(ModelSpec(
    name="posenet-r50", family="posenet", variant="ResNet-50, Human3.6M 18 joints", joint_set="h36m18",
    output_hw=(64, 64), depth_bins=64, arch={"resnet": 50, "joints": 18, "depth_bins": 64},
    fixture="posenet_r50_h36m18", params=34_291_392, gmacs=8.43, activation_mb=27.0, **_3DMPPE,
    published=Published(mpjpe_p2=53.3, pa_mpjpe_p1=34.0, mpjpe_p2_rootnet=54.4, pa_mpjpe_p1_rootnet=35.2,
                        per_action_mpjpe_p2=POSENET_P2_PER_ACTION,
                        source="3DMPPE_POSENET_RELEASE README tables (ICCV'19)"),
    checkpoints=(CheckpointSource(_GDRIVE_FOLDER + "1El3qfdtgttO90X25k_680V2UCDv_TPoJ", "snapshot_24.pth.tar",
                                  kind="gdrive-folder", note="pre-trained models folder: Human3.6M protocol 2 model"),),
    identification_note=_INTEGRAL_R50_AS_POSENET,
))

register(ModelSpec(
    name="posenet-r50-muco", family="posenet", variant="ResNet-50, MuCo 21 joints (demo)", joint_set="muco21",
    output_hw=(64, 64), depth_bins=64, arch={"resnet": 50, "joints": 21, "depth_bins": 64},
    fixture="posenet_r50_muco21", params=34_340_736, gmacs=8.63, activation_mb=30.0, **_3DMPPE,
    published=Published(source="MuCo-trained demo model: no Human3.6M figures"),
    checkpoints=(CheckpointSource(_GDRIVE + "1xjefKgjsH-W8v2lVn1Hbwzp2_Su7KtG0", "snapshot_24.pth.tar", kind="gdrive",
                                  note="PoseNet demo snapshot"),),
))

_CNP_FOLDER = _GDRIVE_FOLDER + "12H7zkLvmJtrkCmAUAPkQ6788WAnO60gI"
_CNP_LAYOUT = CheckpointLayout(packaging="zip-tar")
for _name, _var, _depths, _dims, _head, _bins, _ups, _params, _gmacs, _act, _pub in (
    ("convnextpose-xs", "XS", (2, 2, 6, 2), (40, 80, 160, 320), 128, 32, 2, 3_528_008, 0.815, 3.8,
     Published(mpjpe_p2=56.61, source="third-party transcription (unverified)")),
    ("convnextpose-s", "S", (3, 3, 9, 3), (48, 96, 192, 384), 256, 32, 2, 7_438_976, 1.74, 4.5,
     Published(mpjpe_p2=51.80, source="third-party transcription (unverified)")),
    ("convnextpose-m", "M", (3, 3, 9, 3), (48, 96, 192, 384), 256, 64, 3, 7_587_008, 2.79, 18.1,
     Published(mpjpe_p2=51.05, pa_mpjpe_p1=34.5, source="ConvNeXtPose README tables (IEEE Access'23)")),
    ("convnextpose-l", "L", (3, 3, 9, 3), (48, 96, 192, 384), 512, 64, 3, 8_380_352, 4.26, 18.1,
     Published(mpjpe_p2=49.75, pa_mpjpe_p1=32.8, source="ConvNeXtPose README tables (IEEE Access'23)")),
):
    _out = 32 if _ups == 2 else 64
    register(ModelSpec(
        name=_name, family="convnextpose", variant=_var, joint_set="h36m18", output_hw=(_out, _out), depth_bins=_bins,
        arch={"depths": _depths, "dims": _dims, "head_width": _head, "depth_bins": _bins,
              "head_upsample_layers": _ups, "joints": 18},
        fixture=f"convnextpose_{_var}", params=_params, gmacs=_gmacs, activation_mb=_act, published=_pub,
        layout=_CNP_LAYOUT, **_3DMPPE,
        checkpoints=(CheckpointSource(_CNP_FOLDER, f"ConvNeXtPose_{_var}.tar", kind="gdrive-folder",
                                      note="zip archive named .tar"),),
        notes="M/L: third head layer upsamples (64x64 map), inferred from the paper's GFLOPs" if _ups == 3 else "",
    ))

_MHP_NOTE = ("No official checkpoint was released; paper figures (S 56.9 / 35.7, L 51.4 / 35.2, XS 69.6 mm) cannot be "
             "mapped onto the released backbones. Trained weights exist only as third-party ONNX files.")
for _name, _bb, _w, _out, _params, _gmacs, _act in (
    ("mhp-lpski", "LPSKI", 1.0, 32, 3_500_064, 0.476, 16.0),
    ("mhp-lpski-w0.5", "LPSKI", 0.5, 32, 1_364_336, 0.255, 8.0),
    ("mhp-lpres", "LPRES", 1.0, 64, 7_253_888, 11.1, 364.0),
    ("mhp-lpwo", "LPWO", 1.0, 64, 4_034_336, 5.27, 220.0),
):
    register(ModelSpec(
        name=_name, family="mobilehumanpose", variant=f"{_bb} width {_w}", joint_set="h36m18", output_hw=(_out, _out),
        depth_bins=_out, arch={"backbone": _bb, "width": _w, "joints": 18, "embedding": 2048},
        fixture=f"mobilehumanpose_{_bb}_w{_w}", params=_params, official=False, notes=_MHP_NOTE, **_3DMPPE,
        gmacs=_gmacs, activation_mb=_act, published=Published(source="none: see notes"),
    ))

# Integral's own tests: hm36 test.py crops the 2000 mm square around the GT pelvis (hm36.py gt_db) and reports
# hm36_17j_align; the challenge test.py crops detector boxes x1.1 (hm36_eccv_challenge.py dt_db) and rescales the
# pose to a fixed bone length (net_modules.py evalNetChallenge). See docs/protocol_modes.md.
_INTEGRAL = dict(normalisation="imagenet", decoding="integral", family="integral", joint_set="h36m18",
                 extra_metrics=("integral_aligned",))
_INTEGRAL_HM36 = dict(_INTEGRAL, crop_policy="integral-gt")
_INTEGRAL_CHALLENGE = dict(_INTEGRAL, crop_policy="integral-challenge", pose_to_camera="bone-length-rescale")
register(ModelSpec(
    name="integral-r50", variant="ResNet-50 256x256", input_hw=(256, 256), output_hw=(64, 64), depth_bins=64,
    arch={"resnet": 50, "joints": 18, "depth_bins": 64}, fixture="integral_r50_256", params=34_291_392,
    activation_mb=27.0,
    **_INTEGRAL_HM36,
    gmacs=8.43, published=Published(mpjpe_p2=49.6, pa_mpjpe_p1=40.6, per_action_mpjpe_p2=INTEGRAL_P2_PER_ACTION,
                        source="Integral Human Pose paper (ECCV'18) as quoted by 3DMPPE; "
                               "mks0601 re-implementation 53.9"),
    notes=f"The authors released no R50 Human3.6M weights. {_INTEGRAL_R50_AS_POSENET}, not as this JimmySuen "
          "layout (Drive folder 1mGgreD2e8rk_E35tbIkJ9T_kENNROiL3, reported 53.9 mm).",
))
register(ModelSpec(
    name="integral-r101", variant="ResNet-101 256x256", input_hw=(256, 256), output_hw=(64, 64), depth_bins=64,
    arch={"resnet": 101, "joints": 18, "depth_bins": 64}, fixture="integral_r101_256", params=53_283_520, gmacs=13.3,
    activation_mb=27.0,
    official=False, notes="No config or weights were released; architecture only.", **_INTEGRAL_HM36,
))
register(ModelSpec(
    name="integral-r152-384x288", variant="ResNet-152 384x288 (ECCV'18 challenge)", input_hw=(384, 288),
    output_hw=(96, 72), depth_bins=72, depth_range_mm=1485.0,
    arch={"resnet": 152, "joints": 18, "depth_bins": 72}, fixture="integral_r152_384x288", params=68_964_176,
    gmacs=30.8, activation_mb=49.4, **_INTEGRAL_CHALLENGE,
    published=Published(source="CHALL_H80K val MPJPE 56.9 mm with flip (not the Protocol 2 test set)"),
    checkpoints=(
        CheckpointSource("https://www.dropbox.com/s/hfz5nkd39uisvbr/model_chall_train_152ft_384x288.pth.tar?dl=1",
                         "model_chall_train_152ft_384x288.pth.tar", kind="dropbox"),
        CheckpointSource("https://www.dropbox.com/s/o1xhp3vocnvtgu3/model_chall_trainval_152ft_384x288.pth.tar?dl=1",
                         "model_chall_trainval_152ft_384x288.pth.tar", kind="dropbox"),
    ),
))
import models.blazepose.zoo  # noqa: E402,F401  (the bundled reference model)
import models.onnx.zoo  # noqa: E402,F401  (ONNX-backed entries)
