"""Issue 28 items 9, 10 and 17: numeric options are checked (NaN, inf, negative, zero where meaningless) before
anything runs; ``--precision fp16`` on the CPU is refused like ``--profile fp16``; a ``--weights`` for a model that
is not in ``--models`` is refused instead of ignored."""

from __future__ import annotations

import pytest

from tests.reliability.fault_helpers import BENCH_FAST, LIVE_FAST, MODEL, one_error, run_main, syn_data  # noqa: F401


def _argparse_error(err: str, option: str) -> None:
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if "error:" in ln]
    assert len(lines) == 1 and f"argument {option}" in lines[0], err


@pytest.mark.parametrize("option, value", [
    ("--duration", "nan"), ("--duration", "inf"), ("--duration", "-inf"),
    ("--hfov", "nan"), ("--hfov", "0"), ("--hfov", "180"), ("--conf", "nan"), ("--conf", "-0.1"), ("--conf", "1.5"),
    ("--imgsz", "0"), ("--frames", "0"),
])
def test_live_refuses_meaningless_numbers(capfd, option, value):
    with pytest.raises(SystemExit) as info:
        run_main(["live", "--source", "demo", *LIVE_FAST, option, value], capfd)
    assert info.value.code == 2
    _argparse_error(capfd.readouterr().err, option)


@pytest.mark.parametrize("argv, option", [
    (["compare", "--source", "demo", "--frames", "-1"], "--frames"),
    (["h36m", "synthetic", "--out", "unused", "--samples", "0"], "--samples"),
])
def test_other_commands_refuse_meaningless_numbers(capfd, argv, option):
    with pytest.raises(SystemExit) as info:
        run_main(argv, capfd)
    assert info.value.code == 2
    _argparse_error(capfd.readouterr().err, option)


def test_live_fp16_precision_on_the_cpu_is_refused(capfd):
    rc, _, err = run_main(["live", "--source", "demo", "--frames", "1", *LIVE_FAST, "--precision", "fp16"], capfd)
    assert rc == 2
    one_error(err, "--precision fp16 needs a CUDA GPU", "the device is cpu")


def test_bench_fp16_precision_on_the_cpu_is_refused(syn_data, tmp_path, capfd):  # noqa: F811
    rc, _, err = run_main(["bench", "h36m", "--data", syn_data, *BENCH_FAST, "--precision", "fp16",
                           "--out", tmp_path / "out"], capfd)
    assert rc == 1
    one_error(err, "--precision fp16 needs a CUDA GPU")
    assert not (tmp_path / "out").exists()


def test_bench_limit_must_be_positive(syn_data, tmp_path, capfd):  # noqa: F811
    rc, _, err = run_main(["bench", "h36m", "--data", syn_data, *BENCH_FAST, "--limit", "-3",
                           "--out", tmp_path / "out"], capfd)
    assert rc == 1
    one_error(err, "--limit must be at least 1")


def test_bench_weights_for_a_model_not_benchmarked_is_refused(syn_data, tmp_path, capfd):  # noqa: F811
    ckpt = tmp_path / "xs.pth"
    ckpt.write_bytes(b"not used")
    rc, _, err = run_main(["bench", "h36m", "--data", syn_data, *BENCH_FAST, "--weights", f"convnextpose-xs={ckpt}",
                           "--out", tmp_path / "out"], capfd)
    assert rc == 1
    one_error(err, "--weights names convnextpose-xs", MODEL)
    assert not (tmp_path / "out").exists()
