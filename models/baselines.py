"""Naive forecasts every model must beat: zero, expanding mean, momentum, linear.

Each baseline is computed point-in-time: the expanding mean at t averages only targets
whose forward window ended by t; momentum uses trailing returns only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.impute import SimpleImputer
from sklearn.linear_model import RidgeCV
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from models.inputs import validate_fit_input, validate_predict_input


def zero_forecast(index: pd.Index) -> pd.Series:
    """Forecast of no change (the random-walk benchmark for log prices)."""
    return pd.Series(0.0, index=index)


def expanding_mean_forecast(target: pd.Series, horizon: int) -> pd.Series:
    """Mean of all targets known at each date: row i's target is known at row i + horizon.

    The value at row t averages targets of rows ``i <= t - horizon`` (NaN before any).
    This is the Campbell-Thompson benchmark for out-of-sample R².
    """
    return target.expanding().mean().shift(horizon)


def momentum_forecast(log_price: pd.Series, horizon: int, lookback: int = 63) -> pd.Series:
    """Trailing ``lookback``-day log return, rescaled to the horizon: ``r_lookback * h / lookback``."""
    return (log_price - log_price.shift(lookback)) * horizon / lookback


class LinearBaseline(RegressorMixin, BaseEstimator):
    """Ridge regression (alpha chosen by leave-one-out CV) on standardised, median-imputed features.

    Parameters
    ----------
    alphas : tuple of float
        Candidate penalties.

    Attributes
    ----------
    model_ : Pipeline
        Imputer, scaler and ``RidgeCV``.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Set when fitted on a DataFrame; ``predict`` then selects a DataFrame's columns by
        these names (see :mod:`models.inputs`).
    """

    def __init__(self, alphas: tuple[float, ...] = (1.0, 10.0, 100.0, 1000.0)) -> None:
        self.alphas = alphas

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # median-imputed
        return tags

    def fit(self, X: pd.DataFrame, y: pd.Series) -> "LinearBaseline":
        X, y = validate_fit_input(self, X, y)
        self.model_: Pipeline = make_pipeline(
            SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler(), RidgeCV(alphas=self.alphas)
        )
        self.model_.fit(X, y)
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Forecasts for the rows of ``X`` (a DataFrame's columns are taken by name)."""
        check_is_fitted(self, "model_")
        return self.model_.predict(validate_predict_input(self, X))
