"""torch's CPU thread count in the live loop follows the cores other programs leave (``models.free_cores``).

Why: torch's CPU kernels run on OpenMP, whose threads meet at a barrier after every layer. With another program
keeping one of two cores busy, the thread that shares that core arrives late at every barrier: mhp-lpski-w0.5's
forward took 130-180 ms against 24-33 ms quiet, convnextpose-xs 150-200 ms against 36-45 ms
(``bench.live_pipeline --loaded``, the ``three`` scenario). One thread on the free core does not wait for anyone.

Only the live engine turns this on (``Predictor.follow_free_cores``): the offline benchmark keeps its thread count,
so its predictions do not depend on what else ran on the machine. ``torch.set_num_threads`` acts on the calling
thread's OpenMP team, so the inference thread and RootNet's worker each adjust their own before each forward.
"""

from __future__ import annotations

import torch

from models.free_cores import threads_for

__all__ = ["FreeCoreThreads"]


class FreeCoreThreads:
    """``apply()`` before a forward: torch's threads = the start's count, fewer while other programs hold cores."""

    def __init__(self, wanted: int | None = None) -> None:
        self.wanted = max(1, int(wanted if wanted is not None else torch.get_num_threads()))

    def apply(self) -> int:
        n = threads_for(self.wanted)
        if torch.get_num_threads() != n:
            torch.set_num_threads(n)
        return n
