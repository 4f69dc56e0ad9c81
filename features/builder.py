"""Point-in-time features from the aligned business-day panel.

Every function here is pure (``DataFrame -> DataFrame``), never mutates its input and
only looks back: the value at row t depends on rows <= t. Tests prove it by changing
the future and checking that the past does not move.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.config import FeatureConfig
from features.windows import float_columns, frame_from_columns, lagged_difference, shifted

#: Families of drivers in the thesis's terms, keyed by feature-name prefix.
FAMILY_PREFIXES: tuple[tuple[str, str], ...] = (
    ("lead_", "metals (lead)"),
    ("ret_silver", "metals"),
    ("ret_gold", "metals"),
    ("vol_silver", "metals"),
    ("sgr_", "metals"),
    ("chg_dfii10", "real yields"),
    ("chg_dgs10", "nominal yields"),
    ("curve_", "nominal yields"),
    ("chg_t10yie", "breakevens"),
    ("ret_dxy", "dollar"),
    ("ret_usd_broad", "dollar"),
    ("vix_", "vix & equities"),
    ("ret_sp500", "vix & equities"),
    ("liq_", "liquidity"),
    ("ret_btc", "btc momentum"),
    ("vol_btc", "btc momentum"),
    ("dd_btc", "btc momentum"),
    ("p_", "regime"),
)


def feature_family(name: str) -> str:
    """Thesis driver family of a feature name (``"other"`` if none matches)."""
    for prefix, family in FAMILY_PREFIXES:
        if name.startswith(prefix):
            return family
    return "other"


#: Feature columns by name: one float array per feature, all on the rows of the input.
Columns = dict[str, np.ndarray]


def _rolling(x: np.ndarray, window: int, stat: str) -> np.ndarray:
    """pandas' trailing ``rolling(window, min_periods=window).<stat>()`` of the 1-D array ``x``."""
    return getattr(pd.Series(x).rolling(window, min_periods=window), stat)().to_numpy()


def _log_returns(prices: Columns, windows: tuple[int, ...], prefix: str) -> Columns:
    logp = {c: np.log(v) for c, v in prices.items()}
    return {f"{prefix}_{c}_{w}": lagged_difference(logp[c], w) for c in prices for w in windows}


def _realized_vol(prices: Columns, window: int) -> Columns:
    return {f"vol_{c}_{window}": _rolling(lagged_difference(np.log(v), 1), window, "std") * np.sqrt(252)
            for c, v in prices.items()}


def _frame(columns: Columns, index: pd.Index) -> pd.DataFrame:
    return pd.DataFrame(columns, index=index)


def log_returns(prices: pd.DataFrame, windows: tuple[int, ...], prefix: str = "ret") -> pd.DataFrame:
    """Trailing log returns ``log(p_t / p_{t-w})`` of each column for each window."""
    return _frame(_log_returns(float_columns(prices), windows, prefix), prices.index)


def level_changes(levels: pd.DataFrame, windows: tuple[int, ...], prefix: str = "chg") -> pd.DataFrame:
    """Trailing differences ``x_t - x_{t-w}`` (yields in percentage points)."""
    return _frame(_level_changes(float_columns(levels), windows, prefix), levels.index)


def _level_changes(levels: Columns, windows: tuple[int, ...], prefix: str) -> Columns:
    return {f"{prefix}_{c}_{w}": lagged_difference(v, w) for c, v in levels.items() for w in windows}


def realized_vol(prices: pd.DataFrame, window: int) -> pd.DataFrame:
    """Annualised realized volatility of daily log returns over ``window`` days."""
    return _frame(_realized_vol(float_columns(prices), window), prices.index)


