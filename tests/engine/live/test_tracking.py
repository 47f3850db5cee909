"""The IoU tracker keeps the id of a person still in view over an old track whose last box happens to fit better."""

from __future__ import annotations

import numpy as np

from engine.live.tracking import IouTracker


def test_a_track_seen_last_time_wins_over_a_track_missed_lately():
    tr = IouTracker()
    old, walker = tr.update(np.array([[100, 100, 50, 100], [300, 100, 50, 100]], np.float32))
    tr.update(np.array([[300, 100, 50, 100]], np.float32))  # the first person left: their track is missed once
    tr.observe(np.array([[130, 100, 50, 100]], np.float32), [walker])  # the walker's box, carried from a pose
    ids = tr.update(np.array([[108, 100, 50, 100]], np.float32))  # the walker, found a little off the carried box
    assert ids.tolist() == [walker], "the old track's box overlaps more, but the walker is the one in view"


def test_a_returning_person_takes_back_a_lately_missed_id():
    tr = IouTracker()
    a, b = tr.update(np.array([[100, 100, 50, 100], [300, 100, 50, 100]], np.float32))
    tr.update(np.array([[300, 100, 50, 100]], np.float32))
    ids = tr.update(np.array([[300, 100, 50, 100], [102, 100, 50, 100]], np.float32))
    assert ids.tolist() == [b, a]
