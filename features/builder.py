"""Point-in-time features from the aligned business-day panel.

Every function here is pure (``DataFrame -> DataFrame``), never mutates its input and
only looks back: the value at row t depends on rows <= t. Tests prove it by changing
the future and checking that the past does not move.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.config import FeatureConfig

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


def log_returns(prices: pd.DataFrame, windows: tuple[int, ...], prefix: str = "ret") -> pd.DataFrame:
    """Trailing log returns ``log(p_t / p_{t-w})`` of each column for each window."""
    logp = np.log(prices)
    return pd.DataFrame(
        {f"{prefix}_{c}_{w}": logp[c] - logp[c].shift(w) for c in prices.columns for w in windows},
        index=prices.index,
    )


def level_changes(levels: pd.DataFrame, windows: tuple[int, ...], prefix: str = "chg") -> pd.DataFrame:
    """Trailing differences ``x_t - x_{t-w}`` (yields in percentage points)."""
    return pd.DataFrame(
        {f"{prefix}_{c}_{w}": levels[c] - levels[c].shift(w) for c in levels.columns for w in windows},
        index=levels.index,
    )


def realized_vol(prices: pd.DataFrame, window: int) -> pd.DataFrame:
    """Annualised realized volatility of daily log returns over ``window`` days."""
    r = np.log(prices).diff()
    return pd.DataFrame(
        {f"vol_{c}_{window}": r[c].rolling(window, min_periods=window).std() * np.sqrt(252) for c in prices.columns},
        index=prices.index,
    )


def metal_features(aligned: pd.DataFrame, cfg: FeatureConfig) -> pd.DataFrame:
    """Silver and gold returns, volatility, silver/gold ratio z-score and lead terms."""
    metals = aligned[["silver_usd", "gold_usd"]].rename(columns={"silver_usd": "silver", "gold_usd": "gold"})
    out = [log_returns(metals, cfg.return_windows), realized_vol(metals[["silver"]], cfg.vol_window)]
    ratio = np.log(metals["silver"] / metals["gold"])
    z = cfg.zscore_window
    mean, std = ratio.rolling(z, min_periods=z).mean(), ratio.rolling(z, min_periods=z).std()
    out.append(pd.DataFrame({"sgr_z": (ratio - mean) / std, "sgr_chg_63": ratio - ratio.shift(63)}))
    r63 = np.log(metals).diff(63)
    out.append(
        pd.DataFrame(
            {f"lead_{m}_63_lag{lag}": r63[m].shift(lag) for m in ("silver", "gold") for lag in cfg.lead_lags}
        )
    )
    return pd.concat(out, axis=1)


def btc_features(aligned: pd.DataFrame, cfg: FeatureConfig) -> pd.DataFrame:
    """BTC's own momentum, volatility and drawdown from its trailing high."""
    btc = aligned[["btc_usd"]].rename(columns={"btc_usd": "btc"})
    logp = np.log(btc["btc"])
    high = logp.rolling(cfg.zscore_window, min_periods=cfg.zscore_window).max()
    return pd.concat(
        [log_returns(btc, cfg.return_windows), realized_vol(btc, cfg.vol_window),
         pd.DataFrame({"dd_btc": logp - high})],
        axis=1,
    )


def rate_features(aligned: pd.DataFrame, cfg: FeatureConfig) -> pd.DataFrame:
    """Changes in nominal and real 10y yields and breakevens; the 10y-2y curve if present."""
    cols = [c for c in ("dgs10", "dfii10", "t10yie") if c in aligned]
    out = [level_changes(aligned[cols], cfg.return_windows)]
    if "dgs2" in aligned and "dgs10" in aligned:
        out.append(pd.DataFrame({"curve_10y2y": aligned["dgs10"] - aligned["dgs2"]}))
    return pd.concat(out, axis=1)


def dollar_and_fear_features(aligned: pd.DataFrame, cfg: FeatureConfig) -> pd.DataFrame:
    """Dollar-index returns, VIX level and change, equity returns if present."""
    out = [log_returns(aligned[["dxy"]], cfg.return_windows)]
    vix = np.log(aligned["vix"])
    out.append(pd.DataFrame({"vix_log": vix, "vix_chg_21": vix - vix.shift(21)}))
    if "sp500" in aligned:
        out.append(log_returns(aligned[["sp500"]], (21,)))
    return pd.concat(out, axis=1)


def liquidity_features(aligned: pd.DataFrame) -> pd.DataFrame:
    """Growth of the Fed balance sheet (13 weeks) and M2 (one year), when present."""
    out = {}
    if "walcl" in aligned:
        out["liq_walcl_63"] = np.log(aligned["walcl"]).diff(63)
    if "m2sl" in aligned:
        out["liq_m2_252"] = np.log(aligned["m2sl"]).diff(252)
    return pd.DataFrame(out, index=aligned.index)


def build_features(aligned: pd.DataFrame, cfg: FeatureConfig) -> pd.DataFrame:
    """All model features for each business day of ``aligned``.

    Parameters
    ----------
    aligned : pd.DataFrame
        Output of :func:`features.align.align_point_in_time`.
    cfg : FeatureConfig
        Windows.

    Returns
    -------
    pd.DataFrame
        Float features on the same index; rows inside the warm-up hold NaN.
    """
    frames = [
        metal_features(aligned, cfg),
        btc_features(aligned, cfg),
        rate_features(aligned, cfg),
        dollar_and_fear_features(aligned, cfg),
        liquidity_features(aligned),
    ]
    return pd.concat(frames, axis=1).astype(float)
