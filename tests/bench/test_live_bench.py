"""The live-pipeline benchmark runs end to end (CI smoke) and reports overhead against the forwards."""

from __future__ import annotations

import json


def test_live_pipeline_bench_quick(tmp_path, capsys):
    import torch

    from bench.live_pipeline import main

    torch.set_num_threads(1)
    out = tmp_path / "live.json"
    assert main(["--quick", "--device", "cpu", "--json", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["profile"] == "cpu" and res["frames"] == 4  # --quick: 4 frames after 1 warm-up
    assert res["fps"] > 0 and res["forwards_ms_mean"] > 0
    assert res["ratio_busy_over_forwards"] >= 1.0  # busy time contains the forwards
    assert res["trained"] and not any(res["trained"].values())  # no weights here: labelled untrained
    assert "ratio" in capsys.readouterr().out
