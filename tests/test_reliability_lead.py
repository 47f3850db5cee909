"""Cases whose fix lies in cli/live_cmd.py, cli/evaluate_cmd.py and models/weights/store.py, each a test that
failed before the fix (docs/reliability.md)."""

from __future__ import annotations

import pytest

from tests.test_faults_helpers import LIVE_FAST, cli, one_error, run_main, syn_data  # noqa: F401


@pytest.mark.parametrize("models", [",", ""])
def test_live_with_no_model_names_is_one_error(capfd, models):
    argv = ["live", "--source", "demo", "--frames", "2", *LIVE_FAST]
    argv[argv.index("--models") + 1] = models
    rc, _, err = run_main(argv, capfd)
    assert rc == 2
    one_error(err, "--models")



@pytest.mark.parametrize("duration", ["0", "-5"])
def test_live_duration_must_be_positive(capfd, duration):
    rc, _, err = run_main(["live", "--source", "demo", "--duration", duration, *LIVE_FAST], capfd)
    assert rc == 2
    one_error(err, "--duration")



def test_live_cuda_only_profile_on_the_cpu_is_refused(capfd):
    rc, _, err = run_main(["live", "--source", "demo", "--frames", "2", "--profile", "fp16", *LIVE_FAST], capfd)
    assert rc == 2
    one_error(err, "--profile fp16 needs a CUDA GPU")



def test_weights_import_of_a_directory_says_directory(tmp_path, capfd):
    rc, _, err = run_main(["weights", "import", tmp_path], capfd)
    assert rc == 1
    one_error(err, "is a directory")



def test_evaluate_into_a_full_disk_is_one_error(syn_data, tmp_path):  # noqa: F811
    import json

    from engine.h36m.dataset import load_test_set

    ts = load_test_set(syn_data, 2)  # real predictions (the ground truth itself), so writing is what fails
    rel = (ts.joints_cam - ts.joints_cam[:, :1])[:, :17]
    pred = tmp_path / "p.json"
    pred.write_text(json.dumps([{"image_id": int(i), "joint_cam": j.tolist(), "bbox": [0, 0, 1, 1]}
                                for i, j in zip(ts.image_ids, rel)]))
    proc = cli(["evaluate", "--data", syn_data, "--protocol", "2", "--predictions", pred, "--out", tmp_path / "o"],
               fsize=2000)
    assert proc.returncode == 1
    one_error(proc.stderr, "cannot write")
