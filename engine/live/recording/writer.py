"""HDF5 recording of a live session: per frame timestamps, boxes, track ids, every model's joints (raw and smoothed)
and latencies, plus what is needed to trust the numbers later (models, checkpoint sha256s, trained flags, intrinsics,
source, software versions, start time).

The file layout is in ``engine.live.recording.format``; ``load_recording`` (``engine.live.recording.reader``,
also importable from here) reads it back.

Crash safety: frames are buffered for at most ``flush_interval_s`` (1 s) and then written and ``flush()``ed, so a
killed process loses at most the last second; the file is written in place (not temp + rename, which would lose
everything on a kill), and the root attribute ``complete`` becomes true only on a clean ``close()``.

Disk full: HDF5 cannot survive a failed flush (it has already written a superblock claiming the longer file, and the
whole file becomes unreadable). So before a flush that allocates new chunks the recorder first grows the file itself
by what those chunks need (``posix_fallocate``, else zeros). When that fails (ENOSPC, EFBIG, EDQUOT) HDF5 has not
been touched since its last flush: the recording stops with a ``RecordingError`` naming the file, and the file keeps
every frame flushed before. The slack left by the reservation is trimmed after each flush.

Size: every dataset is chunked (``CHUNK`` frames) and compressed (gzip level 4 after byte shuffle, both standard
HDF5 filters that any HDF5 reader decodes); the many NaN slots of absent persons then cost almost nothing
(``python -m bench.recording_size`` measures MB per hour per model). A compressed chunk that is still filling is
rewritten at each flush and may move, so the reservation above covers every chunk a flush touches, not only new
ones.

An existing file is never replaced unless ``overwrite=True``.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import h5py
import numpy as np

from engine.defaults import LIVE
from engine.live.recording.format import FORMAT, JOINT_FIELDS, KINDS, VERSION, RecordingError
from engine.live.recording.reader import RecordedModel, Recording, load_recording
from engine.versions import software_versions

if TYPE_CHECKING:
    from engine.live.results import LiveResult, ModelInfo

__all__ = ["LiveRecorder", "RecordedModel", "Recording", "RecorderLike", "RecordingError", "load_recording"]

CHUNK = 64
COMPRESSION = "gzip"  # None: uncompressed (the layout before version 2; bench/recording_size.py compares both)
COMPRESSION_LEVEL = 4
# HDF5's chunk cache, per dataset. The default (1 MiB each) kept every chunk written so far until it was full, which
# for a recording's 20-30 datasets read as a leak: a 10-minute live soak grew 6 MB/min while recording and stayed
# flat without. A writer only touches the chunk being appended to; 256 KiB holds the largest (64 frames x 8 persons
# x 21 joints x 3 x float32 = 258 kB is bypassed, i.e. written through, which is just as correct).
CHUNK_CACHE_BYTES = 256 * 1024
# Growth beyond the raw chunks when new chunks are allocated: a chunk-index B-tree node per dataset (~3.3 kB, on its
# first chunk and at every node split), object headers of new datasets, heap growth. Measured, then rounded up.
_INDEX_BYTES = 4096
_NEW_DATASET_BYTES = 8192
_SLACK_BYTES = 16384
_DEFLATE_GROWTH = 1.01  # deflate's worst case on incompressible data: + 5 bytes per 16 kB block, rounded up
_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC)})


@dataclass
class _Row:
    frame_id: int
    capture_ts: float
    media_ts: float
    result_ts: float
    n: int
    boxes: np.ndarray
    track_ids: np.ndarray
    root: np.ndarray
    intrinsics: np.ndarray
    latency: dict[str, float]
    joints: dict[tuple[str, str, str], np.ndarray] = field(default_factory=dict)


def _float(v: Any) -> float:
    return float("nan") if v is None else float(v)


def _pad(a: Any, m: int, tail: tuple[int, ...], fill: float, dtype: Any) -> np.ndarray:
    out = np.full((m, *tail), fill, dtype)
    if a is None:
        return out
    a = np.asarray(a)
    k = min(len(a), m)
    if k:
        out[:k] = a[:k].reshape(k, *tail)
    return out


class RecorderLike(Protocol):
    """What the live engine calls on its recorder: ``LiveRecorder`` has it, and so does the GUI's wrapper that lets
    recording stop while the engine runs."""

    def write(self, result: LiveResult) -> None: ...

    def maybe_flush(self) -> None: ...

    def close(self) -> None: ...


class LiveRecorder:
    """Appends ``LiveResult``s (duck-typed: see ``write``) to an HDF5 file."""

    def __init__(self, path: str | Path, models: Sequence[ModelInfo], *, max_persons: int = LIVE.max_persons,
                 attrs: Mapping[str, Any] | None = None, flush_interval_s: float = 1.0,
                 overwrite: bool = False, compression: str | None = COMPRESSION) -> None:
        """``overwrite``: replace an existing file at ``path`` (else an existing file is a ``RecordingError``);
        ``compression``: "gzip" (default, with shuffle), "lzf" or None."""
        self.path = Path(path)
        self.compression = compression
        self.models = list(models)
        self.max_persons = int(max_persons)
        self.flush_interval_s = float(flush_interval_s)
        self.frames_written = 0  # frames in the file (flushed)
        self.persons_truncated = 0
        self.error: RecordingError | None = None  # set when a write failed: the recording has stopped
        self._rows: list[_Row] = []
        self._last_flush = time.monotonic()
        self._lat_stages: list[str] = []
        self._chunk_bytes = 0  # one chunk of every dataset: what the next CHUNK frames allocate
        self._hdf5_failed = False
        self._dsets: dict[str, h5py.Dataset] = {}
        self._datasets = 0
        if not overwrite and (self.path.exists() or self.path.is_symlink()):
            raise RecordingError(f"{self.path}: already exists (an earlier recording?); refusing to replace it: "
                                 f"choose another file or allow overwriting (--overwrite)")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._f = h5py.File(self.path, "w" if overwrite else "x", rdcc_nbytes=CHUNK_CACHE_BYTES)
        except FileExistsError as e:  # appeared since the check above
            raise RecordingError(f"{self.path}: already exists; refusing to replace it") from e
        except OSError as e:
            raise RecordingError(f"{self.path}: cannot create the recording ({_reason(e)})") from e
        try:
            self._create(attrs or {})
        except (OSError, RuntimeError) as e:  # e.g. a full disk: remove the half-made file, it holds nothing
            self._close_quietly()
            with contextlib.suppress(OSError):
                self.path.unlink()
            raise RecordingError(f"{self.path}: cannot create the recording ({_reason(e)})") from e

    # -- layout ----------------------------------------------------------------------------------------------------
    def _ds(self, name: str, tail: tuple[int, ...], dtype: Any, fill: Any) -> None:
        # kept open: a dataset closed after each append writes its chunks from h5py's __dealloc__, where a failed
        # write is only printed ('Exception ignored'), never raised to the recorder
        filters: dict[str, Any] = {}
        if self.compression:
            filters = {"compression": self.compression, "shuffle": True}
            if self.compression == "gzip":
                filters["compression_opts"] = COMPRESSION_LEVEL
        self._dsets[name] = self._f.create_dataset(name, shape=(0, *tail), maxshape=(None, *tail), dtype=dtype,
                                                   chunks=(CHUNK, *tail), fillvalue=fill, **filters)
        self._chunk_bytes += int(np.prod((CHUNK, *tail))) * np.dtype(dtype).itemsize
        self._datasets += 1

    def _create(self, attrs: Mapping[str, Any]) -> None:
        f, m = self._f, self.max_persons
        now = datetime.now(UTC)
        base = {
            "format": FORMAT, "version": VERSION, "start_time": now.isoformat(), "start_monotonic": time.monotonic(),
            "max_persons": m, "complete": False, "frames": 0, "persons_truncated": 0,
            "clock": "time.monotonic() seconds", "models": json.dumps([mi.name for mi in self.models]),
            "software": json.dumps(software_versions()),
            "smoothed_note": ("'smoothed' = causal One Euro filter per track (engine/smoothing.py); "
                              "'raw' = as predicted"),
        }
        extra = {"compression": f"{self.compression} (shuffle)" if self.compression else "none"}
        src_path = _source_path(attrs.get("source"))
        if src_path:
            extra["source_path"] = src_path  # absolute: overlay exports find the video from anywhere
        for k, v in {**base, **extra, **attrs}.items():
            f.attrs[k] = v if isinstance(v, str | int | float | bool | np.number) else json.dumps(v)
        self._ds("frames/frame_id", (), np.int64, -1)
        self._ds("frames/capture_ts", (), np.float64, np.nan)
        self._ds("frames/media_ts", (), np.float64, np.nan)
        self._ds("frames/result_ts", (), np.float64, np.nan)
        self._ds("frames/num_persons", (), np.int16, 0)
        self._ds("frames/boxes", (m, 4), np.float32, np.nan)
        self._ds("frames/track_ids", (m,), np.int64, -1)
        self._ds("frames/root_cam_mm", (m, 3), np.float32, np.nan)
        self._ds("frames/intrinsics", (4,), np.float32, np.nan)
        f.create_group("latency_ms")
        for mi in self.models:
            g = f.create_group(f"models/{mi.name}")
            g.attrs["joint_set"] = mi.joint_set
            g.attrs["joint_names"] = json.dumps(list(mi.joint_names))
            g.attrs["root_index"] = int(mi.root_index)
            g.attrs["trained"] = bool(mi.trained)
            g.attrs["label"] = mi.label
            g.attrs["sha256"] = mi.sha256 or ""
            g.attrs["checkpoint"] = str(mi.checkpoint or "")
            for kind in KINDS:
                for fld, d in JOINT_FIELDS:
                    self._ds(f"models/{mi.name}/{kind}/{fld}", (m, mi.num_joints, d), np.float32, np.nan)
        f.flush()

    # -- writing ---------------------------------------------------------------------------------------------------
    def write(self, result: Any) -> None:
        """Buffer one result (fields: frame_id, capture_ts, result_ts, boxes, track_ids, root_cam_mm, intrinsics,
        latencies_ms, outputs {name: .joints_*}, smoothed {name: .joints_*}); writes+flushes once a second.

        Raises ``RecordingError`` (naming the file) when writing failed, now or earlier: the recording has stopped."""
        if self.error is not None:
            raise self.error.with_traceback(None)
        m = self.max_persons
        n = len(result.boxes)
        if n > m:
            self.persons_truncated += n - m
        k = self.models
        intr = result.intrinsics
        row = _Row(
            int(result.frame_id), float(result.capture_ts), _float(getattr(result, "media_ts", None)),
            float(result.result_ts), min(n, m),
            _pad(result.boxes, m, (4,), np.nan, np.float32), _pad(result.track_ids, m, (), -1, np.int64),
            _pad(result.root_cam_mm, m, (3,), np.nan, np.float32),
            np.array([intr.fx, intr.fy, intr.cx, intr.cy] if intr is not None else [np.nan] * 4, np.float32),
            {s: float(v) for s, v in result.latencies_ms.items()},
        )
        for mi in k:
            for kind, src in (("raw", result.outputs), ("smoothed", result.smoothed)):
                out = src.get(mi.name) if src else None
                for fld, d in JOINT_FIELDS:
                    row.joints[(mi.name, kind, fld)] = _pad(getattr(out, fld, None), m, (mi.num_joints, d), np.nan,
                                                            np.float32)
        self._rows.append(row)
        self.maybe_flush()

    def maybe_flush(self) -> None:
        """Write buffered frames if the flush interval has passed (the engine also calls this when idle)."""
        if self._rows and time.monotonic() - self._last_flush >= self.flush_interval_s:
            self.flush()

    def flush(self) -> None:
        """Write the buffered frames; on a failure the recording stops (``error``) and ``RecordingError`` is raised."""
        if self.error is not None:
            raise self.error.with_traceback(None)
        rows, self._rows = self._rows, []
        self._last_flush = time.monotonic()
        reserved = False
        try:
            if rows:
                reserved = self._reserve(rows)
                self._append(rows)
            self._f.attrs["frames"] = self.frames_written + len(rows)
            self._f.attrs["persons_truncated"] = self.persons_truncated
            self._f.flush()
        except RecordingError as e:  # no room for the next chunks: HDF5 untouched since its last flush
            self.error = e
            raise
        except (OSError, RuntimeError) as e:  # HDF5 itself failed (the reservation fell short): may be damaged
            self._hdf5_failed = True
            self.error = RecordingError(f"{self.path}: writing the recording failed ({_reason(e)}); recording "
                                        f"stopped after {self.frames_written} frames")
            raise self.error from None  # the reason is in the message; h5py's own text is pages long
        self.frames_written += len(rows)
        if reserved:
            self._trim()

    # -- room on the disk ------------------------------------------------------------------------------------------
    def _needed_bytes(self, rows: list[_Row]) -> int:
        """What appending ``rows`` allocates in the file (0 when every row fits in chunks already allocated)."""
        n0, n1 = self.frames_written, self.frames_written + len(rows)
        new_chunks = -(-n1 // CHUNK) - (-(-n0 // CHUNK))
        # compressed: the partly filled chunk a flush writes into is compressed anew and may move to the file's end
        # (its index entry is updated in place: no new index node)
        rewritten = 1 if self.compression and n1 > n0 and n0 % CHUNK else 0
        new_stages = {s for r in rows for s in r.latency} - set(self._lat_stages)
        if not new_chunks and not rewritten and not new_stages:
            return 0
        growth = _DEFLATE_GROWTH if self.compression else 1.0
        chunk = int(self._chunk_bytes * growth) + self._datasets * 64
        per_chunk = chunk + self._datasets * _INDEX_BYTES
        stage = -(-n1 // CHUNK) * CHUNK * 4 + _INDEX_BYTES + _NEW_DATASET_BYTES  # a new [N] f4 dataset, filled to n1
        return new_chunks * per_chunk + rewritten * chunk + len(new_stages) * stage + _SLACK_BYTES

    def _reserve(self, rows: list[_Row]) -> bool:
        """Grow the file by what ``rows`` will allocate before HDF5 does: a full disk then fails here, cleanly.

        True when the file was grown (``_trim`` gives back the rest after the flush)."""
        need = self._needed_bytes(rows)
        if not need:
            return False
        try:
            fd = os.open(self.path, os.O_RDWR | getattr(os, "O_BINARY", 0))
        except OSError:  # cannot reopen it (moved?): go on without the reservation
            return False
        try:
            size = os.fstat(fd).st_size
            try:
                _allocate(fd, size, need)
            except OSError as e:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, size)
                if e.errno in _FULL_ERRNOS:
                    raise RecordingError(
                        f"{self.path}: disk full or file too large ({_reason(e)}); recording stopped, the file keeps "
                        f"the {self.frames_written} frame(s) written before") from e
                return False  # reserving is not supported here: write without it
        finally:
            os.close(fd)
        return True

    def _trim(self) -> None:
        """Cut the unused part of a reservation (HDF5 does not truncate a file it believes is already long
        enough)."""
        with contextlib.suppress(OSError, RuntimeError, ValueError):
            end = int(self._f.id.get_filesize())
            if end > 0 and self.path.stat().st_size > end:
                os.truncate(self.path, end)

    def _append_ds(self, name: str, data: np.ndarray) -> None:
        ds = self._dsets[name]
        start = ds.shape[0]
        ds.resize(start + len(data), axis=0)
        ds[start:] = data

    def _append(self, rows: list[_Row]) -> None:
        n0 = self.frames_written
        self._append_ds("frames/frame_id", np.array([r.frame_id for r in rows], np.int64))
        self._append_ds("frames/capture_ts", np.array([r.capture_ts for r in rows], np.float64))
        self._append_ds("frames/media_ts", np.array([r.media_ts for r in rows], np.float64))
        self._append_ds("frames/result_ts", np.array([r.result_ts for r in rows], np.float64))
        self._append_ds("frames/num_persons", np.array([r.n for r in rows], np.int16))
        self._append_ds("frames/boxes", np.stack([r.boxes for r in rows]))
        self._append_ds("frames/track_ids", np.stack([r.track_ids for r in rows]))
        self._append_ds("frames/root_cam_mm", np.stack([r.root for r in rows]))
        self._append_ds("frames/intrinsics", np.stack([r.intrinsics for r in rows]))
        stages = list(dict.fromkeys(self._lat_stages + [s for r in rows for s in r.latency]))
        for s in stages:
            name = f"latency_ms/{s}"
            if name not in self._dsets:
                self._ds(name, (), np.float32, np.nan)
                self._dsets[name].resize(n0, axis=0)  # earlier frames: NaN (stage did not exist yet)
                self._lat_stages.append(s)
            self._append_ds(name, np.array([r.latency.get(s, np.nan) for r in rows], np.float32))
        for key in rows[0].joints:
            name, kind, fld = key
            self._append_ds(f"models/{name}/{kind}/{fld}", np.stack([r.joints[key] for r in rows]))

    def close(self) -> None:
        """Flush and mark the file ``complete``; after a failed write only release the file (raises nothing new).

        Raises ``RecordingError`` when the final flush fails (the file keeps what was flushed before)."""
        if not self._f.id.valid:
            return
        if self.error is None:
            try:
                self.flush()
                self._f.attrs["complete"] = True
                self._f.close()
                return
            except RecordingError:
                self._close_quietly()
                raise
            except (OSError, RuntimeError) as e:
                self._hdf5_failed = True
                self.error = RecordingError(f"{self.path}: closing the recording failed ({_reason(e)})")
                self._close_quietly()
                raise self.error from None
        self._close_quietly()

    def _close_quietly(self) -> None:
        """Release the HDF5 file after a failure: buffered frames are dropped, errors are not reported twice.

        After HDF5 itself failed, its pending writes can only make the file worse and each one fails again (h5py
        prints them as 'Exception ignored' tracebacks): its descriptor is pointed at the null device first, so
        closing writes nothing more into the file."""
        self._rows = []
        if self._hdf5_failed:
            with contextlib.suppress(Exception):
                fd = int(self._f.id.get_vfd_handle())
                null = os.open(os.devnull, os.O_RDWR)
                try:
                    os.dup2(null, fd)
                finally:
                    os.close(null)
        with contextlib.suppress(Exception):
            self._f.close()

    def __enter__(self) -> LiveRecorder:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _source_path(source: Any) -> str:
    """The absolute path of a file source ("video:clip.mp4", "images:frames/", "demo:/.../demo.mp4"), else ""."""
    if not isinstance(source, str) or ":" not in source:
        return ""
    kind, _, name = source.partition(":")
    if kind not in ("video", "images", "demo") or not name:
        return ""
    p = Path(name).expanduser()
    return str(p.resolve()) if p.exists() else ""


def _reason(e: BaseException) -> str:
    """The useful part of an OS / HDF5 error: ``[Errno 27] File too large`` (also out of h5py's long text), else
    its first line."""
    if isinstance(e, OSError) and e.errno is not None and e.strerror:
        return f"[Errno {e.errno}] {e.strerror}"
    text = str(e)
    m = re.search(r"errno = (\d+), error message = '([^']*)'", text)
    if m:
        return f"[Errno {m.group(1)}] {m.group(2)}"
    return (text.strip().splitlines() or [type(e).__name__])[0][:300]


def _allocate(fd: int, offset: int, nbytes: int) -> None:
    """Make the file ``offset + nbytes`` long with its blocks allocated (OSError ENOSPC/EFBIG when they do not fit)."""
    if hasattr(os, "posix_fallocate"):
        try:
            os.posix_fallocate(fd, offset, nbytes)
            return
        except OSError as e:
            if e.errno not in (errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
                raise
    zeros = bytes(min(nbytes, 1 << 20))
    os.lseek(fd, offset, os.SEEK_SET)
    left = nbytes
    while left > 0:
        left -= os.write(fd, zeros[:left])
