"""Regime detection: causal (filtered) regime probabilities with names earned from the thesis.

The engine is :class:`regime.hmm.RegimeHMM` (a Gaussian HMM, anchored on the thesis's
signatures), built on :class:`regime.base.RegimeModelMixin`;
:func:`regime.engines.make_regime_model` builds it from a chain's settings. Names come from
:mod:`regime.naming`, degeneracy checks from :mod:`regime.diagnostics`. Importing this
package is light; the engine loads on first use.
"""

from __future__ import annotations

from typing import Any

__all__ = ["RegimeHMM", "make_regime_model"]


def __getattr__(name: str) -> Any:
    if name == "RegimeHMM":
        from regime.hmm import RegimeHMM

        return RegimeHMM
    if name == "make_regime_model":
        from regime.engines import make_regime_model

        return make_regime_model
    raise AttributeError(f"module 'regime' has no attribute {name!r}")
