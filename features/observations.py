"""What the regime model observes: smoothed macro moves named after the thesis's terms.

Pure, look-back-only functions of the aligned business-day panel (like
:mod:`features.builder`); the catalogue says which series each observation needs, so a data
set without an optional series (``walcl``, ``sp500`` ...) simply lacks that observation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from features.windows import float_columns, frame_from_columns, lagged_difference, trailing_moments

if TYPE_CHECKING:
    from features.config import FeatureConfig

#: What the regime model can observe: name -> (series it needs, description). Every entry is
#: a trailing move over ``FeatureConfig.regime_window`` days unless it says otherwise.
REGIME_OBSERVATIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "gold": (("gold_usd",), "gold's log return"),
    "silver": (("silver_usd",), "silver's log return"),
    "dollar": (("dxy",), "the dollar index's log return"),
    "real_yield": (("dfii10",), "change in the 10y real yield (pp)"),
    "breakeven": (("t10yie",), "change in the 10y breakeven (pp)"),
    "vix": (("vix",), "log VIX (level)"),
    "equity": (("sp500",), "the S&P 500's log return"),
    "liquidity": (("walcl",), "growth of the Fed balance sheet over 63 days (log)"),
    "money": (("m2sl",), "growth of M2 over 252 days (log)"),
    "metals": (("gold_usd", "silver_usd"), "the metals' mean log return (gold and silver)"),
    "metals_63": (("gold_usd", "silver_usd"), "the metals' mean log return over 63 days (a quarter)"),
    "metals_vs_btc": (("gold_usd", "silver_usd", "btc_usd"), "the metals' mean log return minus BTC's"),
    "metals_vs_btc_63": (("gold_usd", "silver_usd", "btc_usd"), "the metals' mean log return minus BTC's over 63 days"),
}


#: Observations whose look-back is fixed (business days), whatever ``FeatureConfig.regime_window``.
FIXED_LOOKBACK: dict[str, int] = {"vix": 0, "liquidity": 63, "money": 252, "metals_63": 63, "metals_vs_btc_63": 63}


def observation_lookback(names: tuple[str, ...], window: int, zscore_window: int) -> int:
    """Business days of history an observation set consumes before its first complete row.

    The longest move (``window``, or a fixed window such as the 252-day M2 growth), plus a
    full trailing z-score window when there is one.
    """
    move = max((FIXED_LOOKBACK.get(n, window) for n in names), default=0)
    return move + (zscore_window - 1 if zscore_window else 0)


def _observation(name: str, aligned: Mapping[str, np.ndarray], w: int) -> np.ndarray:
    logp = lambda c: np.log(aligned[c])  # noqa: E731 - a one-line local helper
    if name in ("gold", "silver", "dollar", "equity"):
        col = {"gold": "gold_usd", "silver": "silver_usd", "dollar": "dxy", "equity": "sp500"}[name]
        return lagged_difference(logp(col), w)
    if name in ("real_yield", "breakeven"):
        return lagged_difference(aligned["dfii10" if name == "real_yield" else "t10yie"], w)
    if name == "vix":
        return logp("vix")
    if name == "liquidity":
        return lagged_difference(logp("walcl"), 63)
    if name == "money":
        return lagged_difference(logp("m2sl"), 252)
    if name in ("metals", "metals_63", "metals_vs_btc", "metals_vs_btc_63"):
        days = 63 if name.endswith("_63") else w
        metals = (lagged_difference(logp("gold_usd"), days) + lagged_difference(logp("silver_usd"), days)) / 2
        return metals - lagged_difference(logp("btc_usd"), days) if "vs_btc" in name else metals
    raise KeyError(name)


def regime_observations(aligned: pd.DataFrame, cfg: FeatureConfig) -> pd.DataFrame:
    """What the regime model observes: ``cfg.regime_observations`` (see :data:`REGIME_OBSERVATIONS`).

    An observation whose series is absent from ``aligned`` (an optional series such as
    ``walcl``) is left out, so a data folder without it still works; the fitted regime
    model records the columns it saw. With ``cfg.regime_zscore_window = w > 0`` each
    observation is expressed as a trailing z-score over the last ``w`` business days
    (``(x_t - mean) / sd`` of rows ``t-w+1 .. t``): the same move means the same thing in
    2014 and in 2024, so regime models fitted on different spans find the same states.
    Every column only looks back; moves are computed on NumPy arrays, bit for bit as
    pandas' ``diff`` gives them.
    """
    w = cfg.regime_window
    columns = float_columns(aligned)
    present = {c for c, v in columns.items() if (~np.isnan(v)).any()}
    out = {}
    for name in cfg.regime_observations:
        needs, _ = REGIME_OBSERVATIONS[name]
        if all(c in present for c in needs):
            out[name] = _observation(name, columns, w)
    obs = frame_from_columns(out, aligned.index)
    z = cfg.regime_zscore_window
    return trailing_zscores(obs, z) if z else obs


def trailing_zscores(frame: pd.DataFrame, window: int) -> pd.DataFrame:
    """``(x_t - mean) / sd`` over rows ``t-window+1 .. t`` of each column (NaN until a full window).

    Each window's moments are computed on their own (:func:`features.windows.trailing_moments`),
    so a row's z-score is bitwise the same whatever row the history starts at: a served
    model's answers then equal the full history's exactly. A window with no
    variation (a flat stretch) has no z-score: NaN, not a division by zero.
    """
    values = frame.to_numpy(dtype=float)
    mean, sd = trailing_moments(values, window)
    out = (values - mean) / sd
    return pd.DataFrame(out, index=frame.index, columns=frame.columns)
