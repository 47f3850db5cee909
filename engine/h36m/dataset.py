"""Human3.6M test sets (Protocol 1: S11, Protocol 2: S9+S11) and a streaming crop loader.

GT follows 3DMPPE's loader: world joints (float32) + Thorax (midpoint of the shoulders 11 and 14) -> camera
(R X + t). Box and root depth: GT (``process_bbox`` of the annotation box, GT root), RootNet's result file (box
already processed: used as is; root as given), or GT boxes with the root left to the runner, which runs RootNet live
on the crops (``rootnet-model``: ``root_cam`` is NaN until the runner fills it in). Images are read and cropped in
DataLoader workers, one image at a time, so memory stays bounded whatever the test-set size; crops travel as uint8
and are normalised on the device.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from engine.h36m.layout import DatasetError, RawIndex, find_rootnet_file, load_rootnet_file, validate
from engine.h36m.root_sources import LIVE_ROOT, ROOT_SOURCES

if TYPE_CHECKING:
    from engine.inference.conventions import BoxSource

__all__ = [
    "LIVE_ROOT",
    "ROOT_SOURCES",
    "CropDataset",
    "ERROR_KEY",
    "TestSet",
    "crop_key",
    "limit_indices",
    "load_test_set",
    "make_loader",
    "normalise_batch",
    "raise_marked_error",
    "test_set_from_raw",
]

L_SHOULDER, R_SHOULDER = 11, 14


def crop_key(input_hw: Sequence[int], crop: str = "3dmppe") -> str:
    """Crops depend on the input size (aspect and resolution) and the crop policy; models sharing both share them."""
    size = f"{int(input_hw[0])}x{int(input_hw[1])}"
    return size if crop == "3dmppe" else f"{size}/{crop}"


@dataclass
class TestSet:
    """Test samples ready for inference and scoring (arrays aligned; dropped samples listed)."""

    raw: RawIndex
    protocol: int
    root_source: str  # "gt" | "rootnet" | "rootnet-model"
    rows: np.ndarray  # [N] indices into raw
    joints_cam: np.ndarray  # [N,18,3] float32 GT camera mm (h36m18 order, Thorax last)
    actions: np.ndarray  # [N] 0..14
    root_cam: np.ndarray  # [N,3] root used for depth decoding (GT or RootNet file; NaN for "rootnet-model")
    rootnet_bbox: np.ndarray | None  # [N,4] processed boxes from the RootNet file
    rootnet_file: Path | None = None
    dropped: list[tuple[int, str]] = field(default_factory=list)  # (image id, reason)
    _boxes: dict[tuple[float, str], np.ndarray] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return int(self.rows.shape[0])

    @property
    def image_ids(self) -> np.ndarray:
        return self.raw.image_id[self.rows]

    @property
    def f(self) -> np.ndarray:
        return self.raw.f[self.rows]

    @property
    def c(self) -> np.ndarray:
        return self.raw.c[self.rows]

    @property
    def gt_root(self) -> np.ndarray:
        return self.joints_cam[:, 0].astype(np.float64)

    def image_paths(self) -> list[str]:
        return [str(self.raw.image_path(int(r))) for r in self.rows]

    def file_names(self) -> list[str]:
        return [self.raw.file_name[int(r)] for r in self.rows]

    def boxes(self, input_hw: Sequence[int], crop: str = "3dmppe") -> np.ndarray:
        """[N,4] crop boxes for a model input size (aspect = W / H) under a registered crop policy
        (``engine.inference.conventions.CROP_POLICIES``); zeros where the policy cannot make one."""
        from engine.inference.conventions import CROP_POLICIES

        aspect = float(input_hw[1]) / float(input_hw[0])
        key = (aspect, crop)
        if key not in self._boxes:
            out, ok, _ = CROP_POLICIES.lookup(crop)().boxes(self.box_source(), aspect)
            self._boxes[key] = np.where(ok[:, None], out, 0.0)
        return self._boxes[key]

    def box_source(self) -> BoxSource:
        """What the crop policies build from: the annotation boxes (they stand in for a detector's), the RootNet
        file's boxes (already processed: used as they are), and the root: the RootNet file's with that root source,
        else the ground-truth pelvis (what Integral's own test centres its box on)."""
        from engine.inference.conventions import BoxSource

        rows, from_file = self.rows, self.rootnet_bbox is not None
        return BoxSource(self.raw.bbox[rows].astype(np.float64),
                         np.stack([self.raw.width[rows], self.raw.height[rows]], axis=1).astype(np.float64),
                         self.f, self.c, self.root_cam if from_file else self.gt_root,
                         "RootNet file's root" if from_file else "ground-truth pelvis",
                         processed=self.rootnet_bbox)

    def subset(self, idx: np.ndarray) -> TestSet:
        idx = np.asarray(idx, dtype=np.int64)
        out = TestSet(
            raw=self.raw, protocol=self.protocol, root_source=self.root_source, rows=self.rows[idx],
            joints_cam=self.joints_cam[idx], actions=self.actions[idx], root_cam=self.root_cam[idx],
            rootnet_bbox=None if self.rootnet_bbox is None else self.rootnet_bbox[idx],
            rootnet_file=self.rootnet_file, dropped=list(self.dropped),
        )
        out._boxes = {k: v[idx] for k, v in self._boxes.items()}
        return out


def _gt_boxes(raw: RawIndex, rows: np.ndarray, aspect: float) -> tuple[np.ndarray, list[int]]:
    from engine.inference.geometry import process_bbox

    out = np.zeros((len(rows), 4))
    bad = []
    for k, r in enumerate(rows):
        b = process_bbox(raw.bbox[r], int(raw.width[r]), int(raw.height[r]), aspect)
        if b is None:
            bad.append(k)
        else:
            out[k] = b
    return out, bad


def add_thorax(joints17: np.ndarray) -> np.ndarray:
    """[...,17,3] -> [...,18,3] with Thorax = midpoint of L_Shoulder (11) and R_Shoulder (14), as 3DMPPE does."""
    thorax = (joints17[..., L_SHOULDER, :] + joints17[..., R_SHOULDER, :]) * 0.5
    return np.concatenate([joints17, thorax[..., None, :]], axis=-2)


def test_set_from_raw(raw: RawIndex, root_source: str = "gt", rootnet: tuple[np.ndarray, np.ndarray] | None = None,
                      rootnet_file: Path | None = None, drop_degenerate: bool = True) -> TestSet:
    """GT camera joints, actions and roots for every sample of a validated index.

    With GT boxes, samples whose annotation box is degenerate are dropped like the official loader does
    (``drop_degenerate=False`` keeps them, for scoring predictions made elsewhere).
    """
    from engine.inference.geometry import world2cam

    if root_source not in ROOT_SOURCES:
        raise ValueError(f"root source must be one of {ROOT_SOURCES}, got {root_source!r}")
    jw = add_thorax(raw.joints_world.astype(np.float32))
    # float32 inputs like the official loader; one (R, t) per sample (cheap: ~9k samples at most)
    cam = np.stack([world2cam(jw[n], raw.R[n], raw.t[n]) for n in range(len(raw))]) if len(raw) else jw.copy()
    cam = cam.astype(np.float32)
    actions = raw.action_idx - 2
    rows = np.arange(len(raw))
    dropped: list[tuple[int, str]] = []
    rn_box = None
    if root_source in ("gt", LIVE_ROOT):
        bad = _gt_boxes(raw, rows, 1.0)[1] if drop_degenerate else []
        for k in bad:
            dropped.append((int(raw.image_id[k]), "annotation box is degenerate (process_bbox returned None)"))
        keep = np.setdiff1d(rows, np.array(bad, dtype=np.int64))
        root = cam[keep, 0].astype(np.float64)
        if root_source == LIVE_ROOT:  # computed by the runner from RootNet's output; NaN so no one decodes with it
            root = np.full_like(root, np.nan)
    else:
        if rootnet is None:
            raise ValueError("root_source 'rootnet' needs the RootNet boxes and roots")
        keep = rows
        rn_box, root = np.asarray(rootnet[0], dtype=np.float64), np.asarray(rootnet[1], dtype=np.float64)
    return TestSet(
        raw=raw, protocol=raw.protocol, root_source=root_source, rows=keep, joints_cam=cam[keep],
        actions=actions[keep], root_cam=root, rootnet_bbox=rn_box, rootnet_file=rootnet_file, dropped=dropped,
    )


def load_test_set(root: str | os.PathLike, protocol: int = 2, *, root_source: str = "gt",
                  rootnet_file: str | os.PathLike | None = None, images: str = "exists") -> TestSet:
    """Validate the folder (raising DatasetError with every problem listed) and build the test set."""
    rn_path = None
    if root_source == "rootnet":
        rn_path = Path(rootnet_file) if rootnet_file else find_rootnet_file(root, protocol)
        if rn_path is None:
            raise DatasetError(f"no RootNet result file found for {root}: pass one (bbox_root_human36m_output.json)")
    report = validate(root, protocol, images=images, rootnet_file=rn_path)
    report.raise_if_errors()
    raw = report.index
    assert raw is not None
    rootnet = load_rootnet_file(rn_path, raw.image_id) if rn_path is not None else None
    return test_set_from_raw(raw, root_source, rootnet, rn_path)


def dataset_qualifier(test: TestSet, limit: int | None = None) -> str:
    """The words every title of results on ``test`` carries when they are not the full real test set: "synthetic
    data, not Human3.6M" and/or "partial: N of M samples"; "" for the full real set."""
    from engine.h36m.synthetic import is_synthetic

    words = ["synthetic data, not Human3.6M"] if is_synthetic(test.raw.root) else []
    if limit is not None and limit < len(test.raw):
        words.append(f"partial: {len(test)} of {len(test.raw)} samples")
    return "; ".join(words)


def limit_indices(n: int, limit: int | None) -> np.ndarray:
    """``limit`` samples spread evenly over the (id-sorted) set, so every action and subject stays represented."""
    if limit is None or limit >= n:
        return np.arange(n)
    if limit <= 0:
        raise ValueError(f"limit must be positive, got {limit}")
    return np.unique(np.linspace(0, n - 1, limit).round().astype(np.int64))


ERROR_KEY = "error"  # CropDataset(mark_errors=True): "" for a good item, else the DatasetError message


class CropDataset(Dataset):
    """Reads one image per item and returns its crops (uint8 [3,H,W] RGB) for every needed input size.

    ``mark_errors``: an unreadable image does not raise (in a DataLoader worker, torch would re-raise it with the
    worker's traceback as its message) but yields zero crops and its message under ``ERROR_KEY``, for the main
    process to raise as one clear ``DatasetError`` (see ``raise_marked_error``).
    """

    def __init__(self, paths: Sequence[str], boxes: dict[str, np.ndarray], input_hw: dict[str, tuple[int, int]],
                 mark_errors: bool = False):
        self.paths = list(paths)
        self.boxes = {k: np.asarray(v, dtype=np.float64) for k, v in boxes.items()}
        self.input_hw = dict(input_hw)
        self.mark_errors = mark_errors
        for k, b in self.boxes.items():
            if b.shape != (len(self.paths), 4):
                raise ValueError(f"boxes[{k!r}] has shape {b.shape}, expected ({len(self.paths)}, 4)")

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor | int | str]:
        import cv2

        from engine.inference.geometry import crop_affine
        from engine.live.image_source import read_image

        # read whole and checked: OpenCV decodes a cut-off JPEG with grey fill and no error, which would be scored
        img, why = read_image(self.paths[i])
        if img is None:
            msg = f"{self.paths[i]}: image is missing or cannot be decoded: {why}"
            if not self.mark_errors:
                raise DatasetError(msg)
            bad: dict[str, torch.Tensor | int | str] = {"index": i, ERROR_KEY: msg}
            for key, (h, w) in self.input_hw.items():
                bad[key] = torch.zeros((3, h, w), dtype=torch.uint8)
            return bad
        item: dict[str, torch.Tensor | int | str] = {"index": i}
        if self.mark_errors:
            item[ERROR_KEY] = ""
        for key, (h, w) in self.input_hw.items():
            # geometry.crop_patch's warp, kept in uint8 (its float32 output holds these same integers): 4x less
            # to move between processes; tests/engine/h36m/test_h36m_dataset.py checks the equality
            patch = cv2.warpAffine(img, crop_affine(self.boxes[key][i], (h, w)), (w, h), flags=cv2.INTER_LINEAR)
            item[key] = torch.from_numpy(np.ascontiguousarray(patch[:, :, ::-1].transpose(2, 0, 1)))
        return item


def raise_marked_error(batch: dict) -> None:
    """Raise the first ``ERROR_KEY`` message of a collated batch as ``DatasetError`` (no-op when there is none)."""
    for msg in batch.get(ERROR_KEY, ()):
        if msg:
            raise DatasetError(msg)


def _worker_init(_: int) -> None:
    # Ctrl-C goes to the whole process group: only the main process handles it (cancel at a batch boundary).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import cv2

    cv2.setNumThreads(1)
    torch.set_num_threads(1)


def make_loader(dataset: Dataset, indices: Iterable[int], *, batch_size: int, num_workers: int = 2,
                pin_memory: bool = False) -> DataLoader:
    """Ordered batches over ``indices`` (a resumed run passes the not-yet-done ones)."""
    from torch.utils.data import Subset

    sub = Subset(dataset, list(indices))
    kw = {}
    if num_workers > 0:
        # spawn, not fork: forking a process that already ran OpenCV's thread pool, CUDA or Qt threads can deadlock
        # the children (seen with OpenCV 5: cv2.setNumThreads hangs in a forked worker)
        kw = {"worker_init_fn": _worker_init, "prefetch_factor": 4, "persistent_workers": False,
              "multiprocessing_context": "spawn"}
    return DataLoader(sub, batch_size=batch_size, shuffle=False, num_workers=num_workers, pin_memory=pin_memory,
                      drop_last=False, **kw)


def normalise_batch(crops_uint8: torch.Tensor, kind: str) -> torch.Tensor:
    """uint8 [N,3,H,W] RGB on any device -> float32 network input; same numbers as ``geometry.normalise``."""
    from engine.inference.geometry import NORMALISATIONS

    if kind not in NORMALISATIONS:
        raise ValueError(f"unknown normalisation {kind!r}; known: {', '.join(NORMALISATIONS)}")
    x = crops_uint8.to(torch.float32)
    stats = NORMALISATIONS[kind]
    if stats is None:
        return x
    mean = torch.tensor(stats[0], dtype=torch.float32, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(stats[1], dtype=torch.float32, device=x.device).view(1, 3, 1, 1)
    return (x - mean) / std
