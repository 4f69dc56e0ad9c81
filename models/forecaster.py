"""LightGBM forecaster of forward BTC log returns, one booster per horizon."""

from __future__ import annotations

import numpy as np
import pandas as pd
from lightgbm import LGBMRegressor
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from models.inputs import validate_fit_input, validate_predict_input

DEFAULT_LGBM_PARAMS: dict[str, float | int | str] = {
    # Heavily regularised on purpose: forward BTC returns are mostly noise, and shallow,
    # strongly shrunk trees keep forecasts close to the mean unless evidence is strong
    # (see docs/decisions.md for the comparison that chose these).
    "n_estimators": 100,
    "learning_rate": 0.01,
    "num_leaves": 4,
    "max_depth": 2,
    "min_child_samples": 200,
    "subsample": 0.7,
    "subsample_freq": 1,
    "colsample_bytree": 0.5,
    "reg_lambda": 10.0,
    "n_jobs": 1,  # tiny data: threads cost more than they give (10x slower on a busy 2-core box)
    "verbose": -1,
}


class LGBMForecaster(RegressorMixin, BaseEstimator):
    """Gradient-boosted trees on the feature table for one horizon.

    Parameters
    ----------
    params : dict, optional
        LightGBM parameters overriding :data:`DEFAULT_LGBM_PARAMS`.
    random_state : int
        Seed for bagging and column sampling.

    Attributes
    ----------
    model_ : LGBMRegressor
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Set when fitted on a DataFrame; ``predict`` then selects a DataFrame's columns by
        these names (see :mod:`models.inputs`).
    """

    def __init__(self, params: dict | None = None, random_state: int = 0) -> None:
        self.params = params
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # LightGBM routes missing values itself
        # The defaults shrink forecasts hard towards the mean (noise-dominated targets), so
        # they fit sklearn's easy test regressions poorly on purpose.
        tags.regressor_tags.poor_score = True
        return tags

    def fit(self, X: pd.DataFrame, y: pd.Series) -> "LGBMForecaster":
        X, y = validate_fit_input(self, X, y)
        params = {**DEFAULT_LGBM_PARAMS, **(self.params or {})}
        self.model_ = LGBMRegressor(random_state=self.random_state, **params)
        self.model_.fit(X, y)
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Forecasts for the rows of ``X`` (a DataFrame's columns are taken by name)."""
        check_is_fitted(self, "model_")
        X = validate_predict_input(self, X)
        # The booster directly: the LGBMRegressor wrapper's own checks would repeat the above.
        # Its thread count, as the wrapper would pass it: a booster called without one uses
        # OpenMP's default, whose start-up costs ~3 ms per call on a busy 2-core machine (the
        # rows' forecasts are the same whatever the thread count).
        return self.model_.booster_.predict(X, num_threads=self.predict_threads())

    def predict_threads(self) -> int:
        """Threads for the booster's ``predict``: the ``n_jobs`` it was fitted with.

        0 (OpenMP's default) when ``n_jobs`` is None or negative.
        """
        n_jobs = getattr(self.model_, "n_jobs", None)
        return int(n_jobs) if n_jobs is not None and n_jobs > 0 else 0
