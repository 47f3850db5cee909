"""Issue 28 item 15: a saved batch whose arrays have the wrong shape for this run is found when the run resumes,
named, dropped and inferred again (like a cut-off one), instead of failing after all inference with a numpy
"shape mismatch" that names no file, on every rerun."""

from __future__ import annotations

import numpy as np
import torch

from engine.h36m.run.runner import BenchmarkConfig, BenchmarkRunner
from tests.reliability.fault_helpers import BENCH_FAST, MODEL, run_main, syn_data  # noqa: F401


def test_wrong_shaped_saved_batch_is_dropped_and_recomputed(syn_data, tmp_path, capfd):  # noqa: F811
    torch.set_num_threads(1)
    out = tmp_path / "out"
    cfg = BenchmarkConfig(data_dir=syn_data, models=[MODEL], out_dir=out, allow_untrained=True, device="cpu",
                          num_workers=0, batch_size=2, flip=False, limit=8)
    runner = BenchmarkRunner(cfg)
    for p in runner.run():  # stop after two saved batches, as an interrupted run would
        if p.phase == "infer" and p.done >= 4:
            runner.cancel()
    shards = sorted(out.glob(".partial/*/shard_*.npz"))
    assert len(shards) == 2
    with np.load(shards[1]) as z:
        arrays = {k: z[k] for k in z.files}
    n = arrays["index"].shape[0]
    arrays[f"{MODEL}/joints_cam"] = np.zeros((n, 5, 3))  # another joint count: does not fit this model
    with open(shards[1], "wb") as fh:
        np.savez(fh, **arrays)
    rc, _, err = run_main(["bench", "h36m", "--data", syn_data, "--out", out, "--limit", 8, *BENCH_FAST], capfd)
    assert rc == 0, err
    assert "Traceback" not in err and "shape mismatch" not in err
    assert f"{shards[1]}: saved batch is broken ('{MODEL}/joints_cam' has shape [{n}, 5, 3], expected [{n}, 18, 3])" \
        in err
    assert "6 samples to go" in err  # the bad batch and the two never saved
    assert (out / "run.json").is_file()
