"""Is a fitted regime model usable? Checks on its filtered probabilities.

A regime model is *degenerate* when one of its states almost never occurs (the model has
fewer regimes than it claims) or when its probabilities never leave the middle (it cannot
tell the regimes apart on any day). Either way its regime features and labels carry no
information, so such a model is flagged in the run and cannot become champion.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: A state must be the most probable one on at least this share of days.
MIN_OCCUPANCY = 0.02
#: A day is "decided" when its most probable state has at least this probability ...
CONFIDENT_PROBA = 0.75
#: ... and at least this share of days must be decided.
MIN_CONFIDENT_SHARE = 0.25


def degeneracy_reasons(
    proba: pd.DataFrame,
    min_occupancy: float = MIN_OCCUPANCY,
    confident_proba: float = CONFIDENT_PROBA,
    min_confident_share: float = MIN_CONFIDENT_SHARE,
) -> list[str]:
    """Why the regime probabilities ``proba`` are degenerate (empty list: they are not).

    Parameters
    ----------
    proba : pd.DataFrame
        Filtered probabilities, one column per state (or per regime name), rows summing to
        one; rows with NaN (warm-up) are ignored.
    min_occupancy : float
        Smallest share of days on which each column must be the most probable.
    confident_proba, min_confident_share : float
        At least ``min_confident_share`` of the days must have a most probable column with
        probability ``>= confident_proba``.

    Returns
    -------
    list of str
        One sentence per failed check, naming the column and the figure.
    """
    values = proba.dropna().to_numpy(dtype=float)
    if len(values) == 0:
        return ["no filtered regime probabilities to check"]
    reasons = []
    winners = values.argmax(axis=1)
    for j, col in enumerate(proba.columns):
        share = float(np.mean(winners == j))
        if share < min_occupancy:
            reasons.append(f"{col} is the most probable on only {share:.1%} of days (< {min_occupancy:.0%})")
    top = values.max(axis=1)
    decided = float(np.mean(top >= confident_proba))
    if decided < min_confident_share:
        reasons.append(
            f"probabilities stay in the middle: the most probable regime reaches {confident_proba:.0%} on only "
            f"{decided:.1%} of days (< {min_confident_share:.0%}; max probability ranges "
            f"{top.min():.2f}-{top.max():.2f})"
        )
    return reasons
