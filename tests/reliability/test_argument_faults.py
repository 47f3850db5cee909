"""Fault suite, arguments: a value that would be silently ignored or wrongly accepted (no model names, a duration that
is not positive, a CUDA-only profile on the CPU) ends with one error line naming the argument.
"""

from __future__ import annotations

import pytest

from tests.reliability.fault_helpers import (
    BENCH_FAST,
    LIVE_FAST,
    one_error,
    run_main,
)


@pytest.mark.parametrize("models", [",", ""], ids=["comma", "empty"])
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


def test_cuda_only_profile_on_the_cpu_is_refused(syn_data, tmp_path, capfd):
    rc, _, err = run_main(["bench", "h36m", "--data", syn_data, "--out", tmp_path / "o", "--profile", "fp16",
                           *BENCH_FAST], capfd)
    assert rc == 1
    one_error(err, "--profile fp16 needs a CUDA GPU", "the device is cpu")
    assert not (tmp_path / "o").exists()
