"""Trailing windows on arrays: moments computed window by window (the same bits whatever row a
history starts at), lagged differences and shifts (bit for bit as pandas' ``diff`` and ``shift``),
and a frame's columns as arrays to compute them on.

pandas' ``rolling`` keeps running sums, so a row's rolling mean depends (in the last bits) on
every row since the array's start. A served model must answer exactly what the full history
would give, so the windows here are summed each on its own, as contiguous slices (fast: a
few milliseconds for 3,000 rows x 9 columns x 252 days).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

import numpy as np
import pandas as pd


def trailing_moments(values: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sample standard deviation (ddof 1) of each column over rows ``t-window+1 .. t``.

    Parameters
    ----------
    values : ndarray of shape (n_rows,) or (n_rows, n_columns)
    window : int
        Rows per window (at least 2).

    Returns
    -------
    mean, sd : ndarray shaped like ``values``
        NaN before the first full window and for windows holding a NaN; ``sd`` is NaN where
        the window has no variation.
    """
    values = np.asarray(values, dtype=float)
    flat = values.ndim == 1
    cols = np.ascontiguousarray((values[:, None] if flat else values).T)  # one row per column
    mean = np.full(cols.shape, np.nan)
    sd = np.full(cols.shape, np.nan)
    if cols.shape[1] >= window:
        windows = np.lib.stride_tricks.sliding_window_view(cols, window, axis=1)  # contiguous last axis
        total = windows.sum(axis=-1)
        squares = np.einsum("ijk,ijk->ij", windows, windows)
        m = total / window
        var = (squares - total * m) / (window - 1)
        mean[:, window - 1:] = m
        with np.errstate(invalid="ignore"):
            sd[:, window - 1:] = np.where(var > 0, np.sqrt(np.where(var > 0, var, 1.0)), np.nan)
    mean, sd = mean.T, sd.T
    return (mean[:, 0], sd[:, 0]) if flat else (mean, sd)


def lagged_difference(x: np.ndarray, w: int) -> np.ndarray:
    """``x_t - x_{t-w}`` (``w >= 1``) along the first axis, NaN in the first ``w`` rows.

    Bit for bit what pandas' ``x.diff(w)`` (or ``x - x.shift(w)``) gives.
    """
    out = np.full(x.shape, np.nan)
    if w < len(x):
        out[w:] = x[w:] - x[:-w]
    return out


def shifted(x: np.ndarray, lag: int) -> np.ndarray:
    """``x_{t-lag}`` (NaN in the first ``lag`` rows)."""
    out = np.full(x.shape, np.nan)
    if lag < len(x):
        out[lag:] = x[:len(x) - lag]
    return out


def frame_from_columns(columns: Mapping[str, np.ndarray], index: pd.Index) -> pd.DataFrame:
    """A float frame of ``columns`` (name -> array, in order) on ``index``: the inverse of :func:`float_columns`.

    Built from one stacked array: a frame built from a dict converts each column on its own,
    which costs more than the arithmetic on a few hundred rows.
    """
    if not columns:
        return pd.DataFrame(index=index, dtype=float)
    return pd.DataFrame(np.column_stack(list(columns.values())).astype(float, copy=False), index=index,
                        columns=_labels(tuple(columns)))


@lru_cache(maxsize=64)
def _labels(names: tuple[str, ...]) -> pd.Index:
    """The column labels ``names`` (an immutable Index, made once: text labels cost a conversion each time)."""
    return pd.Index(names)


def float_columns(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """Each column of ``frame`` as a float array (views of one array: a single conversion for the frame)."""
    values = frame.to_numpy(dtype=float)
    return {str(c): values[:, j] for j, c in enumerate(frame.columns)}
