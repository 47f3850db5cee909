"""Fixtures shared by the GUI tests."""

from __future__ import annotations

import pytest

from tests.conftest import show_main_window


@pytest.fixture
def benchmark_window(qtbot, tmp_path, monkeypatch):
    """The main window on the Benchmark tab once its model list is filled (one torch thread: tests share 2 cores)."""
    import torch

    torch.set_num_threads(1)
    w = show_main_window(qtbot, tmp_path, monkeypatch, lambda w: w.benchmark_tab.model_list.count() > 0,
                         tab="benchmark_tab")
    yield w
    w.close()
