"""``regime explain``: SHAP drivers of a registered model's forecasts, printed and plotted."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from rich.table import Table

from features.dates import parse_date
from features.errors import DataError
from models.explain import explain_pipeline, global_importance, narrative, top_drivers
from models.pipeline import RegimeForecastPipeline
from training.display import plots
from training.display.console import console


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
) -> dict[str, Path]:
    """Explain forecasts for one date (or the latest), print drivers and a narrative, write plots and CSV/JSON."""
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
        t.add_row(r.feature, r.family, f"{r.value:.4g}", f"{r.percentile:.0f}", f"{r.contribution * 100:+.2f}")
    console.print(t)
    fam = expl.by_family().loc[when].sort_values(key=abs, ascending=False)
    console.print("By driver family (pts): " + ", ".join(f"{k} {v * 100:+.2f}" for k, v in fam.items()))
    text = narrative(expl, when, regime)
    console.print(text)

    stem = f"{when:%Y-%m-%d}_{horizon}d"
    written["waterfall"] = plots.waterfall(expl, when, output_dir / f"waterfall_{stem}.png", top)
    written["summary"] = plots.shap_summary(expl, output_dir / f"shap_summary_{horizon}d.png")
    rng = expl.values
    if start or end:
        rng = rng.loc[parse_date(start, "--start") if start else None : parse_date(end, "--end") if end else None]
    rng.to_csv(output_dir / f"contributions_{horizon}d.csv")
    written["contributions"] = output_dir / f"contributions_{horizon}d.csv"
    payload = {
        "date": f"{when:%Y-%m-%d}", "horizon": horizon, "regime": regime, "forecast": float(expl.forecast.loc[when]),
        "base_value": expl.base_value, "narrative": text, "drivers": drivers.to_dict(orient="records"),
        "families": {k: float(v) for k, v in fam.items()},
    }
    (output_dir / f"explain_{stem}.json").write_text(json.dumps(payload, indent=2), encoding="utf-8")
    written["json"] = output_dir / f"explain_{stem}.json"
    global_importance(expl).to_csv(output_dir / f"importance_{horizon}d.csv", index=False)

    if by_regime and regimes is not None:
        fam_all = expl.by_family().abs()
        fam_all["regime"] = regimes.reindex(fam_all.index)
        contrast = fam_all.groupby("regime").mean().T * 100
        t = Table(title=f"Mean |SHAP| by driver family and filtered regime ({horizon}-day forecast, pts)")
        t.add_column("family")
        for c in contrast.columns:
            t.add_column(str(c), justify="right")
        for fam_name, row in contrast.sort_values(contrast.columns[0], ascending=False).iterrows():
            t.add_row(str(fam_name), *[f"{v:.2f}" for v in row])
        console.print(t)
        contrast.to_csv(output_dir / f"families_by_regime_{horizon}d.csv")
        written["by_regime"] = output_dir / f"families_by_regime_{horizon}d.csv"
    console.print(f"Wrote {', '.join(str(p) for p in written.values())}")
    return written
