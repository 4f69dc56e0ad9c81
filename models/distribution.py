"""Forecast distributions of forward BTC returns: the forecast, a volatility scale, a historical shape.

The h-day log return from t is modelled as location + scale x shape::

    y_t = f_t + sigma_t * eps,    sigma_t = sqrt(h) * sd(daily BTC log returns over the last w rows)

with ``f_t`` the point forecast and ``eps`` drawn from the *standardised history*: the
realised returns known at fit time, minus the expanding-mean forecast of their date, divided
by their date's scale, then centred (mean zero, so the point forecast sets the location).
Quantiles are ``f_t + sigma_t * q_tau(eps)`` (they never cross: ``sigma_t > 0``) and
``P(y_t > 0) = #{eps_i > -f_t / sigma_t} / n`` comes from the same distribution. This is
filtered historical simulation (Barone-Adesi, Giannopoulos and Vosper 1999) with the
forecaster as the conditional mean: bands widen when BTC is volatile and narrow when it is
calm, and keep BTC's own skew and fat tails.

Point in time: ``sigma_t`` uses returns up to t; the shape uses only targets realised before
the fit's cut-off, so a walk-forward fold's distribution never saw its test period. Why this
and not conformal calibration on walk-forward errors or LightGBM quantile objectives:
docs/decisions.md ("Return distributions").
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from features.windows import frame_from_columns, lagged_difference, trailing_moments
from models.baselines import expanding_mean_forecast
from models.quantiles import GRID, OUTPUT_LEVELS, p_up_name, quantile_name

#: Fewest daily returns behind a volatility estimate (a short history uses what it has).
MIN_VOL_ROWS = 21


def daily_volatility(btc: pd.Series, window: int) -> pd.Series:
    """Standard deviation of daily log returns over the last ``window`` rows (rows <= t only).

    With fewer than ``window`` returns, all of them (NaN below :data:`MIN_VOL_ROWS`). Full
    windows are computed each on its own (not by pandas' running sums), so a row's value is
    bitwise the same whatever row the history starts at (served answers are exact).
    """
    daily = lagged_difference(np.log(btc.to_numpy(dtype=float)), 1)
    out = pd.Series(daily).rolling(window, min_periods=min(window, MIN_VOL_ROWS)).std().to_numpy(copy=True)
    _, full = trailing_moments(daily, window)
    done = ~np.isnan(full)  # a window with a gap keeps pandas' value over the returns it has
    out[done] = full[done]
    return pd.Series(out, index=btc.index, name=btc.name)


class ReturnDistribution(BaseEstimator):
    """Location-scale distribution of forward log returns around point forecasts.

    Parameters
    ----------
    horizons : tuple of int
        Horizons in business days.
    window : int
        Rows of daily BTC returns behind the volatility scale.
    min_scores : int
        Fewest standardised returns a horizon needs; with fewer its quantiles are NaN.

    Attributes
    ----------
    shape_ : dict of int -> ndarray
        Sorted, centred standardised returns per horizon.
    n_scores_ : dict of int -> int
    """

    def __init__(self, horizons: tuple[int, ...] = (5, 21, 63), window: int = 126, min_scores: int = 250) -> None:
        self.horizons = horizons
        self.window = window
        self.min_scores = min_scores

    def volatility(self, btc: pd.Series) -> pd.Series:
        """:func:`daily_volatility` with this estimator's window; the ``h``-day scale is this times ``sqrt(h)``."""
        return daily_volatility(btc, self.window)

    def fit(self, targets: pd.DataFrame, btc: pd.Series, start: int = 0,
            cutoff: int | None = None) -> "ReturnDistribution":
        """Learn the standardised shape of each horizon's returns from rows ``start ..`` realised before ``cutoff``.

        Parameters
        ----------
        targets : pd.DataFrame
            Forward log returns, one column per horizon (integer labels), on ``btc``'s index.
        btc : pd.Series
            BTC price.
        start : int
            First row used.
        cutoff : int, optional
            Row where the fitted model starts forecasting: row i's target is used only if
            it was realised before, ``i + h < cutoff``. None: every realised target.
        """
        n = len(targets)
        cutoff = n if cutoff is None else int(cutoff)
        vol = self.volatility(btc).reindex(targets.index)
        self.shape_: dict[int, np.ndarray] = {}
        for h in self.horizons:
            y = targets[h]
            z = ((y - expanding_mean_forecast(y, h)) / (vol * np.sqrt(h))).to_numpy(dtype=float)
            z = z[int(start): max(int(start), cutoff - h)]
            z = z[np.isfinite(z)]
            self.shape_[h] = np.sort(z - z.mean()) if len(z) else z
        self.n_scores_ = {h: len(z) for h, z in self.shape_.items()}
        return self

    def _ready(self, h: int) -> bool:
        return self.n_scores_.get(h, 0) >= self.min_scores

    def _scale(self, forecast: pd.Series, btc: pd.Series | None, vol: pd.Series | None, horizon: int) -> np.ndarray:
        vol = self.volatility(btc) if vol is None else vol
        return vol.reindex(forecast.index).to_numpy(dtype=float) * np.sqrt(horizon)

    def _quantiles(self, forecast: np.ndarray, scale: np.ndarray, horizon: int, levels: Sequence[float]) -> np.ndarray:
        """Quantiles ``forecast + scale * q(eps)`` (rows x levels); NaN when the horizon has too few scores."""
        if not self._ready(horizon):
            return np.full((len(forecast), len(levels)), np.nan)
        q = np.quantile(self.shape_[horizon], list(levels))
        return forecast[:, None] + scale[:, None] * q[None, :]

    def _p_up(self, forecast: np.ndarray, scale: np.ndarray, horizon: int) -> np.ndarray:
        """P(return > 0) = share of scores above ``-forecast / scale``; NaN when not ready or not finite."""
        if not self._ready(horizon):
            return np.full(len(forecast), np.nan)
        eps = self.shape_[horizon]
        with np.errstate(invalid="ignore", divide="ignore"):
            cut = -forecast / scale
        p = 1.0 - np.searchsorted(eps, cut, side="right") / len(eps)
        return np.where(np.isfinite(cut), p, np.nan)

    def predict_quantiles(self, forecast: pd.Series, btc: pd.Series | None, horizon: int,
                          levels: Sequence[float] = GRID, vol: pd.Series | None = None) -> pd.DataFrame:
        """Quantiles of the ``horizon``-day log return at each date of ``forecast`` (columns: the levels).

        ``vol`` (:meth:`volatility` of ``btc``) may be passed instead of ``btc`` to reuse it.
        """
        check_is_fitted(self, "shape_")
        scale = self._scale(forecast, btc, vol, horizon) if self._ready(horizon) else np.full(len(forecast), np.nan)
        values = self._quantiles(forecast.to_numpy(dtype=float), scale, horizon, levels)
        return pd.DataFrame(values, index=forecast.index, columns=list(levels))

    def predict_p_up(self, forecast: pd.Series, btc: pd.Series | None, horizon: int,
                     vol: pd.Series | None = None) -> pd.Series:
        """P(forward ``horizon``-day log return > 0) at each date of ``forecast``.

        ``vol`` as in :meth:`predict_quantiles`.
        """
        check_is_fitted(self, "shape_")
        scale = self._scale(forecast, btc, vol, horizon) if self._ready(horizon) else np.full(len(forecast), np.nan)
        return pd.Series(self._p_up(forecast.to_numpy(dtype=float), scale, horizon), index=forecast.index)

    def predict(self, forecasts: pd.DataFrame, btc: pd.Series, levels: Sequence[float] = OUTPUT_LEVELS) -> pd.DataFrame:
        """Columns ``q<level>_<h>d`` for ``levels`` and ``p_up_<h>d``, horizon by horizon.

        ``forecasts`` holds the point forecasts, one column per horizon (integer labels), on
        dates of ``btc``'s index. Only the ``window`` returns before the first forecast are
        read when ``btc`` has no gap there: every volatility is then a full window's, the same
        bits as from the whole history (:func:`daily_volatility`), so a warm update costs the
        same whatever history it is sent.
        """
        check_is_fitted(self, "shape_")
        if len(forecasts):
            start = max(0, int(btc.index.searchsorted(forecasts.index[0])) - self.window)
            if start and btc.iloc[start:].notna().all():
                btc = btc.iloc[start:]
        vol = self.volatility(btc).reindex(forecasts.index).to_numpy(dtype=float)
        out = {}
        for h in self.horizons:
            f = forecasts[h].to_numpy(dtype=float)
            scale = vol * np.sqrt(h)
            q = self._quantiles(f, scale, h, levels)
            for j, lv in enumerate(levels):
                out[quantile_name(lv, h)] = q[:, j]
            out[p_up_name(h)] = self._p_up(f, scale, h)
        return frame_from_columns(out, forecasts.index)
