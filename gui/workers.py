"""napari-style workers: run a function or generator in a QThread, cancel cooperatively, report through signals.

The function receives a ``threading.Event`` as its ``cancel`` keyword when it asks for one, and generators are
stopped at their next ``yield`` once ``request_cancel()`` was called. (``QThread.quit`` keeps its Qt meaning: it
ends a thread's event loop, which these workers do not run.) Signals are emitted from the worker thread and Qt
queues them to receivers living in the GUI thread, so slots never run on the worker thread.
"""

from __future__ import annotations

import inspect
import threading
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QThread, Signal

_ACTIVE: set[Worker] = set()


class Worker(QThread):
    """One background job. ``errored`` carries a readable one-line message (the traceback goes to ``details``)."""

    yielded = Signal(object)
    returned = Signal(object)
    errored = Signal(str)
    cancelled = Signal()
    done = Signal()  # always last, after returned / errored / cancelled

    def __init__(self, fn: Callable[..., Any], *args: Any, name: str = "", close_on_cancel: bool = True,
                 **kwargs: Any) -> None:
        """``close_on_cancel=False``: the function honours ``cancel`` itself (e.g. to save its state and return a
        "cancelled" result), so the generator is driven to its end and ``returned`` carries that result."""
        super().__init__()
        self.close_on_cancel = close_on_cancel
        self.fn, self.args, self.kwargs = fn, args, kwargs
        self.name = name or getattr(fn, "__name__", "job")
        self.cancel_event = threading.Event()
        self.details = ""
        self.error: BaseException | None = None
        try:
            params = inspect.signature(fn).parameters
            if "cancel" in params and "cancel" not in kwargs:
                self.kwargs["cancel"] = self.cancel_event
        except (TypeError, ValueError):
            pass
        self.finished.connect(self._forget)

    @property
    def abort_requested(self) -> bool:
        return self.cancel_event.is_set()

    def request_cancel(self) -> None:
        """Ask the job to stop: cooperative, honoured at its next yield / cancel check (napari's ``quit``)."""
        self.cancel_event.set()

    def start(self, *args: Any) -> None:  # noqa: D102
        _ACTIVE.add(self)
        super().start(*args)

    def run(self) -> None:  # noqa: D102 - runs in the worker thread
        try:
            result = self.fn(*self.args, **self.kwargs)
            if inspect.isgenerator(result):
                gen = result
                result = None
                while True:
                    if self.close_on_cancel and self.cancel_event.is_set():
                        gen.close()
                        break
                    try:
                        value = next(gen)
                    except StopIteration as stop:
                        result = stop.value
                        break
                    self.yielded.emit(value)
            if self.close_on_cancel and self.cancel_event.is_set():
                self.cancelled.emit()
            else:
                self.returned.emit(result)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a message in the window
            self.error = exc
            self.details = traceback.format_exc()
            if self.cancel_event.is_set() and _is_cancellation(exc):
                self.cancelled.emit()
            else:
                self.errored.emit(readable_error(exc))
        finally:
            self.done.emit()

    def _forget(self) -> None:
        _ACTIVE.discard(self)


def _is_cancellation(exc: BaseException) -> bool:
    return type(exc).__name__ in {"Cancelled", "CancelledError", "JobCancelled", "DownloadCancelled"}


# errors whose text is written for a reader (the app's own, the OS's, a refused value): shown without a class name
_WORDED = (OSError, ValueError, RuntimeError, TimeoutError)


def _opencv_text(msg: str) -> str:
    """OpenCV's ``OpenCV(4.x) /path/file.cpp:123: error: (-215:Assertion failed) cond in function 'f'`` -> the
    part a reader can use."""
    _, sep, rest = msg.partition(" error: ")
    rest = rest if sep else msg
    if rest.startswith("(") and ")" in rest:
        rest = rest[rest.index(")") + 1:].strip() or rest
    return f"the video library could not handle the frame ({rest.split(' in function ')[0].strip()})"


def readable_error(exc: BaseException) -> str:
    """One line for the user, without the traceback: the app's own errors, OS and value errors as their message;
    OpenCV's internals reduced to the reason; anything else (a bug) as ``Type: message``."""
    from models.errors import PoseArenaError

    msg = str(exc).strip() or exc.__class__.__name__
    if isinstance(exc, PoseArenaError):
        return msg
    if type(exc).__module__.startswith("cv2"):
        return _opencv_text(msg.splitlines()[0])
    if isinstance(exc, KeyError) and msg.startswith(("'", '"')):
        msg = msg.strip("'\"")
    name = exc.__class__.__name__
    if isinstance(exc, _WORDED) and str(exc).strip():
        return msg
    return msg if name in msg else f"{name}: {msg}"


def create_worker(fn: Callable[..., Any], *args: Any, start: bool = True, **kwargs: Any) -> Worker:
    w = Worker(fn, *args, **kwargs)
    if start:
        w.start()
    return w


def active_workers() -> list[Worker]:
    return [w for w in _ACTIVE if w.isRunning()]


def await_workers(msecs: int = 5000) -> bool:
    """Ask every running worker to stop and wait up to ``msecs`` in total (call on exit)."""
    workers = active_workers()
    for w in workers:
        w.request_cancel()
    ok = True
    for w in workers:
        ok = w.wait(max(1, msecs)) and ok
    return ok
