"""Forecast metrics with honest uncertainty for overlapping multi-day targets.

All functions take aligned 1-D arrays (forecast, realized, ...) without NaN.
Overlapping h-day targets are serially correlated, so confidence intervals come from a
moving-block bootstrap with blocks of at least ``h`` rows, and the Diebold-Mariano test
is the textbook one for h-step forecasts (uniform weights on ``h - 1`` autocovariances,
with the Harvey-Leybourne-Newbold correction and Student-t p-values). Metrics on
non-overlapping samples (every h-th row) are reported too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from scipy import stats

logger = logging.getLogger(__name__)


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
    """Share of rows where the forecast has the sign of the outcome (zero forecasts count as misses).

    NaN when no forecast has a direction (empty, or all zero like the zero baseline): a hit rate
    of 0% would read as always wrong.
    """
    if not np.any(np.asarray(forecast) != 0):
        return float("nan")
    return float(np.mean(np.sign(forecast) == np.sign(realized)))


def mae(forecast: np.ndarray, realized: np.ndarray) -> float:
    """Mean absolute error."""
    return float(np.mean(np.abs(forecast - realized))) if len(forecast) else float("nan")


def block_bootstrap_indices(n_rows: int, block: int, n_boot: int, random_state: int = 0) -> np.ndarray:
    """Row positions of ``n_boot`` moving-block resamples, shape ``(n_boot, n_rows)``.

    Blocks of ``block`` consecutive rows start at uniform random positions; keep
    ``block`` at least the forecast horizon so overlapping targets stay together.
    """
    rng = np.random.default_rng(random_state)
    n_blocks = int(np.ceil(n_rows / block))
    starts = rng.integers(0, n_rows - block + 1, size=(n_boot, n_blocks))
    return (starts[:, :, None] + np.arange(block)).reshape(n_boot, -1)[:, :n_rows]


def _rowwise_corr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    den = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (a * b).sum(axis=1) / den, np.nan)


def bootstrap_ci(values: np.ndarray, level: float = 0.9) -> tuple[float, float]:
    """Two-sided percentile interval of the finite bootstrap ``values``."""
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return float("nan"), float("nan")
    alpha = (1 - level) / 2
    lo, hi = np.quantile(values, [alpha, 1 - alpha])
    return float(lo), float(hi)


def bartlett_weights(lags: int) -> np.ndarray:
    """Newey-West weights ``1 - l / (lags + 1)`` for l = 1..lags."""
    return 1.0 - np.arange(1, int(lags) + 1) / (int(lags) + 1.0)


def long_run_variance(V: np.ndarray, lags: int) -> np.ndarray:
    """Newey-West long-run variance of the *sum* of each column of ``V`` (time in rows).

    ``sum_t v_t^2 + 2 sum_{l=1..lags} w_l sum_t v_t v_{t-l}`` per column, with
    :func:`bartlett_weights`.
    """
    out = np.einsum("ij,ij->j", V, V)
    for lag, w in enumerate(bartlett_weights(min(int(lags), len(V) - 1)), start=1):
        out += 2 * w * np.einsum("ij,ij->j", V[lag:], V[:-lag])
    return out


def newey_west_variance(x: np.ndarray, lags: int) -> float:
    """Newey-West (Bartlett) long-run variance of the mean of ``x``."""
    dev = np.asarray(x, dtype=float) - np.mean(x)
    return float(long_run_variance(dev[:, None], lags)[0]) / len(dev) ** 2


def autocovariances(x: np.ndarray, lags: int) -> np.ndarray:
    """Sample autocovariances ``gamma_0 .. gamma_lags`` of ``x`` around its mean (sums divided by n)."""
    dev = np.asarray(x, dtype=float) - np.mean(x)
    n = len(dev)
    return np.array([dev @ dev / n] + [dev[k:] @ dev[:-k] / n for k in range(1, min(int(lags), n - 1) + 1)])


def diebold_mariano_statistic(d: np.ndarray, horizon: int) -> float:
    """Diebold-Mariano (1995) statistic of a loss differential ``d`` for ``horizon``-step forecasts.

    ``mean(d) / sqrt(V)`` with ``V = (gamma_0 + 2 * sum_{k=1..h-1} gamma_k) / n``: the
    uniform ("rectangular") weights of the original test. Optimal h-step forecast errors
    are MA(h-1), so exactly ``h - 1`` autocovariances are non-zero and each counts in full;
    a Bartlett kernel shrinks them and, for overlapping targets, understates the variance.
    Uniform weights can give a non-positive ``V`` (small samples, negative autocovariances);
    then the Newey-West (Bartlett) variance with the same lags is used, which cannot be
    negative. NaN when ``d`` is constant.
    """
    lags = max(int(horizon) - 1, 0)
    gamma = autocovariances(d, lags)
    var = (gamma[0] + 2 * gamma[1:].sum()) / len(d)
    if var <= 0:
        var = newey_west_variance(d, lags)
        logger.info("uniform-weight DM variance not positive at horizon %d; using the Bartlett one", horizon)
    return float(np.mean(d) / np.sqrt(var)) if var > 0 else float("nan")


def hln_correction(n: int, horizon: int) -> float:
    """Harvey-Leybourne-Newbold (1997) small-sample factor ``sqrt((n + 1 - 2h + h(h-1)/n) / n)``."""
    h = int(horizon)
    return float(np.sqrt((n + 1 - 2 * h + h * (h - 1) / n) / n))


def diebold_mariano(
    realized: np.ndarray, forecast: np.ndarray, benchmark: np.ndarray, horizon: int
) -> tuple[float, float]:
    """Test of equal squared-error loss: Diebold-Mariano with the Harvey-Leybourne-Newbold correction.

    The statistic is :func:`diebold_mariano_statistic` times :func:`hln_correction`,
    compared with a Student t with ``n - 1`` degrees of freedom (HLN 1997), the textbook
    version of the test (as in R's ``forecast::dm.test``).

    Returns
    -------
    (statistic, p_value)
        Negative statistic: ``forecast`` has the lower loss. Two-sided p-value. Both NaN
        with fewer than 10 rows or equal losses throughout.
    """
    d = (realized - forecast) ** 2 - (realized - benchmark) ** 2
    n = len(d)
    if n < 10:
        return float("nan"), float("nan")
    stat = diebold_mariano_statistic(d, horizon) * hln_correction(n, horizon)
    if not np.isfinite(stat):
        return float("nan"), float("nan")
    return stat, float(2 * stats.t.sf(abs(stat), df=n - 1))


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
    ic_lo = ic_hi = r2_lo = r2_hi = float("nan")
    if n_boot > 0 and n >= 2 * block:
        idx = block_bootstrap_indices(n, block, n_boot, random_state)
        f, y, b = forecast[idx], realized[idx], benchmark[idx]
        # Ranks are taken once on the full sample and gathered: re-ranking every resample
        # changes the interval in the third decimal and costs most of the job's metric time.
        rf, ry = stats.rankdata(forecast)[idx], stats.rankdata(realized)[idx]
        ic_lo, ic_hi = bootstrap_ci(_rowwise_corr(rf, ry))
        with np.errstate(invalid="ignore", divide="ignore"):
            r2 = 1 - ((y - f) ** 2).sum(axis=1) / ((y - b) ** 2).sum(axis=1)
        r2_lo, r2_hi = bootstrap_ci(r2)
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
