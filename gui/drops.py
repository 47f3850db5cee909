"""Drag and drop onto the main window: a video, image or image folder becomes the live source, a Human3.6M folder
the benchmark dataset, a checkpoint is imported, a recording opens in the Playback tab (when the build has one)."""

from __future__ import annotations

from pathlib import Path

VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".jpg", ".jpeg", ".png", ".bmp"}
CHECKPOINT_SUFFIXES = {".pth", ".pt", ".tar", ".onnx", ".ckpt", ".pkl", ".bin"}
RECORDING_SUFFIXES = {".h5", ".hdf5"}


def classify(path: str | Path) -> str | None:
    """"source" | "dataset" | "checkpoint" | "recording" | None (not something the window takes)."""
    p = Path(path)
    if p.is_dir():
        return "dataset" if (p / "annotations").is_dir() else "source"
    suffix = p.suffix.lower()
    if suffix in VIDEO_SUFFIXES:
        return "source"
    if suffix in CHECKPOINT_SUFFIXES:
        return "checkpoint"
    if suffix in RECORDING_SUFFIXES:
        return "recording"
    return None


def handle_paths(win, paths: list[str]) -> list[str]:
    """Act on dropped paths; returns the kinds handled (unknown files get a message)."""
    done = []
    for path in paths:
        kind = classify(path)
        if kind == "source":
            win.tabs.setCurrentWidget(win.live_tab)
            if win.live_tab.open_source(path):
                win.post("info", f"Live source set to {path} (Ctrl+R starts it).")
        elif kind == "dataset":
            win.tabs.setCurrentWidget(win.benchmark_tab)
            win.benchmark_tab.set_data_dir(path)
        elif kind == "checkpoint":
            win.tabs.setCurrentWidget(win.models_tab)
            win.models_tab.import_file(path)
        elif kind == "recording":
            playback = getattr(win, "playback_tab", None)
            opener = getattr(playback, "open_recording", None) or getattr(playback, "load", None)
            if opener is None:
                win.post("warning", f"{path}: recordings open in the Playback tab, which this build does not have.")
                continue
            win.tabs.setCurrentWidget(playback)
            opener(path)
        else:
            win.post("warning", f"{path}: not a video, image folder, dataset, checkpoint or recording.")
            continue
        done.append(kind)
    return done
