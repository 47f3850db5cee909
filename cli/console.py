"""What the subcommands print on stderr: a one-line ``error: ...`` and a progress line redrawn in place.

Shared so every command fails the same way (one line, exit code 1, never a traceback) and draws progress the same way.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from typing import TextIO


def error(msg: object) -> int:
    """Print ``error: msg`` on stderr and return exit code 1 (a KeyError shows its text, not its repr)."""
    text = msg.args[0] if isinstance(msg, KeyError) and msg.args else msg
    print(f"error: {text}", file=sys.stderr)
    return 1


class ProgressLine:
    """One line redrawn in place (``\\r``) on a terminal, or written as a new line each time otherwise (logs, pipes);
    subclasses decide when to draw (``last``: when they last did)."""

    def __init__(self, label: str, stream: TextIO | None = None, width: int = 30) -> None:
        self.label, self.stream, self.width = label, stream or sys.stderr, width
        self.tty = self.stream.isatty()
        self.last = 0.0
        self.drawn = False

    def bar(self, frac: float) -> str:
        return f"[{('#' * int(frac * self.width)).ljust(self.width)}]"

    def draw(self, text: str) -> None:
        self.drawn = True
        self.stream.write(("\r" + text) if self.tty else (text + "\n"))
        self.stream.flush()

    def say(self, text: str) -> None:
        """A line of its own (a phase change, a warning): call ``close()`` first so it does not join the bar."""
        self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.drawn and self.tty:
            self.stream.write("\n")
            self.stream.flush()
        self.drawn = False


def number(kind: type = float, *, low: float | None = None, high: float | None = None, low_open: bool = False,
           high_open: bool = False) -> Callable[[str], float]:
    """An argparse type for a numeric option: finite (never NaN or inf) and within its range, so ``--duration nan``
    is refused at once instead of running forever. ``low_open``/``high_open``: the bound itself is not allowed."""

    def parse(text: str) -> float:
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not math.isfinite(v):
            raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
        if low is not None and (v < low or (low_open and v == low)):
            raise argparse.ArgumentTypeError(f"must be {'>' if low_open else '>='} {low:g}, got {text}")
        if high is not None and (v > high or (high_open and v == high)):
            raise argparse.ArgumentTypeError(f"must be {'<' if high_open else '<='} {high:g}, got {text}")
        return v

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


def _resolved_device(device: str) -> str:
    if device == "auto":
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    return str(device)


def check_precision_device(precision: str | None, device: str) -> None:
    """fp16 on the CPU is refused like ``--profile fp16``: CPU kernels emulate half precision (about 200x slower), and
    the run can abort at exit."""
    if precision != "fp16":
        return
    dev = _resolved_device(device)
    if not dev.startswith("cuda"):
        raise ValueError(f"--precision fp16 needs a CUDA GPU; the device is {dev} (use fp32 or bf16 on the CPU, or "
                         "--device cuda)")


def check_profile_device(profile: str | None, device: str) -> None:
    """A CUDA-only fast path (fp16, CUDA graphs) on the CPU is refused, as its help says, instead of running."""
    if not profile:
        return
    from engine.inference.fast_paths import _CUDA_ONLY

    if profile not in _CUDA_ONLY:
        return
    dev = _resolved_device(device)
    if not str(dev).startswith("cuda"):
        raise ValueError(f"--profile {profile} needs a CUDA GPU; the device is {dev} (choose a CPU profile such "
                         "as fp32 or bf16, or --device cuda)")
