"""Everything the walk-forward says about the forecast distributions, the regime forecast and the level.

One call for the training job: :func:`evaluate_outlook` turns a walk-forward result into
the tables that are printed, logged and plotted; :func:`outlook_metrics` flattens the
headline figures into MLflow metric names.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from features.design import Design
from models.pipeline import RegimeForecastPipeline
from training.evaluation.distributions import (
    DistributionForecasts,
    distribution_scores,
    fold_coverage,
    p_up_reliability,
    quantile_calibration,
    walk_forward_distributions,
)
from training.evaluation.levels import level_study, level_table, nested_shrinkage, p_up_by_regime
from training.evaluation.regime_forecast import (
    regime_forecast_reliability,
    regime_forecast_scores,
    regime_names,
)
from training.evaluation.walk_forward import WalkForwardResult


@dataclass
class OutlookEvaluation:
    """Out-of-sample scores of the distributions, the regime forecast and the level.

    Attributes
    ----------
    distribution : pd.DataFrame
        :func:`~training.evaluation.distributions.distribution_scores`.
    calibration : pd.DataFrame
        :func:`~training.evaluation.distributions.quantile_calibration`.
    p_up_reliability : pd.DataFrame
    fold_coverage : pd.DataFrame
    regime : pd.DataFrame
        :func:`~training.evaluation.regime_forecast.regime_forecast_scores` (empty without regimes).
    regime_reliability : pd.DataFrame
    levels : pd.DataFrame
        :func:`~training.evaluation.levels.level_table`.
    shrinkage : pd.DataFrame
        Summary of :func:`~training.evaluation.levels.nested_shrinkage`.
    forecasts : dict of int -> DistributionForecasts
    level_study : pd.DataFrame
        :func:`~training.evaluation.levels.level_study`: shrinkage and the regime-mean blend,
        before the sealed segment and on it.
    p_up_by_regime : pd.DataFrame
        :func:`~training.evaluation.levels.p_up_by_regime`, before the sealed segment.
    """

    distribution: pd.DataFrame
    calibration: pd.DataFrame
    p_up_reliability: pd.DataFrame
    fold_coverage: pd.DataFrame
    regime: pd.DataFrame
    regime_reliability: pd.DataFrame
    levels: pd.DataFrame
    shrinkage: pd.DataFrame
    forecasts: dict[int, DistributionForecasts]
    level_study: pd.DataFrame = field(default_factory=pd.DataFrame)
    p_up_by_regime: pd.DataFrame = field(default_factory=pd.DataFrame)


def evaluate_outlook(
    result: WalkForwardResult, design: Design, template: RegimeForecastPipeline, n_boot: int = 500,
    random_state: int = 0, sealed: pd.Timestamp | None = None,
) -> OutlookEvaluation:
    """Score the walk-forward's distributions, regime forecasts and levels (see the module docstring).

    ``sealed`` (the sealed segment's first date) separates the level study's evidence from its check.
    """
    horizons = tuple(result.predictions)
    forecasts = walk_forward_distributions(result, design, template)
    has_regime = "regime" in result.regimes and bool(regime_names(result.regimes, horizons))
    regime = regime_forecast_scores(result, horizons, n_boot, random_state) if has_regime else pd.DataFrame()
    reliability = regime_forecast_reliability(result, horizons) if has_regime else pd.DataFrame()
    shrinkage, _ = nested_shrinkage(result, design)
    return OutlookEvaluation(
        distribution=distribution_scores(forecasts, n_boot, random_state),
        calibration=quantile_calibration(forecasts),
        p_up_reliability=p_up_reliability(forecasts),
        fold_coverage=fold_coverage(forecasts),
        regime=regime,
        regime_reliability=reliability,
        levels=level_table(result),
        shrinkage=shrinkage,
        forecasts=forecasts,
        level_study=level_study(result, design, sealed),
        p_up_by_regime=p_up_by_regime(forecasts, sealed),
    )


def outlook_metrics(ev: OutlookEvaluation) -> dict[str, float]:
    """Headline figures as MLflow metrics (``dist.*``, ``regime_forecast.*``, ``level.*``)."""
    out: dict[str, float] = {}
    for r in ev.distribution.itertuples():
        group = "" if r.group == "all" else f".{r.group.replace('-', '_')}"
        names = ("coverage", "width", "pinball", "base_pinball", "crps", "base_crps", "crps_skill", "brier",
                 "base_brier", "brier_skill")
        if r.group == "all":
            names += ("coverage_lo", "coverage_hi", "base_coverage", "crps_skill_lo", "crps_skill_hi",
                      "brier_skill_lo", "brier_skill_hi")
        for m in names:
            out[f"dist.{m}{group}.{r.horizon}d"] = getattr(r, m)
    for r in ev.regime.itertuples():
        group = "" if r.group == "all" else ".non_overlap"
        for m in ("brier_model", "brier_persistence", "brier_unconditional", "log_model", "log_persistence",
                  "log_unconditional", "brier_skill_vs_persistence", "brier_skill_vs_unconditional"):
            out[f"regime_forecast.{m}{group}.{r.horizon}d"] = getattr(r, m)
    for r in ev.shrinkage.itertuples():
        out[f"level.mse_model.{r.horizon}d"] = r.mse_model
        out[f"level.mse_nested_shrunk.{r.horizon}d"] = r.mse_shrunk
    for r in ev.level_study.itertuples():
        key = "regime_blend" if r.anchors == "regime mean" else "shrunk"
        out[f"level.r2_{key}.{r.segment.replace(' ', '_')}.{r.horizon}d"] = r.r2_candidate
    overall = ev.levels[ev.levels.by == "all"]
    for r in overall.itertuples():
        out[f"level.mean_forecast.{r.horizon}d"] = r.mean_forecast
        out[f"level.mean_realized.{r.horizon}d"] = r.mean_realized
    return {k: float(v) for k, v in out.items() if v is not None and np.isfinite(v)}
