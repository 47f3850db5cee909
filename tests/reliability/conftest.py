"""Fixtures every fault test in this folder may use without importing them: the synthetic Human3.6M (one folder for
the whole session; defined in fault_helpers, which also holds the helpers the tests import by name)."""

from __future__ import annotations

from tests.reliability.fault_helpers import syn_data

__all__ = ["syn_data"]
