"""A GUI soak in the real window: Live (BlazePose + untrained models) recording the demo, then Playback of the
recording, printing ``sys.getrefcount(None)``, the resident memory and frames received / processed / recorded.

Run under a display: ``xvfb-run -a -s "-screen 0 1280x800x24" .venv/bin/python bench/gui_soak.py --minutes 10``.
A private home folder keeps the user's settings apart. Ends with one verdict line (exit 1 when it fails): None's
count must not fall, and the recording must hold every frame the engine processed while it recorded.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=10.0, help="total time; 70%% live, 30%% playback")
    p.add_argument("--models", default="blazepose-full,mhp-lpski-w0.5,convnextpose-xs")
    p.add_argument("--source", default="demo")
    p.add_argument("--every", type=float, default=30.0, help="seconds between report lines")
    a = p.parse_args()
    from bench.gui_window import open_window, preload, private_home

    home = private_home("posearena-soak-")
    preload(max(1, (os.cpu_count() or 2) // 2))
    win, wait = open_window(a.source)
    tab, live = win.live_tab, win.live
    tab.set_models([m.strip() for m in a.models.split(",") if m.strip()])
    rec = home / "soak.h5"
    tab.record_path.setText(str(rec))
    tab.record_button.setChecked(True)
    tab.start()
    if not wait(lambda: live.running, 180):
        print("the live view did not start:", win.messages.messages("error"))
        return 1
    live_s, play_s = a.minutes * 60 * 0.7, a.minutes * 60 * 0.3
    none0, rss0 = sys.getrefcount(None), rss_mb()
    print(f"{'t (s)':>7} {'phase':>8} {'None refs':>10} {'d None':>8} {'RSS MB':>8} {'received':>9} "
          f"{'processed':>10} {'recorded':>9}", flush=True)

    def line(t0: float, phase: str, processed: int, recorded: int) -> None:
        n = sys.getrefcount(None)
        print(f"{time.monotonic() - t0:7.0f} {phase:>8} {n:10d} {n - none0:+8d} {rss_mb():8.0f} "
              f"{live.frames_received:9d} {processed:10d} {recorded:9d}", flush=True)

    t0 = time.monotonic()
    next_line = t0
    lowest = none0
    while time.monotonic() - t0 < live_s:
        wait(lambda: False, 0.2)
        lowest = min(lowest, sys.getrefcount(None))
        if time.monotonic() >= next_line:
            st = live.engine.stats() if live.engine is not None else None
            line(t0, "live", st.frames_processed if st else -1, live._recorder.frames_written if live._recorder else -1)
            next_line += a.every
    processed_live = live.engine.stats().frames_processed
    tab.stop()
    wait(lambda: live.state == "idle", 60)
    import h5py

    with h5py.File(rec, "r") as h:
        recorded, complete = int(h["frames/frame_id"].shape[0]), bool(h.attrs.get("complete", False))
    print(f"live: {live.frames_received} frames received by the window, {processed_live} processed by the engine, "
          f"{recorded} in the recording (complete={complete})", flush=True)

    win.tabs.setCurrentWidget(win.playback_tab)
    if not win.playback_tab.open_recording(str(rec)):
        print("playback could not open the recording:", win.messages.messages("error"))
        return 1
    pb = win.playback
    t1 = time.monotonic()
    shown = 0
    pb.frameChanged.connect(lambda _f: None)
    next_line = t1
    while time.monotonic() - t1 < play_s:
        if not pb.playing:
            shown += pb.index + 1
            pb.seek(0)
            pb.play()
        wait(lambda: False, 0.2)
        lowest = min(lowest, sys.getrefcount(None))
        if time.monotonic() >= next_line:
            line(t0, "playback", pb.index, recorded)
            next_line += a.every
    pb.pause()
    shown += pb.index + 1
    none1, rss1 = sys.getrefcount(None), rss_mb()
    win.close()
    ok = lowest >= none0 - 50 and complete and recorded >= processed_live - 1
    print(f"None refs: start {none0}, end {none1}, lowest {lowest}; RSS {rss0:.0f} -> {rss1:.0f} MB; "
          f"playback showed {shown} frames of {recorded}")
    print(("PASS" if ok else "FAIL") + f": None's count {'flat' if lowest >= none0 - 50 else 'fell'}, "
          f"recording {recorded}/{processed_live} frames processed while recording")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
