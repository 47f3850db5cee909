"""The benchmark's protocol modes: ``official`` (each model as its own test runs it) against ``common`` (every model
through the 3DMPPE pipeline). They must differ exactly where a model's own test differs (Integral's crop) and give
the very same numbers for the 3DMPPE families; results say which mode ran; Integral's aligned metric is reported."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from torch import nn

from engine.h36m.dataset import load_test_set
from engine.h36m.metrics import score
from engine.h36m.run.runner import BenchmarkConfig, BenchmarkRunner, run_to_completion
from engine.h36m.synthetic import generate
from engine.inference import geometry as geo
from engine.inference.conventions import conventions_for
from models.loader import LoadedModel, load_model
from models.spec import ModelSpec, get_spec

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return generate(tmp_path_factory.mktemp("h36m") / "syn", samples=12, seed=3).root


def test_boxes_differ_between_modes_only_for_integral(data) -> None:
    test = load_test_set(data, 2)
    for name in ("posenet-r50", "convnextpose-xs", "mhp-lpski", "mhp-lpres"):
        spec = get_spec(name)
        off, com = (test.boxes(spec.input_hw, conventions_for(spec, m).crop.kind) for m in ("official", "common"))
        np.testing.assert_array_equal(off, com)
    r50 = get_spec("integral-r50")
    official = test.boxes(r50.input_hw, conventions_for(r50, "official").crop.kind)
    assert not np.allclose(official, test.boxes(r50.input_hw, conventions_for(r50, "common").crop.kind))
    # the 2000 mm square around the GT pelvis at its depth: centre = projected pelvis, w = 2000 fx / Z, h = 2000 fy / Z
    pelvis, f, c = test.gt_root[0], test.f[0].astype(np.float64), test.c[0].astype(np.float64)
    u, v = pelvis[0] / pelvis[2] * f[0] + c[0], pelvis[1] / pelvis[2] * f[1] + c[1]
    w, h = 2000 * f[0] / pelvis[2], 2000 * f[1] / pelvis[2]
    np.testing.assert_allclose(official[0], [u - w / 2, v - h / 2, w, h], rtol=1e-9)
    r152 = get_spec("integral-r152-384x288")
    chall = test.boxes(r152.input_hw, conventions_for(r152, "official").crop.kind)
    x, y, bw, bh = test.raw.bbox[test.rows[0]]
    bw, bh = max(bw, 0.75 * bh), max(bh, bw / 0.75)
    np.testing.assert_allclose(chall[0], [x + test.raw.bbox[test.rows[0]][2] / 2 - 0.55 * bw,
                                          y + test.raw.bbox[test.rows[0]][3] / 2 - 0.55 * bh, 1.1 * bw, 1.1 * bh])


def test_integral_aligned_metric_by_its_definition() -> None:
    rng = np.random.default_rng(1)
    gt = rng.normal(0, 300, (2, 18, 3)) + [0, 0, 5000]
    pred = gt + rng.normal(0, 40, gt.shape)
    s = score(pred, gt, [0, 3], protocol=2, extra_metrics=("integral_aligned",))
    aligned = geo.rigid_align(pred[0], gt[0])  # absolute onto absolute, all 18 joints
    want = np.linalg.norm((aligned - aligned[0])[:17] - (gt[0] - gt[0, 0])[:17], axis=-1)
    np.testing.assert_allclose(s.errors["integral_aligned"][0], want, rtol=1e-9)
    assert s.total("integral_aligned") != pytest.approx(s.total("pa_mpjpe"))  # re-rooting makes it another figure
    assert "hm36_17j_align" in s.label("integral_aligned")
    assert "integral_aligned" not in score(pred, gt, [0, 3], protocol=2).errors


class CropMean(nn.Module):
    """A stand-in pose net whose output follows its crop: a different box gives different numbers."""

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        self.spec = spec

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, j, d, (h, w) = x.shape[0], 18, self.spec.depth_bins, self.spec.output_hw
        hm = torch.zeros(n, j, d, h, w)
        for i, m in enumerate(x.mean(dim=(1, 2, 3)).tolist()):
            for k in range(j):  # one peak per joint, placed by the crop's mean value
                s = int(abs(m) * 1000) + 13 * k
                hm[i, k, s % d, (s // 3) % h, (s * 7) % w] = 30.0
        return hm.reshape(n, j * d, h, w)


def _run(data: Path, out: Path, models, mode: str):
    cfg = BenchmarkConfig(data_dir=data, models=[m.spec.name for m in models], out_dir=out, limit=4, batch_size=2,
                          num_workers=0, device="cpu", allow_untrained=True, protocol_mode=mode)
    res = run_to_completion(BenchmarkRunner(cfg, loaded=models))
    assert res.status == "finished"
    return res


def test_modes_change_integral_and_nothing_else(data, tmp_path) -> None:
    mhp = load_model("mhp-lpski-w0.5", allow_untrained=True)
    r50 = get_spec("integral-r50")
    integral = LoadedModel(spec=r50, net=CropMean(r50), trained=False, checkpoint=None, sha256=None)
    runs = {mode: _run(data, tmp_path / mode, [mhp, integral], mode) for mode in ("official", "common")}
    got = {}
    for mode in runs:
        for name in ("mhp-lpski-w0.5", "integral-r50"):
            with h5py.File(tmp_path / mode / name / "predictions.h5", "r") as h:
                got[mode, name] = (h["joints_cam"][()], h["bbox"][()])
            d = json.loads((tmp_path / mode / name / "results.json").read_text())
            assert d["protocol_mode"] == mode
            assert any(f"protocol mode {mode}" in n for n in d["notes"])
    for k in (0, 1):
        np.testing.assert_array_equal(got["official", "mhp-lpski-w0.5"][k], got["common", "mhp-lpski-w0.5"][k])
    assert not np.allclose(got["official", "integral-r50"][1], got["common", "integral-r50"][1])
    assert not np.allclose(got["official", "integral-r50"][0], got["common", "integral-r50"][0])
    d = json.loads((tmp_path / "official" / "integral-r50" / "results.json").read_text())
    assert d["conventions"] == {"crop": "integral-gt", "pose_to_camera": "backproject"}
    assert "integral_aligned" in d["extra_metrics"]
    assert "Integral aligned" in runs["official"].summary
    assert runs["official"].config_hash != runs["common"].config_hash
    head = (tmp_path / "official" / "results.csv").read_text().splitlines()[0].split(",")
    assert "protocol_mode" in head and "integral_aligned_mm" in head


def test_cli_and_config_take_the_mode() -> None:
    import main

    args = main.build_parser().parse_args(["bench", "h36m", "--data", "D", "--models", "m", "--out", "O"])
    assert args.protocol_mode == "official"
    args = main.build_parser().parse_args(["bench", "h36m", "--data", "D", "--models", "m", "--out", "O",
                                           "--protocol-mode", "common"])
    assert args.protocol_mode == "common"
    with pytest.raises(ValueError, match="protocol mode must be one of"):
        BenchmarkConfig(data_dir=Path("D"), models=["m"], out_dir=Path("O"), protocol_mode="paper")
