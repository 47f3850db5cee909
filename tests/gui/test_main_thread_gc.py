"""While a window is open, cyclic garbage is collected by a timer on the GUI thread, not by whichever thread
allocates; the automatic collector comes back when the last window closes."""

from __future__ import annotations

import gc
import weakref

from gui.main_thread_gc import acquire_main_thread_gc, release_main_thread_gc


class Node:
    pass


def test_cycles_are_collected_on_the_gui_thread_while_a_window_is_open(qtbot):
    assert gc.isenabled()
    acquire_main_thread_gc()
    acquire_main_thread_gc()  # a second window
    try:
        assert not gc.isenabled()
        a, b = Node(), Node()
        a.other, b.other = b, a
        gone = weakref.ref(a)
        del a, b
        for _ in range(gc.get_threshold()[0] + 10):  # pass generation 0's threshold
            Node()
            gc.get_count()
        junk = [[] for _ in range(gc.get_threshold()[0] * 3)]
        qtbot.waitUntil(lambda: gone() is None, timeout=5_000)  # the timer collected it
        del junk
        release_main_thread_gc()
        assert not gc.isenabled(), "one window is still open"
    finally:
        release_main_thread_gc()
    assert gc.isenabled()
