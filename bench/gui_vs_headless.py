"""GUI FPS against headless FPS, measured in one run on the same clip, models and thread count.

Runs the live engine headless for ``--seconds`` on a video file (every frame, as fast as the models go), then the
same configuration in the real window (Live tab, views drawn), and prints frames per second and each model's mean
latency for both, and their ratio. Needs a display: ``xvfb-run -a -s "-screen 0 1280x800x24" .venv/bin/python
bench/gui_vs_headless.py``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _summary(stats, models: list[str], seconds: float) -> dict[str, float]:
    out = {"fps": stats.frames_processed / seconds, "frames": stats.frames_processed}
    for m in models:
        s = stats.stages.get(m)
        out[m] = s.mean if s is not None else float("nan")
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default="blazepose-full,convnextpose-xs")
    p.add_argument("--source", default=None, help="a video file (default: the bundled walking clip)")
    p.add_argument("--seconds", type=float, default=40.0)
    p.add_argument("--threads", type=int, default=max(1, (os.cpu_count() or 2) // 2))
    a = p.parse_args()
    from bench.gui_window import open_window, preload, private_home

    private_home("posearena-guifps-")
    preload(a.threads)
    from assets import asset_path

    source = a.source or str(asset_path("demo_walk.mp4"))
    models = [m.strip() for m in a.models.split(",") if m.strip()]

    from engine.live.engine import LiveConfig, LiveEngine
    from engine.live.smoothing import DEFAULT_POSE

    eng = LiveEngine(LiveConfig(source=source, models=tuple(models), allow_untrained=True, rootnet=None,
                                smoothing=DEFAULT_POSE, loop=True))
    eng.prepare()
    eng.start()
    time.sleep(3.0)  # warm-up
    n0 = eng.stats().frames_processed
    time.sleep(a.seconds)
    st = eng.stats()
    headless = _summary(st, models, a.seconds)
    headless["fps"] = (st.frames_processed - n0) / a.seconds
    eng.stop(timeout=10)

    win, wait = open_window(source, poll_s=0.005)
    win.live_tab.set_models(models)
    win.live_tab.rootnet.setChecked(False)
    start = win.live.start
    win.live.start = lambda st: start(type(st)(**{**st.__dict__, "extra": {**st.extra, "loop": True}}))
    win.live_tab.start()
    wait(lambda: win.live.running, 180)
    wait(lambda: False, 3.0)
    n0 = win.live.engine.stats().frames_processed
    wait(lambda: False, a.seconds)
    st = win.live.engine.stats()
    gui = _summary(st, models, a.seconds)
    gui["fps"] = (st.frames_processed - n0) / a.seconds
    win.live_tab.stop()
    wait(lambda: win.live.state == "idle", 30)
    win.close()

    print(f"{'':<22}{'headless':>10}{'GUI':>10}{'GUI/headless':>14}")
    print(f"{'FPS':<22}{headless['fps']:>10.2f}{gui['fps']:>10.2f}{gui['fps'] / headless['fps']:>14.2f}")
    for m in models:
        print(f"{m + ' ms':<22}{headless[m]:>10.1f}{gui[m]:>10.1f}{headless[m] / gui[m]:>14.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
