"""Scores of probabilistic forecasts: quantiles, intervals, probabilities, categories.

Pure functions on aligned arrays (rows: forecasts). Lower is better for every loss here;
skill scores are ``1 - loss / loss_of_reference`` (positive: better than the reference).

* pinball (quantile) loss of quantile ``q`` at level ``tau`` for outcome ``y``:
  ``max(tau * (y - q), (tau - 1) * (y - q))``;
* CRPS from quantiles on a grid of equally spaced levels: twice the mean pinball loss over
  the grid (the CRPS is ``2 * integral of the pinball loss over tau``; the grid 5%..95%
  leaves out the outer tails);
* Brier score of a probability ``p`` for a 0/1 outcome: ``(p - o)^2``; for categories the
  sum over categories; log score: ``-log p`` of the outcome's category.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from training.evaluation.metrics import block_bootstrap_indices, bootstrap_ci

#: Floor on category probabilities in the log score (persistence forecasts are 0/1).
LOG_SCORE_FLOOR = 0.01


def pinball(quantiles: np.ndarray, realized: np.ndarray, levels: Sequence[float]) -> np.ndarray:
    """Pinball loss of each quantile, shape ``(n, len(levels))``."""
    diff = np.asarray(realized, dtype=float)[:, None] - np.asarray(quantiles, dtype=float)
    tau = np.asarray(levels, dtype=float)[None, :]
    return np.maximum(tau * diff, (tau - 1.0) * diff)


def crps_from_quantiles(quantiles: np.ndarray, realized: np.ndarray, levels: Sequence[float]) -> np.ndarray:
    """Per-row CRPS approximated from quantiles on an equally spaced grid of levels."""
    return 2.0 * pinball(quantiles, realized, levels).mean(axis=1)


def covered(lo: np.ndarray, hi: np.ndarray, realized: np.ndarray) -> np.ndarray:
    """1.0 where ``lo <= realized <= hi``."""
    return ((lo <= realized) & (realized <= hi)).astype(float)


def brier(p: np.ndarray, outcome: np.ndarray) -> np.ndarray:
    """Per-row Brier score of binary probabilities."""
    return (np.asarray(p, dtype=float) - np.asarray(outcome, dtype=float)) ** 2


def category_brier(P: np.ndarray, outcome: np.ndarray) -> np.ndarray:
    """Per-row Brier score of category probabilities ``P`` (n, K) for outcome indices (n,)."""
    onehot = np.eye(P.shape[1])[np.asarray(outcome, dtype=int)]
    return ((np.asarray(P, dtype=float) - onehot) ** 2).sum(axis=1)


def category_log_loss(P: np.ndarray, outcome: np.ndarray, floor: float = LOG_SCORE_FLOOR) -> np.ndarray:
    """Per-row ``-log p`` of the outcome's category, probabilities floored at ``floor`` and renormalised."""
    Q = np.maximum(np.asarray(P, dtype=float), floor)
    Q = Q / Q.sum(axis=1, keepdims=True)
    return -np.log(Q[np.arange(len(Q)), np.asarray(outcome, dtype=int)])


def reliability(p: np.ndarray, outcome: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Reliability diagram data: forecasts binned by probability.

    Returns
    -------
    pd.DataFrame
        One row per non-empty bin: ``bin_lo``, ``bin_hi``, ``mean_forecast``,
        ``observed`` (share of outcomes that happened), ``n``. A calibrated forecast has
        ``observed`` close to ``mean_forecast``.
    """
    p = np.asarray(p, dtype=float)
    o = np.asarray(outcome, dtype=float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    rows = []
    for b in range(bins):
        m = which == b
        if m.any():
            rows.append({"bin_lo": edges[b], "bin_hi": edges[b + 1], "mean_forecast": float(p[m].mean()),
                         "observed": float(o[m].mean()), "n": int(m.sum())})
    return pd.DataFrame(rows, columns=["bin_lo", "bin_hi", "mean_forecast", "observed", "n"])


def mean_ci(loss: np.ndarray, block: int, n_boot: int, random_state: int = 0) -> tuple[float, float]:
    """Moving-block bootstrap 90% interval of the mean of per-row values."""
    if n_boot <= 0 or len(loss) < 2 * block:
        return float("nan"), float("nan")
    idx = block_bootstrap_indices(len(loss), block, n_boot, random_state)
    return bootstrap_ci(loss[idx].mean(axis=1))


def skill_ci(loss: np.ndarray, reference: np.ndarray, block: int, n_boot: int,
             random_state: int = 0) -> tuple[float, float]:
    """Moving-block bootstrap 90% interval of ``1 - mean(loss) / mean(reference)`` (same rows resampled)."""
    if n_boot <= 0 or len(loss) < 2 * block:
        return float("nan"), float("nan")
    idx = block_bootstrap_indices(len(loss), block, n_boot, random_state)
    with np.errstate(invalid="ignore", divide="ignore"):
        return bootstrap_ci(1.0 - loss[idx].mean(axis=1) / reference[idx].mean(axis=1))


def skill(loss: np.ndarray, reference: np.ndarray) -> float:
    """``1 - mean(loss) / mean(reference)``."""
    ref = float(np.mean(reference)) if len(reference) else float("nan")
    return 1.0 - float(np.mean(loss)) / ref if ref and np.isfinite(ref) else float("nan")
