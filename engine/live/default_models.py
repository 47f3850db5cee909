"""Which models a live view starts with: ones the user can have, never a model without weights.

Why a function of its own: the CLI (from the weights folder) and the GUI (from its registry rows) ask the same
question and must get the same answer: the bundled reference model, plus the lightest installed official pose
models, up to ``LIVE.max_default_models`` in all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from engine.defaults import LIVE
from models.spec import all_specs

__all__ = ["default_live_models"]


def default_live_models(has_weights: Callable[[str], bool] | Iterable[str]) -> list[str]:
    """``LIVE.models`` (bundled, always usable) then installed official pose models, lightest (GMACs) first.

    ``has_weights``: a predicate on a model name, or the names whose weights are installed.
    """
    if not callable(has_weights):
        installed = set(has_weights)
        has_weights = installed.__contains__
    picked = [m for m in LIVE.models if has_weights(m)]
    official = sorted((s for s in all_specs() if s.official and not s.reference and not s.is_root_model),
                      key=lambda s: (s.gmacs if s.gmacs is not None else float("inf"), s.name))
    for spec in official:
        if len(picked) >= LIVE.max_default_models:
            break
        if spec.name not in picked and has_weights(spec.name):
            picked.append(spec.name)
    return picked
