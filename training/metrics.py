"""Forecast metrics with honest uncertainty for overlapping multi-day targets.

All functions take aligned 1-D arrays (forecast, realized, ...) without NaN.
Overlapping h-day targets are serially correlated, so confidence intervals come from a
moving-block bootstrap with blocks of at least ``h`` rows, and the Diebold-Mariano test
uses a Newey-West variance with ``h - 1`` lags. Metrics on non-overlapping samples
(every h-th row) are reported too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import stats


def spearman_ic(forecast: np.ndarray, realized: np.ndarray) -> float:
    """Spearman rank correlation between forecasts and outcomes (NaN if either is constant)."""
    if len(forecast) < 3 or np.ptp(forecast) == 0 or np.ptp(realized) == 0:
        return float("nan")
    return float(stats.spearmanr(forecast, realized).statistic)


def oos_r2(forecast: np.ndarray, realized: np.ndarray, benchmark: np.ndarray) -> float:
    """Campbell-Thompson out-of-sample R²: ``1 - SSE(forecast) / SSE(benchmark)``.

    Positive means the forecast beat the benchmark (the expanding historical mean) in
    squared error.
    """
    sse_b = float(np.sum((realized - benchmark) ** 2))
    if sse_b == 0:
        return float("nan")
    return 1.0 - float(np.sum((realized - forecast) ** 2)) / sse_b


def hit_rate(forecast: np.ndarray, realized: np.ndarray) -> float:
    """Share of rows where the forecast has the sign of the outcome (zero forecasts count as misses)."""
    if len(forecast) == 0:
        return float("nan")
    return float(np.mean(np.sign(forecast) == np.sign(realized)))


def mae(forecast: np.ndarray, realized: np.ndarray) -> float:
    """Mean absolute error."""
    return float(np.mean(np.abs(forecast - realized))) if len(forecast) else float("nan")


def block_bootstrap_ci(
    statistic: Callable[[np.ndarray], float],
    n_rows: int,
    block: int,
    n_boot: int = 500,
    level: float = 0.9,
    random_state: int = 0,
) -> tuple[float, float]:
    """Moving-block bootstrap confidence interval of ``statistic(row_indices)``.

    Parameters
    ----------
    statistic : callable
        Maps an array of row positions (a resample) to a number.
    n_rows : int
        Rows in the sample.
    block : int
        Block length; use at least the forecast horizon so overlapping targets stay together.
    n_boot : int
        Resamples (0 gives NaNs).
    level : float
        Two-sided coverage.
    """
    if n_boot <= 0 or n_rows < 2 * block:
        return float("nan"), float("nan")
    rng = np.random.default_rng(random_state)
    n_blocks = int(np.ceil(n_rows / block))
    starts = rng.integers(0, n_rows - block + 1, size=(n_boot, n_blocks))
    offsets = np.arange(block)
    values = []
    for row in starts:
        idx = (row[:, None] + offsets).ravel()[:n_rows]
        v = statistic(idx)
        if np.isfinite(v):
            values.append(v)
    if not values:
        return float("nan"), float("nan")
    alpha = (1 - level) / 2
    lo, hi = np.quantile(values, [alpha, 1 - alpha])
    return float(lo), float(hi)


def newey_west_variance(x: np.ndarray, lags: int) -> float:
    """Newey-West (Bartlett) long-run variance of the mean of ``x``."""
    x = np.asarray(x, dtype=float) - np.mean(x)
    n = len(x)
    var = float(np.dot(x, x) / n)
    for lag in range(1, min(lags, n - 1) + 1):
        w = 1 - lag / (lags + 1)
        var += 2 * w * float(np.dot(x[lag:], x[:-lag]) / n)
    return var / n


def diebold_mariano(
    realized: np.ndarray, forecast: np.ndarray, benchmark: np.ndarray, horizon: int
) -> tuple[float, float]:
    """Diebold-Mariano test of equal squared-error loss, HAC variance with ``horizon - 1`` lags.

    Returns
    -------
    (statistic, p_value)
        Negative statistic: ``forecast`` has the lower loss. Two-sided normal p-value.
    """
    d = (realized - forecast) ** 2 - (realized - benchmark) ** 2
    var = newey_west_variance(d, max(horizon - 1, 0))
    if len(d) < 10 or var <= 0:
        return float("nan"), float("nan")
    stat = float(np.mean(d) / np.sqrt(var))
    return stat, float(2 * stats.norm.sf(abs(stat)))


@dataclass(frozen=True)
class ForecastScore:
    """Scores of one forecaster at one horizon."""

    n: int
    ic: float
    ic_lo: float
    ic_hi: float
    r2_oos: float
    r2_lo: float
    r2_hi: float
    hit_rate: float
    mae: float
    n_nonoverlap: int
    ic_nonoverlap: float
    r2_nonoverlap: float


def score_forecast(
    forecast: np.ndarray,
    realized: np.ndarray,
    benchmark: np.ndarray,
    horizon: int,
    n_boot: int = 500,
    random_state: int = 0,
) -> ForecastScore:
    """All metrics of one forecast series, with block-bootstrap CIs and non-overlapping figures."""
    n = len(realized)
    block = max(horizon, 5)

    def ic_of(idx: np.ndarray) -> float:
        return spearman_ic(forecast[idx], realized[idx])

    def r2_of(idx: np.ndarray) -> float:
        return oos_r2(forecast[idx], realized[idx], benchmark[idx])

    ic_lo, ic_hi = block_bootstrap_ci(ic_of, n, block, n_boot, random_state=random_state)
    r2_lo, r2_hi = block_bootstrap_ci(r2_of, n, block, n_boot, random_state=random_state)
    sub = np.arange(0, n, horizon)
    return ForecastScore(
        n=n,
        ic=spearman_ic(forecast, realized),
        ic_lo=ic_lo,
        ic_hi=ic_hi,
        r2_oos=oos_r2(forecast, realized, benchmark),
        r2_lo=r2_lo,
        r2_hi=r2_hi,
        hit_rate=hit_rate(forecast, realized),
        mae=mae(forecast, realized),
        n_nonoverlap=len(sub),
        ic_nonoverlap=spearman_ic(forecast[sub], realized[sub]),
        r2_nonoverlap=oos_r2(forecast[sub], realized[sub], benchmark[sub]),
    )
