"""Regime detection: causal (filtered) regime probabilities with names earned from the thesis.

Engines: :class:`regime.hmm.RegimeHMM` (Gaussian HMM, the default) and
:class:`regime.jump.RegimeJumpModel` (statistical jump model), both built on
:class:`regime.base.RegimeModelMixin`; :func:`regime.engines.make_regime_model` picks one by
name. Names come from :mod:`regime.naming`, degeneracy checks from :mod:`regime.diagnostics`.
Importing this package is light; the engines load on first use.
"""

from __future__ import annotations

from typing import Any

__all__ = ["RegimeHMM", "RegimeJumpModel", "make_regime_model"]


def __getattr__(name: str) -> Any:
    if name == "RegimeHMM":
        from regime.hmm import RegimeHMM

        return RegimeHMM
    if name == "RegimeJumpModel":
        from regime.jump import RegimeJumpModel

        return RegimeJumpModel
    if name == "make_regime_model":
        from regime.engines import make_regime_model

        return make_regime_model
    raise AttributeError(f"module 'regime' has no attribute {name!r}")
