"""Squared-error skill: the score that tuning optimises and the champion gate compares.

A model's *skill* at horizon h on a set of dates is its R² against the zero forecast,
``1 - MSE(model) / MSE(zero)`` (``MSE(zero)`` is the mean squared realised return), so it
counts calibration, not just ranking. Pooled over horizons it is the mean of the
per-horizon skills: each horizon weighs the same whatever the scale of its returns.
Every figure is taken on the same dates for all horizons (where each horizon's return is
realised), so the pooled skill of two forecasts differs by exactly the mean of their
per-date loss differential (:func:`loss_differential`).

Predictions are dicts ``horizon -> DataFrame`` as in
:attr:`training.evaluation.walk_forward.WalkForwardResult.predictions`: a ``realized``
column (NaN where the window has not ended) and one column per forecaster.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from training.evaluation.metrics import newey_west_variance, spearman_ic

Predictions = Mapping[int, pd.DataFrame]


def scored_dates(predictions: Predictions, columns: Sequence[str] = ("model",),
                 start: pd.Timestamp | None = None, end: pd.Timestamp | None = None) -> pd.DatetimeIndex:
    """Dates where every horizon's return is realised and every ``columns`` forecast is finite.

    Parameters
    ----------
    predictions : dict of int -> pd.DataFrame
    columns : sequence of str
        Forecast columns that must all be present.
    start, end : pd.Timestamp, optional
        Keep dates in ``[start, end]``.

    Returns
    -------
    pd.DatetimeIndex
    """
    common: pd.DatetimeIndex | None = None
    for frame in predictions.values():
        ok = frame["realized"].notna()
        for c in columns:
            ok &= np.isfinite(frame[c].to_numpy(dtype=float))
        dates = pd.DatetimeIndex(frame.index[ok.to_numpy()])
        common = dates if common is None else common.intersection(dates)
    common = pd.DatetimeIndex([]) if common is None else common.sort_values()
    if start is not None:
        common = common[common >= start]
    if end is not None:
        common = common[common <= end]
    return common


def _realised_and_forecast(frame: pd.DataFrame, column: str,
                           dates: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
    return frame["realized"].reindex(dates).to_numpy(dtype=float), frame[column].reindex(dates).to_numpy(dtype=float)


def skill_by_horizon(predictions: Predictions, column: str, dates: pd.DatetimeIndex) -> dict[int, float]:
    """R² against the zero forecast of ``column`` at each horizon, on ``dates``.

    Returns
    -------
    dict of int -> float
        NaN for a horizon without dates (or whose realised returns are all zero).
    """
    out = {}
    for h, frame in predictions.items():
        y, f = _realised_and_forecast(frame, column, dates)
        mse0 = float(np.mean(y ** 2)) if len(y) else 0.0
        out[h] = 1.0 - float(np.mean((y - f) ** 2)) / mse0 if mse0 > 0 else float("nan")
    return out


def pooled_skill(predictions: Predictions, column: str, dates: pd.DatetimeIndex) -> float:
    """Mean over horizons of :func:`skill_by_horizon` (NaN without dates)."""
    values = list(skill_by_horizon(predictions, column, dates).values())
    return float(np.mean(values)) if values and np.all(np.isfinite(values)) else float("nan")


def segment_scores(predictions: Predictions, dates: pd.DatetimeIndex, column: str = "model") -> pd.DataFrame:
    """Squared-error figures of ``column`` per horizon on ``dates`` (a sealed segment, a walk-forward).

    Returns
    -------
    pd.DataFrame
        One row per horizon: ``n``, ``first``, ``last``, ``mse``, ``mse_zero``, ``mse_mean``
        (the expanding mean of realised returns), ``r2_zero`` (skill), ``r2_mean`` (the
        Campbell-Thompson OOS R² of the score tables) and ``ic`` (Spearman).
    """
    rows = []
    for h, frame in predictions.items():
        y, f = _realised_and_forecast(frame, column, dates)
        m = frame["expanding_mean"].reindex(dates).fillna(0.0).to_numpy(dtype=float)
        mse, mse0, msem = (float(np.mean(v ** 2)) if len(v) else float("nan") for v in (y - f, y, y - m))
        rows.append({"horizon": h, "n": len(dates),
                     "first": dates[0].date().isoformat() if len(dates) else None,
                     "last": dates[-1].date().isoformat() if len(dates) else None,
                     "mse": mse, "mse_zero": mse0, "mse_mean": msem,
                     "r2_zero": 1 - mse / mse0 if mse0 > 0 else float("nan"),
                     "r2_mean": 1 - mse / msem if msem > 0 else float("nan"),
                     "ic": spearman_ic(f, y)})
    return pd.DataFrame(rows)


def loss_differential(predictions: Predictions, a: str, b: str, dates: pd.DatetimeIndex) -> pd.Series:
    """Per-date squared-error loss of ``a`` minus ``b``, scaled by each horizon's zero-forecast MSE and averaged.

    ``D_t = mean_h [(y - f_a)² - (y - f_b)²] / MSE_h(zero)``; its mean is
    ``pooled_skill(b) - pooled_skill(a)``, so negative means ``a`` is better.

    Returns
    -------
    pd.Series
        Indexed by ``dates``.
    """
    parts = []
    for frame in predictions.values():
        y, fa = _realised_and_forecast(frame, a, dates)
        _, fb = _realised_and_forecast(frame, b, dates)
        parts.append(((y - fa) ** 2 - (y - fb) ** 2) / np.mean(y ** 2))
    return pd.Series(np.mean(parts, axis=0), index=dates)


def dm_less(d: np.ndarray, horizon: int) -> tuple[float, float]:
    """One-sided Diebold-Mariano test that the loss differential ``d`` has a negative mean.

    The textbook test for h-step forecasts (the variance of the mean from the
    autocovariances up to lag ``horizon - 1``, unweighted, Bartlett weights if that is not
    positive; the Harvey-Leybourne-Newbold small-sample correction), read against Student's
    t with ``n // horizon - 1`` degrees of freedom (the non-overlapping windows) rather than
    ``n - 1``: with two years of 63-day returns the ``n - 1`` version rejects a true null
    about 9% of the time at the 5% level, this one about 5% (docs/decisions.md).

    Parameters
    ----------
    d : np.ndarray
        Loss of the candidate minus loss of the reference, in time order.
    horizon : int
        The longest forecast horizon: overlapping targets correlate ``d`` up to ``horizon - 1`` lags.

    Returns
    -------
    (statistic, p_value)
        Negative statistic: the candidate has the lower loss. ``p_value`` is P(T <= statistic)
        under equal loss. NaN for fewer than 10 dates or a zero variance.
    """
    d = np.asarray(d, dtype=float)
    n, lags = len(d), max(int(horizon) - 1, 0)
    if n < 10:
        return float("nan"), float("nan")
    dev = d - d.mean()
    var = float(dev @ dev + 2 * sum(dev[k:] @ dev[:-k] for k in range(1, min(lags, n - 1) + 1))) / n ** 2
    if var <= 0:
        var = newey_west_variance(d, lags)
    if var <= 0:
        return float("nan"), float("nan")
    h = int(horizon)
    correction = np.sqrt(max(n + 1 - 2 * h + h * (h - 1) / n, 1.0) / n)
    stat = float(d.mean() / np.sqrt(var) * correction)
    return stat, float(stats.t.cdf(stat, df=max(n // max(h, 1) - 1, 1)))
