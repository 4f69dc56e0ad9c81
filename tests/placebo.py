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
    permuted in time, once per design (a fixed seed), so no row's inputs belong to its date."""

    def design_matrix(self, design: Design, states: pd.DataFrame | None = None) -> pd.DataFrame:
        X = super().design_matrix(design, states)
        start = design.first_complete()
        order = np.random.default_rng(0).permutation(len(X) - start) + start
        shuffled = X.copy()
        shuffled.iloc[start:] = X.iloc[order].to_numpy()
        return shuffled
