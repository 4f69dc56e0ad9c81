"""Quantile forecasts of forward returns: levels, names, rearrangement, P(up), the baseline.

A forecast distribution is held as quantiles on a fixed grid of levels (:data:`GRID`,
5%..95% in steps of 5%), enough for the CRPS; users see :data:`OUTPUT_LEVELS` (10/50/90%)
and the probability that the forward return is positive.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

#: Levels every distribution is evaluated on (CRPS is approximated on this grid).
GRID: tuple[float, ...] = tuple(round(0.05 * k, 2) for k in range(1, 20))
#: Levels shown to users: the median and the 80% band.
OUTPUT_LEVELS: tuple[float, ...] = (0.1, 0.5, 0.9)
#: The central band reported and scored (80%).
BAND: tuple[float, float] = (0.1, 0.9)


def quantile_name(level: float, horizon: int) -> str:
    """Output column of the ``level`` quantile of the ``horizon``-day log return: ``q10_21d``."""
    pct = level * 100
    return f"q{pct:02.0f}_{horizon}d" if abs(pct - round(pct)) < 1e-9 else f"q{pct:g}_{horizon}d"


def p_up_name(horizon: int) -> str:
    """Output column of P(forward ``horizon``-day return > 0): ``p_up_21d``."""
    return f"p_up_{horizon}d"


def rearrange(quantiles: np.ndarray) -> np.ndarray:
    """Quantiles sorted along the last axis, so they never cross.

    Sorting is the monotone rearrangement of Chernozhukov, Fernández-Val and Galichon
    (2010): it never increases the pinball loss of a set of quantile forecasts.
    """
    return np.sort(np.asarray(quantiles, dtype=float), axis=-1)


def prob_above(quantiles: np.ndarray, levels: Sequence[float], threshold: float = 0.0) -> np.ndarray:
    """P(Y > threshold) from quantiles on ``levels`` (rows: forecasts).

    The CDF is interpolated linearly between the quantiles; beyond the outermost ones it
    is clipped to the outermost levels (so the answer lies in
    ``[1 - levels[-1], 1 - levels[0]]``), the most the quantiles say.
    """
    Q = rearrange(np.atleast_2d(quantiles))
    lv = np.asarray(levels, dtype=float)
    out = np.empty(len(Q))
    for i, q in enumerate(Q):
        if not np.isfinite(q).all():
            out[i] = np.nan
            continue
        # np.interp needs increasing x; ties (a flat stretch of quantiles) take the highest level.
        x, idx = np.unique(q[::-1], return_index=True)
        out[i] = 1.0 - np.interp(threshold, x, lv[::-1][idx])
    return out


def expanding_quantiles(target: pd.Series, horizon: int, levels: Sequence[float] = GRID) -> pd.DataFrame:
    """Unconditional quantiles of the targets known at each date (the baseline distribution).

    Row t uses the realised targets of rows ``i <= t - horizon`` (row i's target is known
    at row i + horizon), like :func:`models.baselines.expanding_mean_forecast`.

    Returns
    -------
    pd.DataFrame
        One column per level (the level itself as column label); NaN before any target is known.
    """
    known = target.expanding(min_periods=1)
    return pd.DataFrame({lv: known.quantile(lv).shift(horizon) for lv in levels}, index=target.index)


def expanding_base_rate(target: pd.Series, horizon: int) -> pd.Series:
    """Share of known targets above zero at each date: the base-rate P(up) (point-in-time)."""
    up = target.gt(0).astype(float).where(target.notna())
    return up.expanding(min_periods=1).mean().shift(horizon)
