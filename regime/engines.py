"""Choosing a regime engine by name: the Gaussian HMM or the statistical jump model."""

from __future__ import annotations

from typing import Any, Union

from regime.hmm import RegimeHMM
from regime.jump import RegimeJumpModel

RegimeModel = Union[RegimeHMM, RegimeJumpModel]
from regime.choices import ENGINES  # noqa: F401 - re-exported


def make_regime_model(
    engine: str = "hmm",
    n_states: int = 3,
    n_init: int = 10,
    signatures: dict[str, dict[str, float]] | None = None,
    random_state: int = 0,
    **engine_params: Any,
) -> RegimeModel:
    """An unfitted regime model.

    Parameters
    ----------
    engine : {"hmm", "jump"}
        :class:`~regime.hmm.RegimeHMM` or :class:`~regime.jump.RegimeJumpModel`.
    n_states, n_init, signatures, random_state
        Shared by both engines.
    **engine_params
        Parameters of one engine: ``covariance_type`` (HMM), ``jump_penalty`` (jump model).
    """
    if engine == "hmm":
        return RegimeHMM(n_states=n_states, n_init=n_init, signatures=signatures, random_state=random_state,
                         **engine_params)
    if engine == "jump":
        return RegimeJumpModel(n_states=n_states, n_init=n_init, signatures=signatures, random_state=random_state,
                               **engine_params)
    raise ValueError(f"`regime_engine` must be one of {', '.join(ENGINES)}. Got {engine!r}.")