def metal_features(aligned: Columns, cfg: FeatureConfig) -> Columns:
    """Silver and gold returns, volatility, silver/gold ratio z-score and lead terms."""
    metals = {"silver": aligned["silver_usd"], "gold": aligned["gold_usd"]}
    out = {**_log_returns(metals, cfg.return_windows, "ret"),
           **_realized_vol({"silver": metals["silver"]}, cfg.vol_window)}
    ratio = np.log(metals["silver"] / metals["gold"])
    z = cfg.zscore_window
    mean, std = _rolling(ratio, z, "mean"), _rolling(ratio, z, "std")
    out.update({"sgr_z": (ratio - mean) / std, "sgr_chg_63": lagged_difference(ratio, 63)})
    r63 = {m: lagged_difference(np.log(v), 63) for m, v in metals.items()}
    out.update({f"lead_{m}_63_lag{lag}": shifted(r63[m], lag) for m in ("silver", "gold") for lag in cfg.lead_lags})
    return out


def btc_features(aligned: Columns, cfg: FeatureConfig) -> Columns:
    """BTC's own momentum, volatility and drawdown from its trailing high."""
    btc = {"btc": aligned["btc_usd"]}
    logp = np.log(btc["btc"])
    high = _rolling(logp, cfg.zscore_window, "max")
    return {**_log_returns(btc, cfg.return_windows, "ret"), **_realized_vol(btc, cfg.vol_window), "dd_btc": logp - high}


def rate_features(aligned: Columns, cfg: FeatureConfig) -> Columns:
    """Changes in nominal and real 10y yields and breakevens; the 10y-2y curve if present."""
    yields = {c: aligned[c] for c in ("dgs10", "dfii10", "t10yie") if c in aligned}
    out = _level_changes(yields, cfg.return_windows, "chg")
    if "dgs2" in aligned and "dgs10" in aligned:
        out["curve_10y2y"] = aligned["dgs10"] - aligned["dgs2"]
    return out


def dollar_and_fear_features(aligned: Columns, cfg: FeatureConfig) -> Columns:
    """Dollar-index returns, VIX level and change, equity returns if present."""
    out = _log_returns({"dxy": aligned["dxy"]}, cfg.return_windows, "ret")
    vix = np.log(aligned["vix"])
    out.update({"vix_log": vix, "vix_chg_21": lagged_difference(vix, 21)})
    if "sp500" in aligned:
        out.update(_log_returns({"sp500": aligned["sp500"]}, (21,), "ret"))
    return out


def liquidity_features(aligned: Columns) -> Columns:
    """Growth of the Fed balance sheet (13 weeks) and M2 (one year), when present."""
    out = {}
    if "walcl" in aligned:
        out["liq_walcl_63"] = lagged_difference(np.log(aligned["walcl"]), 63)
    if "m2sl" in aligned:
        out["liq_m2_252"] = lagged_difference(np.log(aligned["m2sl"]), 252)
    return out


def build_features(aligned: pd.DataFrame, cfg: FeatureConfig, rows: int | None = None) -> pd.DataFrame:
    """All model features for each business day of ``aligned`` (or only its last ``rows``).

    The features are computed column by column on NumPy arrays (a few hundred small pandas
    operations would cost more than the arithmetic); each value is the same, bit for bit,
    as pandas' ``x - x.shift(w)``, ``np.log`` and ``rolling`` give it.

    Parameters
    ----------
    aligned : pd.DataFrame
        Output of :func:`features.align.align_point_in_time`.
    cfg : FeatureConfig
        Windows.
    rows : int, optional
        Only the last ``rows`` rows need features (a warm update): they are computed from the
        last ``rows + cfg.warmup + 1`` rows of ``aligned``, which hold every value their windows
        read; the rows before hold NaN.

    Returns
    -------
    pd.DataFrame
        Float features on the same index; rows inside the warm-up hold NaN.
    """
    part = aligned if rows is None else aligned.iloc[-(rows + cfg.warmup + 1):]
    columns = float_columns(part)
    out: Columns = {
        **metal_features(columns, cfg),
        **btc_features(columns, cfg),
        **rate_features(columns, cfg),
        **dollar_and_fear_features(columns, cfg),
        **liquidity_features(columns),
    }
    skipped = len(aligned) - len(part)
    if skipped:
        out = {name: np.concatenate([np.full(skipped, np.nan), v]) for name, v in out.items()}
    return frame_from_columns(out, aligned.index)
