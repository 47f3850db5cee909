"""engine/oom.py: out-of-memory back-off gives the plain run's results, reports each halving, and gives up clearly.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.inference import oom
from engine.inference.oom import BackoffEvent, OutOfMemoryBackoffError, is_out_of_memory, run_with_backoff

CPU_OOM = ("[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: can't allocate memory: you tried to "
           "allocate 8589934592 bytes. Error code 12 (Cannot allocate memory)")


class FakeNet:
    """Doubles its input; raises an out-of-memory error for chunks larger than ``limit`` (like a real GPU would)."""

    def __init__(self, limit: int, error: type[BaseException] | None = None, message: str = "CUDA out of memory"):
        self.limit, self.error, self.message = limit, error, message
        self.sizes: list[int] = []

    def __call__(self, x):
        self.sizes.append(len(x))
        if len(x) > self.limit:
            if self.error is torch.cuda.OutOfMemoryError:
                raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
            raise (self.error or RuntimeError)(self.message)
        return x * 2


@pytest.mark.parametrize("error,message", [
    (torch.cuda.OutOfMemoryError, ""),
    (RuntimeError, CPU_OOM),
    (RuntimeError, "CUDA error: out of memory"),
    (MemoryError, "Unable to allocate 3.00 GiB for an array"),
], ids=["cuda-oom", "cpu-allocator", "cuda-runtime", "memoryerror"])
def test_backoff_halves_and_equals_a_plain_run(error, message, monkeypatch):
    emptied = []
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: emptied.append(1))
    items = torch.arange(37, dtype=torch.float32).reshape(37, 1)
    plain = FakeNet(limit=1000)(items)
    net, events = FakeNet(limit=5, error=error, message=message), []
    out = run_with_backoff(net, items, batch_size=16, on_backoff=events.append)
    assert torch.equal(out, plain)
    assert [(e.old_batch, e.new_batch) for e in events] == [(16, 8), (8, 4)]
    assert events[0].start == 0 and "retrying with batch size 8" in str(events[0])
    assert len(emptied) == 2  # the CUDA cache is emptied before each retry
    # after backing off, every later chunk keeps the small batch: 37 = 9 x 4 + 1
    assert net.sizes[2:] == [4] * 9 + [1]


def test_numpy_and_list_outputs_join_in_order():
    arr = np.arange(10.0)
    out = run_with_backoff(lambda x: x + 1, arr, batch_size=3)
    assert isinstance(out, np.ndarray) and np.array_equal(out, arr + 1)
    out = run_with_backoff(lambda xs: [v * 10 for v in xs], list(range(7)), batch_size=4)
    assert out == [v * 10 for v in range(7)]
    assert run_with_backoff(lambda x: x, [], batch_size=4) == []


def test_gives_up_at_min_batch_with_a_clear_message():
    net = FakeNet(limit=1, message=CPU_OOM)
    with pytest.raises(OutOfMemoryBackoffError) as err:
        run_with_backoff(net, torch.zeros(10, 3), batch_size=8, min_batch=2)
    msg = str(err.value)
    assert "out of memory even at batch size 2" in msg and "items 0..1 of 10" in msg
    assert "DefaultCPUAllocator" in msg and "smaller model" in msg
    assert net.sizes == [8, 4, 2]


def test_other_errors_are_not_retried():
    calls = []

    def broken(x):
        calls.append(len(x))
        raise RuntimeError("Given groups=1, weight of size [24, 3, 3, 3], expected input to have 3 channels")

    with pytest.raises(RuntimeError, match="expected input to have 3 channels"):
        run_with_backoff(broken, torch.zeros(8, 1), batch_size=8)
    assert calls == [8]
    assert not is_out_of_memory(ValueError("out of memory"))  # only RuntimeError / MemoryError / CUDA OOM count
    assert is_out_of_memory(torch.cuda.OutOfMemoryError("x"))


def test_arguments_are_checked():
    with pytest.raises(ValueError, match="batch_size"):
        run_with_backoff(lambda x: x, [1], batch_size=0)
    with pytest.raises(ValueError, match="min_batch"):
        run_with_backoff(lambda x: x, [1], batch_size=4, min_batch=5)


def test_backoff_event_is_logged(caplog):
    with caplog.at_level("WARNING", logger=oom.__name__):
        run_with_backoff(FakeNet(limit=2), list(range(4)), batch_size=4)
    assert "retrying with batch size 2" in caplog.text
    assert BackoffEvent(0, 4, 2, "x").new_batch == 2


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_real_cuda_oom_backs_off():  # pragma: no cover (GPU machines only)
    free, _ = torch.cuda.mem_get_info()
    per_item = int(free * 0.3) // 4 // 4  # float32 elements: 4 items take ~30 % of free memory, 16 do not fit

    def fn(x):
        buf = torch.empty(len(x) * per_item, dtype=torch.float32, device="cuda")
        buf.zero_()
        del buf
        return x * 2

    items = torch.arange(16, dtype=torch.float32, device="cuda")
    events = []
    out = run_with_backoff(fn, items, batch_size=16, on_backoff=events.append)
    assert torch.equal(out, items * 2) and events and events[-1].new_batch <= 8
