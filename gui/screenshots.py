"""Regenerate the documentation screenshots: ``python -m gui.screenshots docs/screenshots`` (under Xvfb:
``xvfb-run -a -s "-screen 0 1280x800x24" .venv/bin/python -m gui.screenshots docs/screenshots``).

Runs the real window in a private POSEARENA_HOME (no user weights or settings are read or changed), so models show
as untrained unless weights are passed in with --weights-dir. Writes live.png, live_grid_absolute.png,
benchmark.png and models.png at 1280x800, and live_1024x640.png, benchmark_1024x640.png, models_1024x640.png (every
further tab too, named after it).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from engine.defaults import LIVE


def _wait(app, cond, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        app.processEvents()
        if cond():
            return True
        time.sleep(0.02)
    return False


def _settle(app, seconds: float) -> None:
    _wait(app, lambda: False, seconds)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", type=Path)
    p.add_argument("--live-seconds", type=float, default=8.0)
    p.add_argument("--sizes", default="1280x800,1024x640", help="window sizes (1280x800 keeps the plain names)")
    p.add_argument("--weights-dir", default=None, help="use these weights (default: none, untrained models)")
    args = p.parse_args(argv)
    home = Path(tempfile.mkdtemp(prefix="posearena-shots-"))
    os.environ["POSEARENA_HOME"] = str(home)
    if args.weights_dir:
        os.environ["POSEARENA_WEIGHTS"] = str(Path(args.weights_dir).resolve())
    for k, v in (("YOLO_OFFLINE", "1"), ("YOLO_AUTOINSTALL", "false"), ("YOLO_VERBOSE", "false")):
        os.environ.setdefault(k, v)

    from gui.app import _preimport_heavy, make_app, save_window_png

    _preimport_heavy()
    app = make_app()
    from gui.main_window import MainWindow

    args.out.mkdir(parents=True, exist_ok=True)
    shots: list[Path] = []

    def window(w: int, h: int):
        win = MainWindow(source="demo", autostart=False)
        win.persist_settings = False
        win.resize(w, h)
        win.show()
        _wait(app, lambda: win.live_tab.model_list.count() > 0, 30)
        return win

    def live_shot(win, name: str, models: list[str], absolute: bool) -> None:
        tab = win.live_tab
        win.tabs.setCurrentWidget(tab)
        tab.set_models(models)
        tab.placement.setCurrentIndex(1 if absolute else 0)
        tab.start()
        _wait(app, lambda: win.live.running, 60)
        _settle(app, args.live_seconds)
        shots.append(save_window_png(win, args.out / name))
        tab.stop()
        _wait(app, lambda: win.live.state == "idle", 30)

    data = home / "h36m_synthetic"

    def bench_shot(win, name: str) -> None:
        win.tabs.setCurrentWidget(win.benchmark_tab)
        tab = win.benchmark_tab
        if not data.is_dir():
            tab.make_synthetic(str(data), samples=64)
            _wait(app, lambda: tab.data_dir.text() == str(data), 120)
        else:
            tab.data_dir.setText(str(data))
        tab.validate_now()
        _wait(app, lambda: "Valid" in tab.validation.text(), 120)
        tab.set_models(["posenet-r50", "mhp-lpski-w0.5", "convnextpose-xs"])
        tab.flip.setChecked(False)
        tab.out_dir.setText(str(home / "results"))
        tab.run()  # the second size reuses the first size's finished results
        _wait(app, lambda: win.bench.last_result is not None or "failed" in tab.eta.text(), 600)
        _settle(app, 0.5)
        shots.append(save_window_png(win, args.out / name))

    for size in args.sizes.split(","):
        w, h = (int(v) for v in size.lower().split("x"))
        suffix = "" if (w, h) == (1280, 800) else f"_{w}x{h}"
        win = window(w, h)
        live_shot(win, f"live{suffix}.png", list(LIVE.models), absolute=False)  # the first run's arena
        if not suffix:
            live_shot(win, "live_grid_absolute.png",
                      ["blazepose-lite", "blazepose-full", "blazepose-heavy", "convnextpose-xs"], absolute=True)
        bench_shot(win, f"benchmark{suffix}.png")
        win.tabs.setCurrentWidget(win.models_tab)
        win.models_tab.select("posenet-r50")
        _settle(app, 0.5)
        shots.append(save_window_png(win, args.out / f"models{suffix}.png"))
        for i in range(win.tabs.count()):  # any further tab (e.g. Playback) as it opens
            page = win.tabs.widget(i)
            if page not in (win.live_tab, win.benchmark_tab, win.models_tab):
                win.tabs.setCurrentIndex(i)
                _settle(app, 0.5)
                name = win.tabs.tabText(i).lower().replace(" ", "_")
                shots.append(save_window_png(win, args.out / f"{name}{suffix}.png"))
        win.close()
    shutil.rmtree(home, ignore_errors=True)
    for s in shots:
        print(f"wrote {s}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
