"""Decodings as registered classes: how a model's heatmap cells are read, starting with how a mirrored crop is undone.

Why classes: the flip test mirrors the crop, and each family undoes the mirror in its own units (3DMPPE in heatmap
cells, Integral in patch pixels, 3 px apart at a 4x stride). A spec names its decoding (``ModelSpec.decoding``); the
registry gives the class, so no code compares that name. Adding a decoding = one class and one ``register``.
Numbers are pinned by tests/fixtures/conformance/geometry.json (tests/test_geometry.py).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from models.registry import Registry

__all__ = ["DECODINGS", "Decoding", "get_decoding", "register_decoding"]

DECODINGS: Registry[type[Decoding]] = Registry("decoding", set_kind=True)


def register_decoding(name: str):
    """Class decorator: the decoding a spec names with ``decoding = name``."""
    return DECODINGS.register(name)


def get_decoding(name: str) -> Decoding:
    """An instance of the decoding registered as ``name``; ValueError naming the known ones otherwise."""
    try:
        return DECODINGS.lookup(name)()
    except KeyError:
        raise ValueError(f"unknown decoding {name!r} (known: {', '.join(DECODINGS)})") from None


class Decoding:
    """One family's reading of its output; subclasses say how a mirrored crop's x is mirrored back."""

    kind: ClassVar[str] = ""
    can_flip: ClassVar[bool] = True

    def mirror_x(self, x_cells: np.ndarray, output_w: int, input_w: int | None) -> np.ndarray:
        """x (heatmap cells) of a prediction on the mirrored crop -> x on the original crop."""
        raise NotImplementedError


@register_decoding("3dmppe")
class ThreeDMPPEDecoding(Decoding):
    """3DMPPE (PoseNet, ConvNeXtPose, MobileHumanPose): mirror in heatmap cells, x <- W_out - 1 - x."""

    def mirror_x(self, x_cells: np.ndarray, output_w: int, input_w: int | None) -> np.ndarray:
        return output_w - 1 - x_cells


@register_decoding("integral")
class IntegralDecoding(Decoding):
    """Integral (JimmySuen): mirror in patch pixels, x_px <- patch_w - 1 - x_px; it needs the patch width."""

    def mirror_x(self, x_cells: np.ndarray, output_w: int, input_w: int | None) -> np.ndarray:
        if input_w is None:
            raise ValueError("flip_back: Integral decoding needs input_w (patch width in pixels)")
        px = x_cells / output_w * input_w
        return (input_w - 1 - px) / input_w * output_w


@register_decoding("rootnet")
class RootNetDecoding(Decoding):
    """RootNet: one root point per crop, never flip-tested (its own test runs no flip)."""

    can_flip = False

    def mirror_x(self, x_cells: np.ndarray, output_w: int, input_w: int | None) -> np.ndarray:
        raise ValueError("flip_back: RootNet's decoding has no flip test")
