"""Forecasts every model must beat: zero, expanding mean, momentum, linear, regime mean.

Each baseline is computed point-in-time: the expanding mean at t averages only targets
whose forward window ended by t; momentum uses trailing returns only; the fitted ones
(linear, regime mean) are fitted inside each walk-forward fold on purged training rows.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.linear_model import ElasticNetCV
from sklearn.model_selection import TimeSeriesSplit
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.utils.validation import check_is_fitted

from features.errors import ModelError
from models.inputs import validate_fit_input, validate_predict_input

#: The linear baseline's inputs: one or two per driver family of the thesis (momentum and
#: drawdown, the metals and their lead, real yields, breakevens, the dollar, fear, liquidity).
LINEAR_FEATURES: tuple[str, ...] = (
    "ret_btc_63", "dd_btc", "ret_gold_63", "lead_silver_63_lag42", "chg_dfii10_63", "chg_t10yie_63",
    "ret_dxy_63", "vix_log", "liq_walcl_63",
)


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


def linear_features(columns: pd.Index) -> list[str]:
    """The :data:`LINEAR_FEATURES` among ``columns`` (all of ``columns`` when none is there)."""
    chosen = [c for c in LINEAR_FEATURES if c in columns]
    return chosen or list(columns)


class LinearBaseline(RegressorMixin, BaseEstimator):
    """Elastic net on standardised, capped features, its penalty chosen by purged time-series CV.

    What a careful analyst would fit as the linear benchmark: median-impute, standardise,
    cap each input at ``cap`` standard deviations (one extreme day cannot dominate a
    coefficient), then ``ElasticNetCV`` whose penalty and L1 share are chosen by
    :class:`~sklearn.model_selection.TimeSeriesSplit` with ``gap=horizon``: every validation
    block lies after its training rows, and the ``horizon`` rows between them, whose forward
    windows overlap the block, are purged. The penalty path reaches the all-zero model, so on
    noise the baseline falls back to the training mean. Fitted inside each walk-forward fold
    on the handful of :data:`LINEAR_FEATURES` (see :func:`linear_features`).

    Parameters
    ----------
    horizon : int
        Rows between a training row and its target (the purge gap of the CV).
    n_splits : int
        Time-series CV splits.
    l1_ratio : tuple of float
        Candidate L1 shares of the penalty.
    alphas : int
        Penalties on each path (from the one that zeroes every coefficient down).
    cap : float
        Cap on the standardised inputs (winsorising at ``±cap`` sd).

    Attributes
    ----------
    model_ : Pipeline
        Imputer, scaler, cap and the fitted ``ElasticNetCV``.
    coef_ : ndarray
        Coefficients on the standardised, capped inputs.
    alpha_ : float
        Chosen penalty.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Set when fitted on a DataFrame; ``predict`` then selects a DataFrame's columns by
        these names (see :mod:`models.inputs`).
    """

    def __init__(self, horizon: int = 1, n_splits: int = 5, l1_ratio: tuple[float, ...] = (0.1, 0.5, 0.9, 1.0),
                 alphas: int = 30, cap: float = 3.0) -> None:
        self.horizon = horizon
        self.n_splits = n_splits
        self.l1_ratio = l1_ratio
        self.alphas = alphas
        self.cap = cap

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # median-imputed
        return tags

    def fit(self, X: pd.DataFrame, y: pd.Series) -> "LinearBaseline":
        X, y = validate_fit_input(self, X, y)
        n_splits = min(self.n_splits, len(y) // (self.horizon + 2) - 1)
        if n_splits < 2:
            raise ValueError(f"LinearBaseline(horizon={self.horizon}) needs at least {3 * (self.horizon + 2)} rows for "
                             f"its purged time-series CV; got n_samples = {len(y)}")
        net = ElasticNetCV(l1_ratio=list(self.l1_ratio), alphas=self.alphas,
                           cv=TimeSeriesSplit(n_splits=n_splits, gap=self.horizon), max_iter=5000)
        self.model_: Pipeline = make_pipeline(
            SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler(),
            FunctionTransformer(np.clip, kw_args={"a_min": -self.cap, "a_max": self.cap}), net,
        )
        with warnings.catch_warnings():  # a path's weakest penalties may stop short of convergence
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.model_.fit(X, y)
        self.coef_ = net.coef_
        self.alpha_ = float(net.alpha_)
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Forecasts for the rows of ``X`` (a DataFrame's columns are taken by name)."""
        check_is_fitted(self, "model_")
        return self.model_.predict(validate_predict_input(self, X))


class RegimeMeanBaseline(RegressorMixin, BaseEstimator):
    """Mean of the training targets per regime: "the regime's historical drift".

    Fitted inside each walk-forward fold on the purged training rows (targets realised before
    the cut-off) with the fold's filtered regime labels, so it is point in time. A regime
    seen on fewer than ``min_count`` training rows gets the overall training mean.

    Parameters
    ----------
    min_count : int
        Fewest training rows for a regime's own mean.

    Attributes
    ----------
    means_ : pd.Series
        Mean target per regime label (regimes with at least ``min_count`` rows).
    counts_ : pd.Series
        Training rows per regime label.
    mean_ : float
        Overall training mean (unseen or rare regimes).
    """

    def __init__(self, min_count: int = 63) -> None:
        self.min_count = min_count

    def fit(self, X, y) -> "RegimeMeanBaseline":
        """``X``: regime labels (1-D, or one column); ``y``: the targets."""
        labels, target = pd.Series(np.ravel(np.asarray(X, dtype=object))), pd.Series(np.asarray(y, dtype=float))
        if len(labels) != len(target) or not len(target) or not np.isfinite(target).all():
            raise ModelError("RegimeMeanBaseline needs as many finite targets as labels, at least one")
        grouped = target.groupby(labels.to_numpy())
        self.counts_ = grouped.size()
        self.means_ = grouped.mean()[self.counts_ >= self.min_count]
        self.mean_ = float(target.mean())
        return self

    def predict(self, X) -> np.ndarray:
        """The mean of each row's regime (the overall mean for an unseen or rare one)."""
        check_is_fitted(self, "means_")
        labels = pd.Series(np.ravel(np.asarray(X, dtype=object)))
        return labels.map(self.means_).fillna(self.mean_).to_numpy(dtype=float)
