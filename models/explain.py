"""SHAP explanations of the forecasters in the thesis's own terms.

Pure computations: SHAP values of a fitted pipeline's boosters (TreeExplainer, exact for
trees), grouped into driver families (metals, real yields, dollar, fear, ...), and a
plain-language narrative for one date. Plots live in ``training.display.plots``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.builder import feature_family
from features.design import Design
from features.errors import ConfigError, DataError
from models.pipeline import RegimeForecastPipeline


@dataclass(frozen=True)
class Explanation:
    """SHAP values of one horizon's forecaster.

    Attributes
    ----------
    horizon : int
    values : pd.DataFrame
        SHAP contribution of each feature (columns) on each date (rows), in log-return units.
    features : pd.DataFrame
        The feature values explained.
    base_value : float
        Expected model output; ``base_value + values.sum(axis=1)`` equals the forecast.
    forecast : pd.Series
        The model's forecast per date.
    """

    horizon: int
    values: pd.DataFrame
    features: pd.DataFrame
    base_value: float
    forecast: pd.Series

    def by_family(self) -> pd.DataFrame:
        """Contributions summed within each driver family (rows: dates)."""
        fam = {c: feature_family(c) for c in self.values.columns}
        return self.values.T.groupby(fam).sum().T


def _tree_explainer(model):  # shap import is slow and noisy: keep it local
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import shap

    return shap.TreeExplainer(model)


def explain_pipeline(
    pipeline: RegimeForecastPipeline, design: Design, horizon: int, dates: pd.DatetimeIndex | None = None
) -> Explanation:
    """SHAP values of ``pipeline``'s ``horizon`` forecaster on ``dates`` (all complete rows by default)."""
    if horizon not in pipeline.forecasters_:
        raise ConfigError(f"`horizon` {horizon} is not one of the model's horizons {tuple(pipeline.forecasters_)}")
    X = pipeline.design_matrix(design).reindex(columns=pipeline.feature_names_).iloc[design.first_complete():]
    if dates is not None:
        X = X.loc[X.index.intersection(dates)]
    if X.empty:
        raise DataError("no dates with complete features to explain")
    booster = pipeline.forecasters_[horizon].model_
    explainer = _tree_explainer(booster)
    values = np.asarray(explainer.shap_values(X.to_numpy(dtype=float)))
    base = float(np.ravel(explainer.expected_value)[0])
    forecast = pd.Series(pipeline.forecasters_[horizon].predict(X), index=X.index)
    return Explanation(horizon, pd.DataFrame(values, index=X.index, columns=X.columns), X, base, forecast)


def percentile_in_history(features: pd.DataFrame, date: pd.Timestamp) -> pd.Series:
    """Percentile (0-100) of each feature's value on ``date`` among its values up to that date."""
    hist = features.loc[:date]
    return (hist.le(hist.iloc[-1]).sum() / hist.notna().sum() * 100).round(0)


def top_drivers(expl: Explanation, date: pd.Timestamp, top: int = 8) -> pd.DataFrame:
    """The ``top`` features by |contribution| on ``date`` with value, percentile and family."""
    row = expl.values.loc[date]
    order = row.abs().sort_values(ascending=False).index[:top]
    pct = percentile_in_history(expl.features, date)
    return pd.DataFrame(
        {
            "feature": order,
            "family": [feature_family(f) for f in order],
            "value": expl.features.loc[date, order].to_numpy(),
            "percentile": pct[order].to_numpy(),
            "contribution": row[order].to_numpy(),
        }
    )


def global_importance(expl: Explanation) -> pd.DataFrame:
    """Mean |SHAP| per feature, with its family, largest first."""
    imp = expl.values.abs().mean().sort_values(ascending=False)
    return pd.DataFrame({"feature": imp.index, "family": [feature_family(f) for f in imp.index], "mean_abs_shap": imp.to_numpy()})


def describe_feature(name: str) -> str:
    """A readable phrase for a feature name (``ret_silver_63`` -> "silver's 63-day return")."""
    parts = name.split("_")
    names = {"dxy": "the dollar index", "btc": "BTC", "sp500": "the S&P 500", "usd": "the broad dollar"}
    if name.startswith("ret_"):
        return f"{names.get(parts[1], parts[1])}'s {parts[-1]}-day return"
    if name.startswith("chg_"):
        series = {"dfii10": "real 10y yield", "dgs10": "10y yield", "t10yie": "10y breakeven"}.get(parts[1], parts[1])
        return f"{parts[-1]}-day change in the {series}"
    if name.startswith("lead_"):
        return f"{parts[1]}'s 63-day return as of {parts[-1].removeprefix('lag')} days ago"
    if name.startswith("p_"):
        return f"probability of the {name[2:]} regime"
    if name.startswith("vol_"):
        return f"{names.get(parts[1], parts[1])}'s {parts[-1]}-day volatility"
    return {
        "vix_log": "VIX level", "vix_chg_21": "21-day change in VIX", "sgr_z": "silver/gold ratio (z-score)",
        "sgr_chg_63": "63-day change in the silver/gold ratio", "dd_btc": "BTC's drawdown from its 1-year high",
        "curve_10y2y": "10y-2y yield curve", "liq_walcl_63": "13-week growth of the Fed balance sheet",
        "liq_m2_252": "1-year M2 growth",
    }.get(name, name)


def narrative(expl: Explanation, date: pd.Timestamp, regime: str | None = None, top: int = 3) -> str:
    """One paragraph: the forecast in percent and its main drivers in percentage points."""
    fc = float(expl.forecast.loc[date])
    drivers = top_drivers(expl, date, top)
    parts = [
        f"{describe_feature(r.feature)} ({r.contribution * 100:+.1f} pts)" for r in drivers.itertuples()
    ]
    pct = (np.exp(fc) - 1) * 100
    head = f"{date:%Y-%m-%d}: forecast {pct:+.1f}% over {expl.horizon} business days"
    if regime:
        head += f" in a {regime} regime"
    return f"{head} (baseline {expl.base_value * 100:+.1f}%). Main drivers: " + ", ".join(parts) + "."
