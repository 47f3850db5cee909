"""The live-pipeline benches run end to end (CI smoke) and compute what they report from what they measured."""

from __future__ import annotations

import json
import time

import pytest


def test_live_pipeline_bench_quick_reports_the_limit_ratio(tmp_path, capsys):
    import torch

    from bench.live_pipeline import main

    torch.set_num_threads(1)
    out = tmp_path / "live.json"
    assert main(["--quick", "--json", str(out)]) == 0
    run = json.loads(out.read_text())["runs"][0]
    assert run["scenario"] == "blazepose" and run["frames"] == 6 and run["persons"] == 1
    assert run["fps"] > 0 and run["forward_median_ms"]["blazepose-full"] > 0
    limit = 1000.0 / sum(run["forward_median_ms"].values())
    assert run["limit_fps"] == pytest.approx(limit, abs=0.01)
    assert run["limit_ratio"] == pytest.approx(run["fps"] / limit, rel=0.01)  # fps is stored rounded
    assert {"busy", "blazepose-full", "crop"} <= set(run["stages"])
    assert "limit_ratio" in capsys.readouterr().out


def test_tiled_frames_hold_one_person_per_tile():
    import numpy as np

    from bench.live_pipeline import TiledDetector
    from engine.live.detector_refresh import FindingDetector

    class OneBox(FindingDetector):
        kind = "one-box"

        def _find(self, image_bgr):
            return np.array([[10, 20, 30, 40]], np.float32), np.ones(1, np.float32)

        def _background_finder(self):
            return self._find

    det = TiledDetector(OneBox(every_n=5), cols=2, rows=2)
    image = np.zeros((200, 300, 3), np.uint8)
    d = det(image)
    assert d.boxes_xywh.tolist() == [[10, 20, 30, 40], [160, 20, 30, 40], [10, 120, 30, 40], [160, 120, 30, 40]]
    assert len(set(d.track_ids.tolist())) == 4
    boxes, _ = det._background_finder()(image)
    assert boxes.tolist() == d.boxes_xywh.tolist() and det.every_n == 5 and det.background


def test_sparse_detection_counts_persons_and_id_switches():
    from bench.sparse_detection import track_counts

    c = track_counts([[1], [1, 2], [1, 3], [], [4]])
    assert c == {"persons_found": 6, "distinct_ids": 4, "id_switches": 1}  # 2 -> 3 is a switch; 1 -> gap -> 4 not


def test_core_load_is_a_process_that_ends_with_its_block_and_by_itself():
    from bench.load import CoreLoad

    with CoreLoad(on=True, seconds=30) as load:
        proc = load._proc
        assert proc is not None and proc.is_alive()
    assert not proc.is_alive()
    with CoreLoad(on=True, seconds=0.5) as load:
        proc = load._proc
        time.sleep(1.5)
        assert not proc.is_alive()  # past its deadline it stopped on its own
