"""A placebo chain for the champion gate's tests: the same model, its features shuffled in time.

Kept in its own module so a registered placebo (pickled by reference to this class) loads
back in the gate's re-evaluation of a champion.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.design import Design
from models.pipeline import RegimeForecastPipeline


class ShuffledFeatures(RegimeForecastPipeline):
    """:class:`RegimeForecastPipeline` whose design matrix rows (features and regime probabilities) are
    permuted in time within each calendar year (seeded by the year), so no row's inputs belong to its
    date, while data added in a later year leave the earlier years' rows where they were (the gate
    replays a champion on extended data)."""

    def design_matrix(self, design: Design, states: pd.DataFrame | None = None) -> pd.DataFrame:
        X = super().design_matrix(design, states)
        rows = np.arange(design.first_complete(), len(X))
        order = rows.copy()
        years = X.index[rows].year
        for year in np.unique(years):
            block = rows[years == year]
            order[years == year] = np.random.default_rng(int(year)).permutation(block)
        shuffled = X.copy()
        shuffled.iloc[rows] = X.iloc[order].to_numpy()
        return shuffled


def shuffled_changes(panel: pd.DataFrame, columns: list[str], seed: int = 0) -> pd.DataFrame:
    """``panel`` with the daily changes of ``columns`` shuffled in time (log changes of positive series).

    Each series keeps its first value, its dates and the distribution of its changes; their
    order, and so anything that could be forecast from or about it, is gone.
    """
    rng = np.random.default_rng(seed)
    out = panel.copy()
    for col in columns:
        s = panel[col].dropna()
        positive = bool((s > 0).all())
        x = np.log(s.to_numpy()) if positive else s.to_numpy()
        path = np.r_[x[0], x[0] + np.cumsum(rng.permutation(np.diff(x)))]
        out[col] = pd.Series(np.exp(path) if positive else path, index=s.index).reindex(panel.index)
    return out
