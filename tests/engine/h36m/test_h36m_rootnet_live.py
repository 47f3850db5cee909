"""H36M benchmark with RootNet run live as the root source (root="rootnet-model"): MRPE, labels, resume, exactness."""

from __future__ import annotations

import json
import math

import h5py
import numpy as np
import pytest
import torch

import main
from engine.h36m.dataset import limit_indices, load_test_set
from engine.h36m.run.runner import (
    BenchmarkConfig,
    BenchmarkRunner,
    ResultsExistError,
    rootnet_to_camera,
    run_to_completion,
)
from engine.h36m.synthetic import generate
from engine.inference.geometry import cam2pixel, rootnet_k_value
from models.joints import get_joint_set
from models.loader import LoadedModel, WeightsMissingError, load_model
from models.spec import get_spec

MODEL = "mhp-lpski-w0.5"  # small pose model: ~1.4M parameters
ROOTNET = "rootnet-r50"
LIMIT, BATCH = 4, 2


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module", autouse=True)
def _no_weights(tmp_path_factory):
    """An empty weights folder: every model here runs (labelled) on random weights."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("POSEARENA_WEIGHTS", str(tmp_path_factory.mktemp("no-weights")))
        yield


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("h36m") / "syn", samples=10, seed=11).root


@pytest.fixture(scope="module")
def model():
    return load_model(MODEL, allow_untrained=True)


@pytest.fixture(scope="module")
def rootnet():
    return load_model(ROOTNET, allow_untrained=True)


def _cfg(data, out, **kw) -> BenchmarkConfig:
    base = dict(data_dir=data, models=[MODEL], out_dir=out, limit=LIMIT, batch_size=BATCH, num_workers=0,
                device="cpu", allow_untrained=True, flip=False, root="rootnet-model")
    base.update(kw)
    return BenchmarkConfig(**base)


def _h5(out, name=MODEL) -> dict:
    with h5py.File(out / name / "predictions.h5", "r") as h:
        return {**{k: h[k][()] for k in h.keys()}, **dict(h.attrs)}


@pytest.fixture(scope="module")
def straight(data, model, rootnet, tmp_path_factory):
    out = tmp_path_factory.mktemp("straight")
    res = run_to_completion(BenchmarkRunner(_cfg(data, out), loaded=[model], rootnet=rootnet))
    assert res.status == "finished"
    return out, res


def test_live_rootnet_run_records_source_mrpe_and_untrained_label(data, straight):
    out, res = straight
    d = json.loads((out / MODEL / "results.json").read_text())
    assert d["root"] == "rootnet-model" and d["root_file"] is None
    rm = d["root_model"]
    assert rm["name"] == ROOTNET and rm["trained"] is False and rm["label"] == f"{ROOTNET} (untrained weights)"
    assert set(d["mrpe_mm"]) == {"mrpe", "x", "y", "z"}
    assert all(math.isfinite(v) and v > 0 for v in d["mrpe_mm"].values())
    assert any("rootnet-r50 (untrained weights)" in n and "meaningless" in n for n in d["notes"])
    run = json.loads((out / "run.json").read_text())
    assert run["fingerprint"]["root"] == "rootnet-model"
    assert run["fingerprint"]["rootnet_model"] == {"name": ROOTNET, "trained": False, "sha256": None}
    assert run["config"]["root"] == "rootnet-model" and run["root_model"]["trained"] is False
    report = (out / "report.md").read_text()
    assert f"## Root ({ROOTNET} (untrained weights), run live on the GT boxes)" in report
    assert "GT boxes with roots from rootnet-r50 (untrained weights) run live" in report
    assert f"MRPE {d['mrpe_mm']['mrpe']:.2f} mm" in report
    csv_text = (out / "results.csv").read_text()
    assert "root_model" in csv_text.splitlines()[0] and f"{ROOTNET} (untrained weights)" in csv_text
    assert f"MRPE of the roots from {ROOTNET} (untrained weights) (run live)" in res.summary
    assert "NOTE: the roots come from rootnet-r50 (untrained weights)" in res.summary

    # the saved roots are RootNet's output mapped through the GT box, and they decoded the pose depth
    p = _h5(out)
    assert p["root"] == "rootnet-model" and p["root_model"] == f"{ROOTNET} (untrained weights)"
    assert p["root_model_trained"] == False  # noqa: E712
    test = load_test_set(data, 2)
    test = test.subset(limit_indices(len(test), LIMIT))
    np.testing.assert_array_equal(p["image_id"], test.image_ids)
    box = test.boxes((256, 256))
    np.testing.assert_allclose(p["bbox"], box)
    np.testing.assert_allclose(p["root_cam"], rootnet_to_camera(p["rootnet_output"], box, test.f, test.c, (64, 64)))
    assert np.abs(p["root_cam"] - test.gt_root).max() > 1.0  # random RootNet: not the GT roots
    spec = get_spec(MODEL)
    r = get_joint_set(spec.joint_set).root
    offset = (p["coords_cells"][:, r, 2] / spec.depth_bins - 0.5) * spec.depth_range_mm
    np.testing.assert_allclose(p["joints_cam"][:, r, 2], p["root_cam"][:, 2] + offset, rtol=1e-6, atol=1e-3)


def test_cancel_then_resume_equals_straight_run_and_reuses_saved_roots(data, model, rootnet, straight, tmp_path):
    out_a, res_a = straight
    runner = BenchmarkRunner(_cfg(data, tmp_path), loaded=[model], rootnet=rootnet)

    def stop_after_first_batch(p):
        if p.phase == "infer" and p.done > 0:
            runner.cancel()

    res = run_to_completion(runner, stop_after_first_batch)
    assert res.status == "cancelled" and res.done == BATCH
    (shard,) = res.partial_dir.glob("shard_*.npz")
    with np.load(shard) as z:
        assert z["__root__/root_cam"].shape == (BATCH, 3) and z["__root__/output"].shape == (BATCH, 3)
    assert res.config_hash == res_a.config_hash

    calls = []
    original = rootnet.net.forward

    def counting(x, k):
        calls.append(int(x.shape[0]))
        return original(x, k)

    rootnet.net.forward = counting
    try:
        res_b = run_to_completion(BenchmarkRunner(_cfg(data, tmp_path), loaded=[model], rootnet=rootnet))
    finally:
        del rootnet.net.forward
    assert res_b.status == "finished" and sum(calls) == LIMIT - BATCH  # only the missing samples ran again
    a, b = _h5(out_a), _h5(tmp_path)
    for key in ("joints_cam", "root_cam", "rootnet_output"):
        np.testing.assert_array_equal(b[key], a[key], err_msg=key)
    ja = json.loads((out_a / MODEL / "results.json").read_text())
    jb = json.loads((tmp_path / MODEL / "results.json").read_text())
    for key in ("mpjpe_mm", "pa_mpjpe_mm", "mrpe_mm", "per_action_mpjpe_mm", "num_samples"):
        assert ja[key] == jb[key], key
    assert res_b.summary == res_a.summary


class _ExactRootNet(torch.nn.Module):
    """Stands in for RootNet: returns the (map cells, depth) that put each sample's root exactly on the GT root.

    Samples are recognised by their k value (distinct per sample here), so batching and order do not matter.
    """

    def __init__(self, k: np.ndarray, out: np.ndarray) -> None:
        super().__init__()
        self.k = torch.as_tensor(k, dtype=torch.float32)
        self.out = torch.as_tensor(out, dtype=torch.float32)

    def forward(self, x: torch.Tensor, k_value: torch.Tensor) -> torch.Tensor:
        assert tuple(x.shape[1:]) == (3, 256, 256) and tuple(k_value.shape) == (x.shape[0], 1)
        d = (k_value.reshape(-1, 1).cpu() - self.k[None, :]).abs()
        assert bool((d.min(dim=1).values < 1e-3).all()), "unexpected k value"
        return self.out[d.argmin(dim=1)].to(x.device)


def _exact_rootnet(data) -> LoadedModel:
    test = load_test_set(data, 2)
    box = test.boxes((256, 256))
    k = rootnet_k_value(box, test.f)
    assert len(np.unique(k.round(3))) == len(k)
    xy = cam2pixel(test.gt_root, test.f, test.c)[:, :2]
    cells = (xy - box[:, :2]) / box[:, 2:] * 64.0
    out = np.concatenate([cells, test.gt_root[:, 2:3]], axis=1)
    return LoadedModel(get_spec(ROOTNET), _ExactRootNet(k, out), True, None, "stub")


def test_rootnet_returning_the_gt_root_gives_zero_mrpe_and_the_gt_root_pose_error(data, model, tmp_path):
    gt_out, live_out = tmp_path / "gt", tmp_path / "live"
    res_gt = run_to_completion(BenchmarkRunner(_cfg(data, gt_out, root="gt"), loaded=[model]))
    exact = _exact_rootnet(data)
    res = run_to_completion(BenchmarkRunner(_cfg(data, live_out), loaded=[model], rootnet=exact))
    assert res.status == "finished" and res.config_hash != res_gt.config_hash
    live = json.loads((live_out / MODEL / "results.json").read_text())
    gt = json.loads((gt_out / MODEL / "results.json").read_text())
    assert live["mrpe_mm"]["mrpe"] < 0.01 and gt["mrpe_mm"] is None
    assert live["root_model"]["trained"] is True and "the roots come from" not in (live_out / "report.md").read_text()
    for key in ("mpjpe_mm", "pa_mpjpe_mm"):
        assert live[key] == pytest.approx(gt[key], abs=1e-3), key
    np.testing.assert_allclose(_h5(live_out)["joints_cam"], _h5(gt_out)["joints_cam"], atol=0.01)
    # the root source is part of the configuration: a finished GT-root run is not silently replaced
    with pytest.raises(ResultsExistError, match="another configuration"):
        run_to_completion(BenchmarkRunner(_cfg(data, gt_out), loaded=[model], rootnet=exact))


def test_rootnet_without_weights_is_refused_unless_untrained_is_allowed(data, model, tmp_path):
    with pytest.raises(WeightsMissingError, match=ROOTNET):
        run_to_completion(BenchmarkRunner(_cfg(data, tmp_path, allow_untrained=False), loaded=[model]))
    assert not (tmp_path / ".partial").exists()
    with pytest.raises(ValueError, match="rootnet-model"):
        BenchmarkConfig(data_dir=data, models=[MODEL], out_dir=tmp_path, root="rootnet-live")
    with pytest.raises(ValueError, match="only pose models"):
        BenchmarkConfig(data_dir=data, models=[MODEL, ROOTNET], out_dir=tmp_path, root="rootnet-model")


def test_cli_accepts_rootnet_model_and_reprints_its_mrpe(data, straight, capsys):
    out, res = straight
    with pytest.raises(SystemExit):
        main.main(["bench", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "rootnet-model: run the rootnet-r50 network live" in help_text and "rootnet: boxes and roots" in help_text
    argv = ["bench", "h36m", "--data", str(data), "--models", MODEL, "--root", "rootnet-model", "--allow-untrained",
            "--no-flip", "--limit", str(LIMIT), "--workers", "0", "--device", "cpu", "--out", str(out)]
    assert main.main(argv) == 0
    cap = capsys.readouterr()
    assert "finished earlier with the same configuration" in cap.err
    assert f"MRPE of the roots from {ROOTNET} (untrained weights) (run live)" in cap.out
    assert cap.out.strip() == res.summary.strip()
