"""The offline Human3.6M benchmark: 3DMPPE data layout, synthetic data, metrics, runner and exports.

Submodules are imported explicitly (``from engine.h36m.metrics import score``) so importing the package stays cheap.
"""
