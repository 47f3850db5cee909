"""How long idle OpenMP workers spin before they sleep: set before torch loads its OpenMP runtime.

Why: torch's CPU kernels run on GNU OpenMP (``libgomp``), whose workers keep spinning for about 300,000 polls after
each parallel region. In the live pipeline a few small torch operations per frame (crop normalisation, tensor
conversions) wake those workers, which then spin for milliseconds on the same two cores that the LiteRT landmark
network, onnxruntime's NanoDet and the capture thread need. On the 2-core machine that spinning made BlazePose's
forward inside the pipeline cost 27-30 ms against 14-18 ms for the same forward alone (``bench.live_pipeline``).
A short spin (``GOMP_SPINCOUNT`` 10,000) keeps a torch net's consecutive operations on warm workers and lets the
workers sleep between frames. libgomp reads the variable once, when torch is imported, so the models and engine
packages apply it on import, before any torch import; a value already in the environment is left alone, and
``OMP_WAIT_POLICY`` set by the user takes precedence inside libgomp.
"""

from __future__ import annotations

import os

__all__ = ["SPINCOUNT", "apply_thread_policy"]

SPINCOUNT = "10000"  # polls before an idle OpenMP worker sleeps (libgomp's own default: 300,000)


def apply_thread_policy() -> None:
    """Set ``GOMP_SPINCOUNT`` unless the user chose it; too late (and harmless) once torch is imported."""
    os.environ.setdefault("GOMP_SPINCOUNT", SPINCOUNT)


apply_thread_policy()
