"""Building the regime engine by name (one engine since the jump model was removed: docs/decisions.md)."""

from __future__ import annotations

from typing import Any

from regime.hmm import RegimeHMM

RegimeModel = RegimeHMM
from regime.choices import ENGINES  # noqa: E402,F401 - re-exported


def make_regime_model(
    engine: str = "hmm",
    n_states: int = 3,
    n_init: int = 10,
    signatures: dict[str, dict[str, str]] | None = None,
    random_state: int = 0,
    **engine_params: Any,
) -> RegimeModel:
    """An unfitted regime model.

    Parameters
    ----------
    engine : {"hmm"}
        :class:`~regime.hmm.RegimeHMM`.
    n_states, n_init, signatures, random_state
        See :class:`~regime.hmm.RegimeHMM`.
    **engine_params
        Further parameters of the engine (``covariance_type``, ``anchor``, ``standardize``).
    """
    if engine == "hmm":
        return RegimeHMM(n_states=n_states, n_init=n_init, signatures=signatures, random_state=random_state,
                         **engine_params)
    raise ValueError(f"`regime_engine` must be one of {', '.join(ENGINES)}. Got {engine!r}.")
