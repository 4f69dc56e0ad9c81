"""Name regime states by how well they match the thesis's phases, so names are earned.

A *signature* is a phase of the thesis written as expected directions on the regime
observations (``+1``: the observation rises in that phase, ``-1``: it falls; other
weights scale an observation's importance). The defaults state the thesis:

* **fear**: defensive capital goes into gold and silver while Bitcoin consolidates:
  metals bid, stress up (VIX up, equities down), real yields falling, BTC lagging the metals;
* **debasement**: worry about the currency and liquidity: the dollar weakening, breakevens
  rising, the Fed's balance sheet growing, real yields falling.

A state's *match* with a phase is the weighted mean of its standardised mean moves in the
phase's directions, ``sum_j w_j mu_j / sum_j |w_j|`` over the signature's observations the
model has: "on average this state moves the thesis's observations +0.6 sd the way the phase
says". Each state takes the name of its best-matching phase when that match reaches
``min_match``; a state that matches no phase gets the neutral name **calm**. Names depend
on the state means only, never on the HMM's arbitrary state order, and a phase that no
state matches is reported rather than forced onto a state.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

#: The neutral name of a state that matches no phase.
NEUTRAL = "calm"
#: The thesis's phases as expected directions on the regime observations.
DEFAULT_SIGNATURES: dict[str, dict[str, float]] = {
    "fear": {"gold": 1.0, "silver": 1.0, "vix": 1.0, "equity": -1.0, "real_yield": -1.0, "metals_vs_btc": 1.0},
    "debasement": {"dollar": -1.0, "breakeven": 1.0, "liquidity": 1.0, "real_yield": -1.0},
}
#: Smallest match (in standard deviations) that earns a phase's name.
MIN_MATCH = 0.25

Signatures = Mapping[str, Mapping[str, float]]


def regime_names(signatures: Signatures | None = None) -> tuple[str, ...]:
    """Every name a state can get: the phases in signature order, then the neutral name."""
    return (*(signatures if signatures is not None else DEFAULT_SIGNATURES), NEUTRAL)


def check_signatures(signatures: Signatures) -> None:
    """Raise ``ValueError`` for an empty signature, a zero or non-finite weight, or a phase named ``calm``."""
    if not signatures:
        raise ValueError("`signatures` must name at least one phase")
    for phase, weights in signatures.items():
        if phase == NEUTRAL:
            raise ValueError(f"`signatures`: '{NEUTRAL}' is the neutral name and cannot be a phase")
        if not weights:
            raise ValueError(f"`signatures.{phase}` lists no observation")
        for obs, w in weights.items():
            if not isinstance(w, (int, float)) or isinstance(w, bool) or not np.isfinite(w) or w == 0:
                raise ValueError(f"`signatures.{phase}.{obs}` must be a non-zero number. Got {w!r}.")


def signature_scores(means: np.ndarray, columns: list[str], signatures: Signatures | None = None) -> pd.DataFrame:
    """Match of every state with every phase.

    Parameters
    ----------
    means : ndarray of shape (n_states, n_features)
        State means in standardised units (standard deviations of each observation).
    columns : list of str
        Observation names, in the column order of ``means``.
    signatures : mapping, optional
        Phase -> {observation: direction}; default :data:`DEFAULT_SIGNATURES`.

    Returns
    -------
    pd.DataFrame
        Rows ``state_0 ...``, one column per phase; NaN where the model has none of the
        phase's observations.
    """
    signatures = DEFAULT_SIGNATURES if signatures is None else signatures
    means = np.asarray(means, dtype=float)
    out = {}
    for phase, weights in signatures.items():
        used = [(columns.index(c), float(w)) for c, w in weights.items() if c in columns]
        if not used:
            out[phase] = np.full(len(means), np.nan)
            continue
        idx, w = np.array([i for i, _ in used]), np.array([w for _, w in used])
        out[phase] = means[:, idx] @ w / np.abs(w).sum()
    return pd.DataFrame(out, index=[f"state_{i}" for i in range(len(means))])


def name_states(
    means: np.ndarray, columns: list[str], signatures: Signatures | None = None, min_match: float = MIN_MATCH
) -> list[str]:
    """Name of each state (in the model's order): its best-matching phase, or ``calm``.

    Parameters
    ----------
    means, columns, signatures
        See :func:`signature_scores`.
    min_match : float
        A phase's name needs a match of at least this many standard deviations.

    Returns
    -------
    list of str
        ``labels[i]`` names state ``i``; several states may share a name.
    """
    scores = signature_scores(means, columns, signatures).fillna(-np.inf)
    labels = []
    for _, row in scores.iterrows():
        best = str(row.idxmax()) if len(row) else NEUTRAL
        labels.append(best if row.get(best, -np.inf) >= min_match else NEUTRAL)
    return labels


def naming_notes(scores: pd.DataFrame, labels: list[str], min_match: float = MIN_MATCH) -> list[str]:
    """Plain sentences on what could not be named: phases no state matches.

    Parameters
    ----------
    scores : pd.DataFrame
        Output of :func:`signature_scores`.
    labels : list of str
        Output of :func:`name_states` for the same states.
    min_match : float
        Threshold used to name them.

    Returns
    -------
    list of str
        Empty when every phase has a state; otherwise one sentence per missing phase with
        the best state's match, and one more when no state could be named at all.
    """
    notes = []
    for phase in scores.columns:
        if phase in labels:
            continue
        col = scores[phase]
        if col.isna().all():
            notes.append(f"no state can be named {phase}: the model observes none of its signature")
        else:
            notes.append(f"no state matches {phase} (best {col.idxmax()}: {col.max():+.2f} sd < {min_match:.2f})")
    if labels and all(label == NEUTRAL for label in labels):
        notes.append("the model's states cannot be named by the thesis: every state is calm")
    return notes
