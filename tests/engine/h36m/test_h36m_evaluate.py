"""``main.py evaluate`` / ``main.py h36m``: GT fed back as predictions scores 0.00 mm, a known offset its error."""

from __future__ import annotations

import json

import numpy as np
import pytest

import main
from engine.h36m.dataset import load_test_set
from engine.h36m.evaluate import PredictionsError, read_predictions


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("h36m") / "syn"
    assert main.main(["h36m", "synthetic", "--out", str(root), "--samples", "32", "--seed", "7"]) == 0
    return root


def _official_json(path, ids, joints17, roots=None):
    entries = [{"image_id": int(i), "joint_cam": j.tolist(), "bbox": [0, 0, 1, 1]} for i, j in zip(ids, joints17)]
    if roots is not None:
        for e, r in zip(entries, roots):
            e["root_cam"] = r.tolist()
    path.write_text(json.dumps(entries))
    return path


@pytest.mark.parametrize("protocol", [1, 2])
def test_ground_truth_as_predictions_scores_zero(data, tmp_path, protocol, capsys):
    ts = load_test_set(data, protocol)
    rel = (ts.joints_cam - ts.joints_cam[:, :1])[:, :17].astype(np.float64)
    pred = _official_json(tmp_path / "pred.json", ts.image_ids, rel, ts.gt_root)
    out = tmp_path / "out"
    argv = ["evaluate", "--data", str(data), "--protocol", str(protocol), "--predictions", str(pred), "--out", str(out)]
    assert main.main(argv) == 0
    printed = capsys.readouterr().out
    assert "= 0.00 mm" in printed
    d = json.loads((out / "pred" / "results.json").read_text())
    assert d["num_samples"] == len(ts)
    for key in ("mpjpe_mm", "pa_mpjpe_mm", "pa_mpjpe_similarity_mm"):
        assert round(d[key], 2) == 0.0, key
    assert d["mrpe_mm"] is None and d["root"] == "gt"


def test_known_offset_gives_known_mpjpe_and_mrpe(data, tmp_path):
    ts = load_test_set(data, 2)
    rel = (ts.joints_cam - ts.joints_cam[:, :1])[:, :17].astype(np.float64)
    rel[:, 1:, 0] += 10.0  # +10 mm on x of every non-root joint
    roots = ts.gt_root + np.array([0.0, 0.0, 30.0])
    pred = _official_json(tmp_path / "off.json", ts.image_ids, rel, roots)
    out = tmp_path / "out"
    assert main.main(["evaluate", "--data", str(data), "--protocol", "2", "--predictions", str(pred), "--out",
                      str(out), "--model", "posenet-r50"]) == 0
    d = json.loads((out / "posenet-r50" / "results.json").read_text())
    assert d["mpjpe_mm"] == pytest.approx(10.0 * 16 / 17, abs=1e-6)
    assert d["pa_mpjpe_mm"] < d["mpjpe_mm"]  # a rigid shift is partly absorbed by the alignment's translation
    assert d["mrpe_mm"]["mrpe"] == pytest.approx(30.0) and d["root"] == "rootnet"
    assert d["published"]["value"] == 54.4  # PoseNet with RootNet, Protocol 2
    assert "54.40" in (out / "report.md").read_text()


def test_predictions_h5_round_trip_and_partial_sets(data, tmp_path):
    from engine.h36m.run.runner import BenchmarkConfig, BenchmarkRunner, run_to_completion

    cfg = BenchmarkConfig(data_dir=data, models=["mhp-lpski-w0.5"], out_dir=tmp_path / "bench", limit=3,
                          batch_size=3, num_workers=0, device="cpu", allow_untrained=True, flip=False)
    run_to_completion(BenchmarkRunner(cfg))
    h5 = tmp_path / "bench" / "mhp-lpski-w0.5" / "predictions.h5"
    bench = json.loads((tmp_path / "bench" / "mhp-lpski-w0.5" / "results.json").read_text())
    out = tmp_path / "eval"
    assert main.main(["evaluate", "--data", str(data), "--protocol", "2", "--predictions", str(h5),
                      "--out", str(out)]) == 0
    d = json.loads((out / "mhp-lpski-w0.5" / "results.json").read_text())
    assert d["mpjpe_mm"] == pytest.approx(bench["mpjpe_mm"], abs=1e-9)
    assert d["num_samples"] == 3 and d["trained"] is False and "untrained" in d["label"]
    assert any("only 3 of 32" in n for n in d["notes"])


def test_bad_predictions_are_named(data, tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"image_id": 1, "joint_cam": [[0, 0, 0]] * 16}]))
    with pytest.raises(PredictionsError, match=r"entry \[0\].*16, 3"):
        read_predictions(bad)
    assert main.main(["evaluate", "--data", str(data), "--protocol", "2", "--predictions", str(bad),
                      "--out", str(tmp_path / "o")]) == 1
    assert "bad.json" in capsys.readouterr().err
    stray = _official_json(tmp_path / "stray.json", [5], np.zeros((1, 17, 3)))
    assert main.main(["evaluate", "--data", str(data), "--protocol", "2", "--predictions", str(stray),
                      "--out", str(tmp_path / "o")]) == 1
    assert "none of its 1 image ids" in capsys.readouterr().err


def test_h36m_validate_cli(data, tmp_path, capsys):
    assert main.main(["h36m", "validate", "--data", str(data), "--protocol", "1", "--rootnet"]) == 0
    assert "OK:" in capsys.readouterr().out
    assert main.main(["h36m", "validate", "--data", str(tmp_path / "nowhere")]) == 1
    assert "does not exist" in capsys.readouterr().out
    assert main.main(["h36m", "synthetic", "--out", str(data)]) == 1  # never writes over a data set silently
