"""models.free_cores: a network's thread count follows the cores other programs leave (with hysteresis)."""

from __future__ import annotations

import numpy as np
import pytest

from models.free_cores import OtherLoad, threads_for


class FakeMachine:
    """A 2-core machine's /proc/stat and this process's CPU time, advanced by hand."""

    def __init__(self, cores: int = 2) -> None:
        self.cores, self.now, self.busy_all, self.own = cores, 0.0, 0.0, 0.0

    def run(self, seconds: float, own_cores: float, other_cores: float) -> None:
        self.now += seconds
        self.own += own_cores * seconds
        self.busy_all += (own_cores + other_cores) * seconds

    def load(self) -> OtherLoad:
        return OtherLoad(0.25, read_stat=lambda: (self.busy_all, self.cores), own_cpu=lambda: self.own,
                         clock=lambda: self.now)


def test_quiet_machine_keeps_every_thread():
    m = FakeMachine()
    load = m.load()
    assert load.threads_for(2) == 2  # before any measurement
    for _ in range(8):
        m.run(0.3, own_cores=1.9, other_cores=0.05)  # this process busy on both cores: not a reason to shrink
        assert load.threads_for(2) == 2
    assert load.busy_elsewhere == pytest.approx(0.05, abs=1e-9)


def test_another_program_on_one_core_takes_one_thread_and_gives_it_back_with_hysteresis():
    m = FakeMachine()
    load = m.load()
    load.threads_for(2)
    m.run(0.3, own_cores=1.0, other_cores=1.0)
    assert load.threads_for(2) == 1
    assert load.threads_for(4) == 1 and load.threads_for(1) == 1
    m.run(0.3, own_cores=1.0, other_cores=0.45)  # between the thresholds: stays reduced
    assert load.threads_for(2) == 1
    m.run(0.3, own_cores=1.0, other_cores=0.1)  # the other program left
    assert load.threads_for(2) == 2
    m.run(0.3, own_cores=1.0, other_cores=0.45)  # between the thresholds from below: stays at 2
    assert load.threads_for(2) == 2
    m.run(0.3, own_cores=1.0, other_cores=0.7)
    assert load.threads_for(2) == 1


def test_samples_once_a_period_and_many_cores_leave_room():
    m = FakeMachine(cores=16)
    load = m.load()
    load.threads_for(2)
    m.run(0.3, own_cores=2.0, other_cores=10.0)  # ten cores busy elsewhere, six free: two threads fit
    assert load.threads_for(2) == 2 and load.threads_for(8) == 6
    before = load.busy_elsewhere
    m.run(0.1, own_cores=0.0, other_cores=16.0)  # within the period: no new sample
    load.threads_for(2)
    assert load.busy_elsewhere == before


def test_unreadable_stat_changes_nothing():
    load = OtherLoad(0.0, read_stat=lambda: None, own_cpu=lambda: 0.0, clock=lambda: 1.0)
    assert load.threads_for(3) == 3


def test_process_wide_answer_on_this_machine_is_sane():
    n = threads_for(2)
    assert 1 <= n <= 2


def test_blazepose_landmarker_runs_with_the_threads_it_is_given(monkeypatch):
    pytest.importorskip("ai_edge_litert.interpreter", reason="ai-edge-litert not installed")
    import models.blazepose.runtime as rt

    lm = rt.BlazePoseLandmarker(num_threads=2)
    crop = np.random.default_rng(0).uniform(0, 255, (256, 256, 3)).astype(np.float32)
    monkeypatch.setattr(rt, "threads_for", lambda wanted: wanted)
    two = lm(crop)
    assert lm._local.threads == 2
    monkeypatch.setattr(rt, "threads_for", lambda wanted: 1)  # another program took a core
    one = lm(crop)
    assert lm._local.threads == 1 and set(lm._local.by_threads) == {1, 2}
    np.testing.assert_allclose(one.landmarks_px, two.landmarks_px, atol=1e-3)
    np.testing.assert_allclose(one.world_m, two.world_m, atol=1e-5)
    fixed = rt.BlazePoseLandmarker(num_threads=2, adapt_threads=False)
    fixed(crop)
    assert fixed._local.threads == 2  # a fixed count is not adapted
