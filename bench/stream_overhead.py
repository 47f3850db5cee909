"""Cost of the live OSC stream (engine/live/stream) to the pipeline: ``python -m bench.stream_overhead``.

Prints (1) what ``OscStreamer.submit`` costs the inference thread per frame (µs; the only part of the stream that runs
there), and the sender thread's own encode+send time per frame, for the plain and VMC message sets; (2) with
``--live``, the real ``LiveEngine`` on the demo clip (every frame, not paced; no detector, no RootNet) without a
stream and streaming to a stopped receiver (a loopback port nobody listens on), alternating runs in one process, and
the FPS of each with the frames sent and dropped. Why a bench and not a test: timings depend on the machine and its
load; the tests check behaviour (tests/engine/live/test_osc_stream.py).
"""

from __future__ import annotations

import argparse
import socket
import sys
import time
from collections.abc import Sequence
from types import SimpleNamespace

import numpy as np

__all__ = ["live_run", "main", "submit_cost"]


def _closed_port() -> int:
    """A loopback UDP port with no receiver (bound, then closed)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def submit_cost(fmt: str, frames: int = 2000) -> dict[str, float]:
    """µs per ``submit`` (inference thread) and per encode+send (sender thread) for one person of 18 joints."""
    from engine.live.engine import ModelInfo
    from engine.live.stream.formats import StreamFrame
    from engine.live.stream.sender import OscStreamer
    from models.joints import H36M18

    info = ModelInfo("m", "m", True, "h36m18", H36M18.names, 0)
    rng = np.random.default_rng(0)
    cam = rng.normal(0, 200, (1, 18, 3)) + [0, 0, 3000.0]
    pose = SimpleNamespace(joints_cam_mm=cam)
    results = [SimpleNamespace(frame_id=i, capture_ts=float(i), media_ts=None, track_ids=np.array([1]),
                               outputs={"m": pose}, smoothed={"m": pose}) for i in range(frames)]
    streamer = OscStreamer(f"osc://127.0.0.1:{_closed_port()}", [info], fmt=fmt, queue_frames=frames)
    t0 = time.perf_counter()
    for r in results:
        streamer.submit(r)
    submit_us = (time.perf_counter() - t0) / frames * 1e6
    streamer.close(timeout=60)
    frame = StreamFrame("m", "h36m18", 0, 0.0, np.array([1]), cam)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    port = _closed_port()
    t0 = time.perf_counter()
    n = 200
    for _ in range(n):
        sock.sendto(streamer.format.packet(frame) or b"", ("127.0.0.1", port))
    send_us = (time.perf_counter() - t0) / n * 1e6
    sock.close()
    return {"submit_us": submit_us, "encode_send_us": send_us}


def live_run(models: tuple[str, ...], frames: int, stream: str | None) -> dict[str, float]:
    """One engine run on the demo clip: FPS after 5 warm-up frames, and the stream's sent/dropped counts."""
    from engine.live.engine import LiveConfig, LiveEngine

    cfg = LiveConfig(source="demo", models=models, allow_untrained=True, detector="none", rootnet=None,
                     realtime=False, loop=True, device="cpu", max_frames=frames + 5,
                     stream=f"osc://127.0.0.1:{_closed_port()}" if stream else None, stream_format=stream or "plain")
    engine = LiveEngine(cfg, compare=False)
    ts: list[float] = []
    engine.subscribe(lambda r: ts.append(r.result_ts) if r.frame_id >= 5 else None)
    with engine:
        engine.wait()
    if engine.error is not None:
        raise engine.error
    fps = (len(ts) - 1) / (ts[-1] - ts[0]) if len(ts) >= 2 and ts[-1] > ts[0] else float("nan")
    st = engine.streamer.stats() if engine.streamer is not None else None
    return {"fps": fps, "sent": st.sent if st else 0, "dropped": st.dropped if st else 0}


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.stream_overhead", description=__doc__.split("\n")[0])
    ap.add_argument("--live", action="store_true", help="also time the live engine with and without a stream")
    ap.add_argument("--models", default="blazepose-full", help="models for --live (default %(default)s)")
    ap.add_argument("--frames", type=int, default=60, help="frames per --live run")
    ap.add_argument("--reps", type=int, default=3, help="alternating --live runs per setting")
    args = ap.parse_args(argv)
    for fmt in ("plain", "vmc"):
        c = submit_cost(fmt)
        print(f"{fmt:5s}: submit {c['submit_us']:.1f} us/frame on the inference thread; "
              f"encode+send {c['encode_send_us']:.1f} us/frame on the sender thread")
    if args.live:
        models = tuple(m for m in args.models.split(",") if m)
        runs: dict[str, list[dict[str, float]]] = {"off": [], "plain": [], "vmc": []}
        for _ in range(args.reps):
            for name in runs:
                runs[name].append(live_run(models, args.frames, None if name == "off" else name))
        base = float(np.median([r["fps"] for r in runs["off"]]))
        for name, rs in runs.items():
            fps = float(np.median([r["fps"] for r in rs]))
            extra = "" if name == "off" else (f"  ({100 * (1 - fps / base):+.1f} % vs off; sent "
                                              f"{sum(r['sent'] for r in rs)}, dropped {sum(r['dropped'] for r in rs)})")
            each = ", ".join(f"{r['fps']:.2f}" for r in rs)
            print(f"live {name:5s}: {fps:6.2f} FPS (median of {len(rs)}: {each}){extra}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
