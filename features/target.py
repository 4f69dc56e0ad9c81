"""The forecast target: forward BTC log returns.

This is the only code in the project that looks forward in time. Everything that
uses its output must purge training rows whose window overlaps the test period
(see ``training.evaluation.folds``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.errors import ConfigError
from features.windows import frame_from_columns


def target_name(horizon: int) -> str:
    """Column name of the ``horizon``-day target and forecast (``fwd_21d`` / ``forecast_21d``)."""
    return f"fwd_{horizon}d"


def forward_log_returns(btc: pd.Series, horizons: tuple[int, ...]) -> pd.DataFrame:
    """Forward log return of ``btc`` over each horizon, in rows of its (business-day) index.

    ``fwd_h[t] = log(btc[t+h]) - log(btc[t])``; the last ``h`` rows are NaN.

    Parameters
    ----------
    btc : pd.Series
        BTC price sampled on the business-day calendar.
    horizons : tuple of int
        Horizons in business days, each >= 1.
    """
    if not horizons or any(int(h) < 1 for h in horizons):
        raise ConfigError(f"`horizons` must be positive integers. Got {horizons}.")
    logp = np.log(btc.to_numpy(dtype=float))
    out = {}
    for h in map(int, horizons):
        fwd = np.full(len(logp), np.nan)
        if h < len(logp):
            fwd[:-h] = logp[h:] - logp[:-h]
        out[target_name(h)] = fwd
    return frame_from_columns(out, btc.index)
