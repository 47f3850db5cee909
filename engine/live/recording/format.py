"""What a live recording file is: its format name and version, the joint datasets per model, and the error both
the writer (``engine.live.recording.writer.LiveRecorder``) and the reader (``engine.live.recording.reader``) raise.

Layout (N frames, M = ``max_persons`` slots; persons beyond M are dropped and counted in ``persons_truncated``):
    /frames/{frame_id [N] i8, capture_ts [N] f8, media_ts [N] f8 (NaN for live sources), result_ts [N] f8,
             num_persons [N] i2, boxes [N,M,4] f4 (xywh, NaN padded), track_ids [N,M] i8 (-1 padded),
             root_cam_mm [N,M,3] f4, intrinsics [N,4] f4 (fx, fy, cx, cy)}
    /latency_ms/<stage> [N] f4 (NaN where the stage did not run; "end_to_end" = capture -> result)
    /models/<name>/{raw,smoothed}/{joints_2d [N,M,J,2], joints_rel_mm [N,M,J,3], joints_cam_mm [N,M,J,3]} f4
Every dataset is chunked along N and (version 2) gzip-compressed after byte shuffle; readers need nothing special.
Root attributes include ``source`` ("kind:name") and, for file sources, ``source_path`` (absolute), which the
overlay-video export uses to find the frames again.
Timestamps are ``time.monotonic()`` seconds; ``start_time`` (ISO 8601) and ``start_monotonic`` relate them to wall
time.
"""

from __future__ import annotations

from models.errors import PoseArenaError

__all__ = ["FORMAT", "JOINT_FIELDS", "KINDS", "VERSION", "RecordingError"]

FORMAT = "posearena-live-recording"
VERSION = 2  # 2: compressed chunks, source_path (readers accept 1 too)
JOINT_FIELDS = (("joints_2d", 2), ("joints_rel_mm", 3), ("joints_cam_mm", 3))
KINDS = ("raw", "smoothed")


class RecordingError(PoseArenaError):
    """A recording that cannot be written or read; the message names the file."""
