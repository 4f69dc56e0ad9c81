"""How long a regime filter remembers where its history starts.

A forward filter is a recursion from the first row it sees: P(state_t | obs_1..t) depends on
every earlier row, so the same day filtered from a history that starts later gets slightly
different probabilities. The difference dies out as new observations arrive (for an HMM,
geometrically: the filter forgets its initial distribution), and after enough rows the two
agree to float noise. :func:`filter_memory` measures how many rows that takes, on the data an
engine was fitted on, by running the filter from several later start rows and comparing with
the run from the first row. It needs nothing from the engine but
``filter_state_proba(X) -> DataFrame`` (one column per state, one row per row of ``X``), so it
serves any regime engine with that method.

A served model answers a day only when at least this many rows of history precede it
(:mod:`models.history`), so its probabilities equal those of the full history.
"""

from __future__ import annotations

import logging
import math
from typing import Protocol

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

#: Largest difference of two filtered probabilities that counts as the same answer. The
#: forecasters are trees: probabilities this close fall on the same side of every split
#: threshold in practice, and the forecasts are then bitwise equal.
TOLERANCE = 1e-9
#: The measured figure (the worst of the sampled start rows) is multiplied by this, for start
#: rows and stretches of data the sample did not include (the sampled worst case was within
#: 1.3x of the worst over every start row on the real data and the demo market).
MARGIN = 2.0
#: Rows filtered in one chained call of :func:`filter_memory` (bounds its cost).
MAX_CHAINED_ROWS = 40_000


class FilteringEngine(Protocol):
    """A fitted regime model with a causal filter."""

    def filter_state_proba(self, X: pd.DataFrame) -> pd.DataFrame: ...  # pragma: no cover


def rows_to_forget(full: np.ndarray, restarted: np.ndarray, tol: float = TOLERANCE) -> int | None:
    """Rows after which ``restarted`` agrees with ``full`` within ``tol`` for good.

    Parameters
    ----------
    full, restarted : ndarray of shape (n_rows, n_states)
        The same rows filtered from the first row of the history and from the first row of
        ``restarted``.
    tol : float
        Largest absolute difference that counts as agreement.

    Returns
    -------
    int or None
        1 + the last row that still disagrees (0 if none does); None if the last row
        disagrees (the filter did not forget within these rows).
    """
    gap = np.nanmax(np.abs(full - restarted), axis=1)
    bad = np.nonzero(gap > tol)[0]
    if not len(bad):
        return 0
    return None if bad[-1] == len(gap) - 1 else int(bad[-1]) + 1


def filter_memory(
    engine: FilteringEngine,
    X: pd.DataFrame,
    tol: float = TOLERANCE,
    stride: int = 10,
    window: int = 63,
    margin: float = MARGIN,
    n_restarts: int = 12,
) -> int:
    """Rows of history a filter needs before a row's probabilities no longer depend on where it started.

    Two ways of starting the filter somewhere else are tried, and the worst is kept:

    * restarts: ``n_restarts`` evenly spaced rows where the filter starts afresh, as it does
      on a history that begins there;
    * foreign starts: every ``stride``-th row entered with the filtered state of a stretch of
      data from elsewhere in ``X`` (all such windows are chained into one sequence, so the
      state left at the end of one window is the wrong start of the next; the windows are
      ordered so that neighbours in the chain lie far apart in time). This tries many starts
      for the price of one call, from confident and wrong states, the slowest to forget.

    Parameters
    ----------
    engine : object with ``filter_state_proba``
        A fitted regime engine.
    X : pd.DataFrame
        Observations the engine was fitted on (rows in time order, complete rows only).
    tol : float
        Agreement tolerance (:data:`TOLERANCE`).
    stride : int
        Distance between foreign starts (widened so that the chain holds at most
        :data:`MAX_CHAINED_ROWS` rows). Starts close together forget at the same row (where
        the data become informative again), so the stride misses the worst start by at most
        about ``stride`` rows.
    window : int
        Rows filtered after each start, doubled (up to the end of ``X``) while some start
        still disagrees at its window's end. A start that disagrees up to the end of ``X``
        counts as needing all the rows it had.
    margin : float
        Factor applied to the worst start (:data:`MARGIN`).
    n_restarts : int
        Number of fresh restarts.

    Returns
    -------
    int
        ``ceil(margin * worst rows to forget)``, at most ``len(X)`` (then only the whole
        history is exact, and a warning is logged).
    """
    X = pd.DataFrame(X)
    n = len(X)
    if n < 3:
        return n
    full = engine.filter_state_proba(X).to_numpy(dtype=float)
    restarts = np.unique(np.linspace(1, n - 2, num=max(1, int(n_restarts))).astype(int))
    worst = max(_forget_after(engine, X, full, [s], window, tol, chained=False) for s in restarts)
    window = max(int(window), 2 * worst)
    stride = max(int(stride), math.ceil(n * window / MAX_CHAINED_ROWS))  # bounded work for a slow-forgetting filter
    starts = np.arange(1, n - 1, stride)
    order = np.roll(starts, len(starts) // 2)  # neighbours in the chain are half the history apart
    worst = max(worst, _forget_after(engine, X, full, list(order), window, tol, chained=True))
    if worst >= n - 1:
        logger.warning("the regime filter never forgets where it starts within %d rows (tolerance %g): only "
                       "the whole history gives exact probabilities", n, tol)
    return min(n, math.ceil(margin * worst))


def _forget_after(engine: FilteringEngine, X: pd.DataFrame, full: np.ndarray, starts: list[int], window: int,
                  tol: float, chained: bool) -> int:
    """Worst rows to forget over ``starts``: one call per start, or one call for the chain of all."""
    n, worst, pending = len(X), 0, list(starts)
    while pending:
        spans = [(s, min(window, n - s)) for s in pending]
        if chained:
            rows_idx = np.concatenate([np.arange(s, s + w) for s, w in spans])
            proba = engine.filter_state_proba(X.iloc[rows_idx]).to_numpy(dtype=float)
            pieces = np.split(proba, np.cumsum([w for _, w in spans])[:-1])
        else:
            pieces = [engine.filter_state_proba(X.iloc[s:s + w]).to_numpy(dtype=float) for s, w in spans]
        pending = []
        for (s, w), piece in zip(spans, pieces, strict=True):
            rows = rows_to_forget(full[s:s + w], piece, tol)
            if rows is None and s + w < n:
                pending.append(s)  # try again with a longer window
            else:
                worst = max(worst, n - s if rows is None else rows)
        window *= 2
    return worst
