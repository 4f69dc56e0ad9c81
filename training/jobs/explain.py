"""``regime explain``: SHAP drivers of a registered model's forecasts, printed and plotted."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from rich.table import Table

from features.dates import parse_date
from features.errors import DataError
from models.explain import (
    explain_pipeline,
    families_by_regime,
    global_importance,
    narrative,
    regime_readings,
    top_drivers,
)
from models.units import simple_pct
from models.pipeline import RegimeForecastPipeline
from training.display import plots
from training.display.console import console
from training.display.skill import skill_note


def explained_date(dates: pd.DatetimeIndex, date: str | None) -> tuple[pd.Timestamp, str | None]:
    """The date ``regime explain --date`` explains, and a note when it is not the one asked for.

    Forecasts exist on business days with complete features; any other date is replaced by
    the latest forecast date on or before it, and the note says which and why.

    Raises
    ------
    ConfigError
        ``date`` is not a date.
    DataError
        No forecast on or before ``date``.
    """
    if date is None:
        return dates[-1], None
    asked = parse_date(date, "--date")
    available = dates[dates <= asked]
    if available.empty:
        raise DataError(f"no forecast on or before {asked:%Y-%m-%d}; the data start at {dates[0]:%Y-%m-%d}")
    when = available[-1]
    if when == asked:
        return when, None
    if asked > dates[-1]:
        return when, f"note: the data end on {when:%Y-%m-%d}: explaining {when:%Y-%m-%d}, the latest date, instead of {asked:%Y-%m-%d}"
    if asked.day_of_week >= 5:
        return when, f"note: {asked:%Y-%m-%d} is a {asked:%A}, not a business day: explaining the business day before it, {when:%Y-%m-%d}"
    return when, f"note: {asked:%Y-%m-%d} has no forecast (no complete feature row): explaining the forecast date before it, {when:%Y-%m-%d}"


def run_explain(
    pipeline: RegimeForecastPipeline,
    panel: pd.DataFrame,
    date: str | None = None,
    start: str | None = None,
    end: str | None = None,
    horizon: int | None = None,
    top: int = 8,
    by_regime: bool = False,
    output_dir: Path = Path("outputs/explain"),
    figures: dict[str, float] | None = None,
) -> dict[str, Path]:
    """Explain forecasts for one date (or the latest), print drivers and a narrative, write plots and CSV/JSON.

    Everything printed is in simple percent (contributions in simple-% points,
    :meth:`models.explain.Explanation.points`), and the horizon's measured skill
    (:func:`training.display.skill.skill_note` of the training run's ``figures``) under the narrative. The CSV keeps
    log-return contributions (its name says so); the JSON carries both, named by unit.
    """
    design = pipeline.make_design(panel[[c for c in pipeline.input_series_ if c in panel]])
    horizon = horizon if horizon is not None else (21 if 21 in pipeline.forecasters_ else tuple(pipeline.forecasters_)[0])
    expl = explain_pipeline(pipeline, design, horizon)
    regimes = pipeline.predict_design(design).get("regime")
    when, note = explained_date(expl.values.index, date)
    if note:
        console.print(note, style="yellow", markup=False, highlight=False, soft_wrap=True)
    regime = str(regimes.loc[when]) if regimes is not None else None
    output_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}

    drivers = top_drivers(expl, when, top)
    t = Table(title=f"Top drivers of the {horizon}-day forecast on {when:%Y-%m-%d}")
    for c in ("feature", "family", "value", "percentile", "contribution (pts)"):
        t.add_column(c, justify="left" if c in ("feature", "family") else "right")
    for r in drivers.itertuples():
        t.add_row(r.feature, r.family, f"{r.value:.4g}", f"{r.percentile:.0f}", f"{r.contribution_pts:+.2f}")
    console.print(t)
    fam = expl.by_family(points=True).loc[when].sort_values(key=abs, ascending=False)
    console.print("By driver family (pts): " + ", ".join(f"{k} {v:+.2f}" for k, v in fam.items()))
    text = narrative(expl, when, regime)
    console.print(text)
    console.print("pts: points of simple return; they add up to the forecast minus the baseline.")
    skill = skill_note(figures or {}, horizon)
    console.print(skill, markup=False, highlight=False, soft_wrap=True)

    stem = f"{when:%Y-%m-%d}_{horizon}d"
    written["waterfall"] = plots.waterfall(expl, when, output_dir / f"waterfall_{stem}.png", top)
    written["summary"] = plots.shap_summary(expl, output_dir / f"shap_summary_{horizon}d.png")
    rng = expl.values
    if start or end:
        rng = rng.loc[parse_date(start, "--start") if start else None : parse_date(end, "--end") if end else None]
    rng.to_csv(output_dir / f"contributions_log_{horizon}d.csv")
    written["contributions"] = output_dir / f"contributions_log_{horizon}d.csv"
    forecast = float(expl.forecast.loc[when])
    payload = {
        "date": f"{when:%Y-%m-%d}", "horizon": horizon, "regime": regime, "forecast_log_return": forecast,
        "forecast_pct": simple_pct(forecast), "base_value_log_return": expl.base_value,
        "base_value_pct": simple_pct(expl.base_value), "narrative": text, "skill": skill,
        "drivers": drivers.rename(columns={"contribution": "contribution_log_return"}).to_dict(orient="records"),
        "families_pts": {k: float(v) for k, v in fam.items()},
    }
    (output_dir / f"explain_{stem}.json").write_text(json.dumps(payload, indent=2), encoding="utf-8")
    written["json"] = output_dir / f"explain_{stem}.json"
    global_importance(expl).to_csv(output_dir / f"importance_{horizon}d.csv", index=False)

    if by_regime and regimes is not None:
        contrast = families_by_regime(expl, regimes)
        t = Table(title=f"Mean signed contribution by driver family on each filtered regime's days "
                        f"({horizon}-day forecast, simple-% pts)")
        t.add_column("family")
        for c in contrast.columns:
            t.add_column(str(c), justify="right")
        body = contrast.drop("days")
        for fam_name, row in body.reindex(body.abs().max(axis=1).sort_values(ascending=False).index).iterrows():
            t.add_row(str(fam_name), *[f"{v:+.2f}" for v in row])
        t.add_row("days", *[f"{v:.0f}" for v in contrast.loc["days"]], style="dim")
        console.print(t)
        for line in regime_readings(contrast, horizon):
            console.print(f"  {line[0].upper()}{line[1:]}.")
        contrast.to_csv(output_dir / f"families_by_regime_{horizon}d.csv")
        written["by_regime"] = output_dir / f"families_by_regime_{horizon}d.csv"
    console.print(f"Wrote {', '.join(str(p) for p in written.values())}")
    return written
