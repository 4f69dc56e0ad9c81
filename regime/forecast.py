"""Where the regime goes next: P(regime at t+h | data to t) and the expected rest of the spell.

Both come from a fitted regime model's dynamics only, through the interface every regime
engine exposes: filtered state probabilities (``filter_state_proba``, HMM order), the
transition matrix (``transmat_``) and the name of each state (``labels_``; several states
may share a name). With ``pi_t`` the filtered probabilities (a row vector over states) and
``A`` the transition matrix:

* ``P(state at t+h) = pi_t @ A^h``; a regime's probability sums the states with its name;
* the current regime is the name with the highest filtered probability; with ``S`` its
  states, ``Q = A[S, S]`` and ``pi_S`` the filtered probabilities on ``S`` renormalised, the
  expected number of further business days before the chain first leaves ``S`` is
  ``pi_S @ inv(I - Q) @ Q @ 1`` (``p / (1 - p)`` for a single state that stays with
  probability ``p``).

Row t uses only row t of the filtered probabilities, so nothing here looks ahead.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from features.windows import frame_from_columns


def regime_forecast_name(label: str, horizon: int) -> str:
    """Output column of P(regime ``label`` ``horizon`` business days ahead): ``p_fear_21d``."""
    return f"p_{label}_{horizon}d"


#: Output column of the expected remaining length of the current regime's spell.
SPELL_LEFT = "spell_left_days"


def _name_matrix(labels: Sequence[str], label_names: Sequence[str]) -> np.ndarray:
    """(n_states, n_names) 0/1 matrix: state i carries name j."""
    labels = list(labels)
    unknown = sorted(set(labels) - set(label_names))
    if unknown:
        raise ValueError(f"state labels {unknown} are not among the regime names {list(label_names)}")
    return np.array([[float(lab == name) for name in label_names] for lab in labels])


def _check(state_proba: pd.DataFrame, transmat: np.ndarray) -> np.ndarray:
    A = np.asarray(transmat, dtype=float)
    k = state_proba.shape[1]
    if A.shape != (k, k):
        raise ValueError(f"`transmat` must be {k} x {k} like the state probabilities. Got {A.shape}.")
    return A


def regime_forecast(
    state_proba: pd.DataFrame,
    transmat: np.ndarray,
    labels: Sequence[str],
    label_names: Sequence[str],
    horizons: Sequence[int],
) -> pd.DataFrame:
    """P(each regime at t+h | data to t) for every row and horizon.

    Parameters
    ----------
    state_proba : pd.DataFrame
        Filtered state probabilities, one column per state in the model's order (NaN rows
        in the warm-up stay NaN).
    transmat : ndarray of shape (n_states, n_states)
        ``transmat[i, j] = P(state_{t+1} = j | state_t = i)``.
    labels : sequence of str
        Name of each state (several states may share one).
    label_names : sequence of str
        The regime names, in display order: one output column per name and horizon.
    horizons : sequence of int
        Business days ahead.

    Returns
    -------
    pd.DataFrame
        Columns :func:`regime_forecast_name` ``(name, h)``, grouped by horizon; each
        horizon's columns sum to one.
    """
    A = _check(state_proba, transmat)
    return frame_from_columns(_forecast_columns(state_proba.to_numpy(dtype=float), A, labels, label_names, horizons),
                              state_proba.index)


def _forecast_columns(P: np.ndarray, A: np.ndarray, labels: Sequence[str], label_names: Sequence[str],
                      horizons: Sequence[int]) -> dict[str, np.ndarray]:
    """:func:`regime_forecast` on arrays: filtered state probabilities ``P`` (rows x states), ``A`` checked."""
    names = _name_matrix(labels, label_names)
    out = {}
    for h in horizons:
        # Row by row (no matrix product over rows, whose BLAS kernel depends on the row count),
        # so a row's forecast is bitwise the same however many rows are asked for.
        ahead = (P[:, :, None] * (np.linalg.matrix_power(A, int(h)) @ names)[None, :, :]).sum(axis=1)
        for j, name in enumerate(label_names):
            out[regime_forecast_name(name, int(h))] = ahead[:, j]
    return out


def expected_spell_left(
    state_proba: pd.DataFrame,
    transmat: np.ndarray,
    labels: Sequence[str],
    label_names: Sequence[str],
) -> pd.Series:
    """Expected further business days in the current regime before it first changes.

    The current regime is the most probable name on each row; see the module docstring
    for the formula. ``inf`` when its states cannot be left; NaN in the warm-up.
    """
    A = _check(state_proba, transmat)
    return pd.Series(_spell_left(state_proba.to_numpy(dtype=float), A, labels, label_names),
                     index=state_proba.index, name=SPELL_LEFT)


def _spell_left(P: np.ndarray, A: np.ndarray, labels: Sequence[str], label_names: Sequence[str]) -> np.ndarray:
    """:func:`expected_spell_left` on arrays: filtered state probabilities ``P`` (rows x states), ``A`` checked."""
    names = _name_matrix(labels, label_names)
    out = np.full(len(P), np.nan)
    ok = np.isfinite(P).all(axis=1)
    current = np.full(len(P), -1)
    current[ok] = (P[ok] @ names).argmax(axis=1)
    for j in np.unique(current[ok]):
        S = np.flatnonzero(names[:, j] > 0)
        Q = A[np.ix_(S, S)]
        rows = ok & (current == j)
        try:
            stay = np.linalg.solve(np.eye(len(S)) - Q, Q.sum(axis=1))
        except np.linalg.LinAlgError:  # a closed set of states: the regime is never left
            out[rows] = np.inf
            continue
        w = P[np.ix_(rows, S)]
        total = w.sum(axis=1, keepdims=True)
        w = np.where(total > 0, w / np.where(total > 0, total, 1.0), 1.0 / len(S))
        out[rows] = w @ stay
    return out


def regime_outlook(
    state_proba: pd.DataFrame,
    transmat: np.ndarray,
    labels: Sequence[str],
    label_names: Sequence[str],
    horizons: Sequence[int],
) -> pd.DataFrame:
    """:func:`regime_forecast` columns followed by :data:`SPELL_LEFT`."""
    A = _check(state_proba, transmat)
    P = state_proba.to_numpy(dtype=float)
    columns = _forecast_columns(P, A, labels, label_names, horizons)
    columns[SPELL_LEFT] = _spell_left(P, A, labels, label_names)
    return frame_from_columns(columns, state_proba.index)
