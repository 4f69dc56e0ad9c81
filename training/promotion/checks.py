"""Checks that keep a broken model from becoming champion, whatever its scores.

Each check returns a sentence naming the figure that failed; any sentence blocks promotion
(the version is still registered, as ``challenger``, with the reasons on it).
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from features.design import Design
from models.pipeline import RegimeForecastPipeline
from regime.diagnostics import degeneracy_reasons
from training.evaluation.skill import pooled_skill, scored_dates, skill_by_horizon
from training.promotion.origin import TuningOrigin

#: Forecasts whose within-fold standard deviation is below this share of the realised returns'
#: are "nearly constant" (the default model on the real data: 8% / 13% / 19% at 5 / 21 / 63 days).
MIN_FORECAST_SPREAD = 0.01


def forecast_spread(predictions: Mapping[int, pd.DataFrame]) -> dict[int, float]:
    """Within-fold standard deviation of the model's forecasts over that of the realised returns, per horizon.

    A forecast that moves only between refits (one value per fold) has no timing at all:
    its spread is 0.

    Parameters
    ----------
    predictions : dict of int -> pd.DataFrame
        Walk-forward predictions (``realized``, ``model``, ``fold`` columns).

    Returns
    -------
    dict of int -> float
        On the test rows with a realised return.
    """
    out = {}
    for h, frame in predictions.items():
        scored = frame.dropna(subset=["realized", "model"])
        within = scored["model"] - scored.groupby("fold")["model"].transform("mean")
        spread = float(scored["realized"].std())
        out[h] = float(within.std()) / spread if spread > 0 else float("nan")
    return out


def blocking_reasons(
    final: RegimeForecastPipeline,
    design: Design,
    predictions: Mapping[int, pd.DataFrame],
    sealed_start: pd.Timestamp | None,
    judged_from: pd.Timestamp,
    tuned: TuningOrigin | None = None,
) -> list[str]:
    """Why the candidate may not become champion (empty: it may).

    Parameters
    ----------
    final : RegimeForecastPipeline
        The final model (fitted on all the data).
    design : Design
        Its design.
    predictions : dict of int -> pd.DataFrame
        The walk-forward predictions.
    sealed_start : pd.Timestamp or None
        First date of the sealed segment.
    judged_from : pd.Timestamp
        First date the gate judges the candidate on: the sealed start, or the first
        walk-forward test date without a sealed segment.
    tuned : TuningOrigin, optional
        The study its settings come from.

    Returns
    -------
    list of str
        One sentence per failed check: a degenerate regime model, nearly constant
        forecasts, a sealed-segment skill below the zero forecast's, settings tuned on data
        the gate judges on.
    """
    reasons = []
    if final.regime_ is not None:
        # Per state, not per name: a name no state has (p = 0) is a finding of the naming, not degeneracy.
        degenerate = degeneracy_reasons(final.regime_state_proba(design))
        if degenerate:
            reasons.append("degenerate regime model: " + "; ".join(degenerate))
    flat = {h: s for h, s in forecast_spread(predictions).items() if not s >= MIN_FORECAST_SPREAD}
    if flat:
        figures = ", ".join(f"{h}d {s:.2%}" for h, s in flat.items())
        reasons.append(f"nearly constant forecasts: within-fold spread {figures} of the realised returns' "
                       f"standard deviation (< {MIN_FORECAST_SPREAD:.0%})")
    if sealed_start is not None:
        dates = scored_dates(predictions, start=sealed_start)
        skill = pooled_skill(predictions, "model", dates)
        if not skill >= 0:
            per = " / ".join(f"{v:+.3f}" for v in skill_by_horizon(predictions, "model", dates).values())
            reasons.append(f"worse than the zero forecast on the sealed segment from {sealed_start.date()}: "
                           f"skill {skill:+.3f} (R² vs zero {per} at {'/'.join(map(str, predictions))} days)")
    if tuned is not None and pd.Timestamp(tuned.seen_to) >= judged_from:
        reasons.append(f"tuned on the data it is judged on: study '{tuned.study}' saw data to {tuned.seen_to}, "
                       f"the gate judges from {judged_from.date()}")
    return reasons

