"""SHAP explanations of the forecasters in the thesis's own terms.

Pure computations: SHAP values of a fitted pipeline's boosters (``shap.TreeExplainer``, exact
for trees), grouped into driver families (metals, real yields, dollar, fear, ...), and a
plain-language narrative for one date. Plots live in ``training.display.plots``.

SHAP values are in log-return units (the forecast is a log return). People read them in
*simple-% points* (:meth:`Explanation.points`): each date's contributions times one positive
factor, ``(exp(f) - exp(b)) / (f - b)`` for forecast ``f`` and base value ``b``, so that they add
up to the simple-% forecast minus the simple-% baseline, keep their signs and their ranking.
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
from models.units import format_pct


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

    def points(self) -> pd.DataFrame:
        """Contributions in simple-% points: per date they sum to 100 * (exp(f) - exp(b)) for forecast f, base b."""
        base = self.base_value
        move = self.values.sum(axis=1)
        # (e^f - e^b) / (f - b), whose limit as f -> b is e^b.
        factor = (np.expm1(base + move) - np.expm1(base)).div(move.where(move.abs() > 1e-12)).fillna(np.exp(base))
        return self.values.mul(factor, axis=0) * 100

    def by_family(self, points: bool = False) -> pd.DataFrame:
        """Contributions summed within each driver family (rows: dates), in simple-% points when ``points``."""
        values = self.points() if points else self.values
        fam = {c: feature_family(c) for c in values.columns}
        return values.T.groupby(fam).sum().T


def tree_shap(booster, X: np.ndarray) -> tuple[np.ndarray, float]:
    """SHAP values (rows x features) of a fitted LightGBM model on ``X``, and its expected output.

    ``shap.TreeExplainer``: exact path-dependent TreeSHAP. The import is slow and noisy, so it
    stays local to the commands that explain.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import shap

    explainer = shap.TreeExplainer(booster)
    return np.asarray(explainer.shap_values(X)), float(np.ravel(explainer.expected_value)[0])


def explained_rows(pipeline: RegimeForecastPipeline, design: Design) -> pd.DataFrame:
    """The feature rows :func:`explain_pipeline` explains by default: every complete row, in the model's columns."""
    return pipeline.design_matrix(design).reindex(columns=pipeline.feature_names_).iloc[design.first_complete():]


def explain_pipeline(
    pipeline: RegimeForecastPipeline, design: Design, horizon: int, dates: pd.DatetimeIndex | None = None
) -> Explanation:
    """SHAP values of ``pipeline``'s ``horizon`` forecaster on ``dates`` (all complete rows by default)."""
    if horizon not in pipeline.forecasters_:
        raise ConfigError(f"`horizon` {horizon} is not one of the model's horizons {tuple(pipeline.forecasters_)}")
    X = explained_rows(pipeline, design)
    if dates is not None:
        X = X.loc[X.index.intersection(dates)]
    if X.empty:
        raise DataError("no dates with complete features to explain")
    values, base = tree_shap(pipeline.forecasters_[horizon].model_, X.to_numpy(dtype=float))
    forecast = pd.Series(pipeline.forecasters_[horizon].predict(X), index=X.index)
    return Explanation(horizon, pd.DataFrame(values, index=X.index, columns=X.columns), X, base, forecast)


def percentile_in_history(features: pd.DataFrame, date: pd.Timestamp) -> pd.Series:
    """Percentile (0-100) of each feature's value on ``date`` among its values up to that date."""
    hist = features.loc[:date]
    return (hist.le(hist.iloc[-1]).sum() / hist.notna().sum() * 100).round(0)


def top_drivers(expl: Explanation, date: pd.Timestamp, top: int = 8) -> pd.DataFrame:
    """The ``top`` features by |contribution| on ``date`` with value, percentile and family.

    ``contribution`` is in log-return units, ``contribution_pts`` in simple-% points
    (:meth:`Explanation.points`).
    """
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
            "contribution_pts": expl.points().loc[date, order].to_numpy(),
        }
    )


def global_importance(expl: Explanation, points: bool = False) -> pd.DataFrame:
    """Mean |SHAP| per feature (log-return units, or simple-% points when ``points``), with its family, largest first."""
    imp = (expl.points() if points else expl.values).abs().mean().sort_values(ascending=False)
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
    """One paragraph: the forecast and baseline in simple percent, its main drivers in simple-% points."""
    drivers = top_drivers(expl, date, top)
    parts = [f"{describe_feature(r.feature)} ({r.contribution_pts:+.1f} pts)" for r in drivers.itertuples()]
    head = f"{date:%Y-%m-%d}: forecast {format_pct(float(expl.forecast.loc[date]))} over {expl.horizon} business days"
    if regime:
        head += f" in a {regime} regime"
    return f"{head} (baseline {format_pct(expl.base_value)}). Main drivers: " + ", ".join(parts) + "."


def families_by_regime(expl: Explanation, regimes: pd.Series) -> pd.DataFrame:
    """Signed mean contribution (simple-% points) of each driver family on each regime's days.

    Parameters
    ----------
    expl : Explanation
    regimes : pd.Series
        Regime label per date (dates without one are left out).

    Returns
    -------
    pd.DataFrame
        Rows: driver families (the regime family included); columns: regimes; the row
        ``days`` holds the number of days behind each column.
    """
    fam = expl.by_family(points=True)
    labels = regimes.reindex(fam.index)
    means = fam[labels.notna()].groupby(labels.dropna()).mean().T
    return pd.concat([means, labels.value_counts().reindex(means.columns).rename("days").to_frame().T])


def regime_readings(table: pd.DataFrame, horizon: int) -> list[str]:
    """One sentence per regime of :func:`families_by_regime`: the family that moves the forecast most on its days."""
    lines = []
    for regime in table.columns:
        col = table[regime].drop("days")
        family = col.abs().idxmax()
        effect = f"adds {col[family]:+.1f} pts to" if col[family] >= 0 else f"takes {-col[family]:.1f} pts off"
        lines.append(f"on {regime} days ({int(table.loc['days', regime])}) the {family} family {effect} "
                     f"the {horizon}-day forecast on average")
    return lines
