"""``regime leadlag``, ``regime now``, ``regime report``: testing the thesis.

Parse, call the computations in :mod:`training.thesis.leadlag`, :mod:`training.thesis.now` and
:mod:`training.thesis.report`, print. Heavy imports stay inside the commands.
"""

from __future__ import annotations

import dataclasses

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from training.cli.common import (
    DEFAULT_MODEL_URI,
    OUTPUTS,
    DataDirOpt,
    FollowSourceOpt,
    ModelDataDirOpt,
    ModelSourceOpt,
    ModelUriOpt,
)

if TYPE_CHECKING:
    import pandas as pd

    from features.design import Design
    from training.thesis.leadlag import LeadLagResult
    from training.thesis.now import NowState

TrackingOpt = Annotated[Optional[str], typer.Option("--tracking-uri", help="MLflow tracking URI.")]
MaxLagOpt = Annotated[int, typer.Option("--max-lag", help="Largest lag in business days (0..max-lag are scanned).")]
HorizonOpt = Annotated[int, typer.Option("--horizon", "-H", help="BTC forward horizon in business days.")]
ShiftsOpt = Annotated[int, typer.Option("--shifts", help="Circular shifts for the lag-scan p-value (0 = skip).")]
AsOfOpt = Annotated[Optional[str], typer.Option("--as-of", help="Report as of this date (YYYY-MM-DD): the data are cut there before any check (default: the latest date on which every series the model needs is current).")]


def _metals(metal: str) -> list[str]:
    from features.errors import ConfigError
    from training.thesis.leadlag import METALS

    if metal == "both":
        return list(METALS)
    if metal not in METALS:
        raise ConfigError(f"`--metal` must be silver, gold or both. Got '{metal}'.")
    return [metal]


def _check_scan(max_lag: int, horizon: int, window: int, shifts: int) -> None:
    from features.errors import ConfigError

    if not 0 <= max_lag <= 252:
        raise ConfigError(f"`--max-lag` must be between 0 and 252 business days. Got {max_lag}.")
    if not 1 <= horizon <= 252:
        raise ConfigError(f"`--horizon` must be between 1 and 252 business days. Got {horizon}.")
    if not 1 <= window <= 252:
        raise ConfigError(f"`--window` must be between 1 and 252 business days. Got {window}.")
    if shifts < 0:
        raise ConfigError(f"`--shifts` must be >= 0. Got {shifts}.")


def _model_design(pipeline: Any, panel: "pd.DataFrame") -> "Design":
    """A loaded model's design of a raw panel (the series it was trained on)."""
    return pipeline.make_design(panel[[c for c in pipeline.input_series_ if c in panel]])


def _model_regimes(pipeline: Any, design: "Design") -> "pd.Series":
    """The model's filtered regime label on every date of ``design`` (NaN in the warm-up)."""
    return pipeline.predict_design(design)["regime"].reindex(design.index)


def _leadlag_regimes(panel: "pd.DataFrame", design: "Design", source: str, model_uri: str,
                     tracking_uri: str | None, fit_hmm: bool) -> tuple["pd.Series", str]:
    """Filtered regimes from the registered model (if trained on ``source``), else a fresh HMM."""
    from features.errors import ModelError
    from training.cli.common import load_model, registered_info
    from training.thesis.leadlag import fit_regimes

    if not fit_hmm and registered_info(model_uri, tracking_uri) is not None:
        try:
            _, pipeline, info = load_model(model_uri, tracking_uri)
        except ModelError:
            pipeline, info = None, {}
        trained_on = info.get("config", {}).get("data", {}).get("source")
        if pipeline is not None and pipeline.regime_ is not None and trained_on == source:
            regimes = _model_regimes(pipeline, _model_design(pipeline, panel)).reindex(design.index)
            return regimes, f"the filtered regimes of {model_uri} (run {info.get('run_id')})"
    return fit_regimes(design), "the filtered regimes of a RegimeHMM with the default settings fitted on this data's regime observations"


def _num(value: float, fmt: str) -> str:
    """``value`` formatted, or an en dash when it is missing."""
    return "–" if value != value else format(value, fmt)


def _print_leadlag(results: dict[str, "LeadLagResult"], regime_source: str, written: list[Path]) -> None:
    from rich.console import Console
    from rich.table import Table

    from training.thesis.leadlag import verdict

    console = Console()
    console.print(f"Regimes: {regime_source}")
    for metal, res in results.items():
        t = Table(title=f"{metal}: {res.window}-day return lagged L days vs BTC {res.horizon}-day forward return "
                        f"(best lag per group; HAC t, nominal p and lag-scan p)")
        for col in ("group", "lag", "beta", "corr", "t", "p", "p scan", "n"):
            t.add_column(col, justify="left" if col == "group" else "right")
        for group, r in res.best.iterrows():
            t.add_row(str(group), f"{int(r.lag)}", f"{r.beta:+.3f}", _num(r["corr"], "+.3f"), f"{r.t:+.2f}",
                      f"{r.p:.2g}", _num(r.p_scan, ".3f"), f"{int(r.n)}")
        console.print(t)
        console.print("[dim]A regime's row fits the slope on that regime's days; 'debasement minus fear' is the "
                      "difference of the two phases' slopes (does the lead pay off more in phase two?), not a regime.[/dim]")
        at = res.regressions[res.regressions.lag.isin(sorted({0, 5, 10, 21, 42, 63, 126} & set(res.regressions.lag)))]
        wide = at.pivot(index="lag", columns="group", values="t")
        t = Table(title=f"{metal}: HAC t-statistic at selected lags")
        t.add_column("lag", justify="right")
        for g in wide.columns:
            t.add_column(str(g), justify="right")
        for lag, row in wide.iterrows():
            t.add_row(str(lag), *[_num(v, "+.2f") for v in row])
        console.print(t)
        t = Table(title=f"{metal}: Granger-style F-tests on weekly returns (metal lags added to an AR model of BTC)")
        for col in ("group", "weeks", "F", "p", "p robust", "sum of coefs", "n"):
            t.add_column(col, justify="left" if col == "group" else "right")
        for r in res.granger.itertuples():
            t.add_row(r.group, str(r.weeks), _num(r.F, ".2f"), _num(r.p, ".3f"), _num(r.p_robust, ".3f"),
                      _num(r.sum_coef, "+.3f"), str(r.n))
        console.print(t)
        t = Table(title=f"{metal}: BTC after 52-week-high breakouts, excess log return over BTC's average path")
        for col in ("group", "day", "events", "mean excess", f"{res.events.level:.0%} band", "t", "p"):
            t.add_column(col, justify="left" if col == "group" else "right")
        for r in res.events.summary.itertuples():
            band = "–" if r.lo != r.lo else f"[{r.lo:+.3f}, {r.hi:+.3f}]"
            t.add_row(r.group, str(r.day), str(r.events), _num(r.mean_excess, "+.3f"), band, _num(r.t, "+.2f"),
                      _num(r.p, ".3f"))
        console.print(t)
        console.print(verdict(res))
    console.print("Wrote " + ", ".join(str(p) for p in written))


def leadlag(
    source: FollowSourceOpt = None,
    data_dir: DataDirOpt = None,
    metal: Annotated[str, typer.Option("--metal", help="silver, gold or both.")] = "both",
    max_lag: MaxLagOpt = 126,
    horizon: HorizonOpt = 21,
    window: Annotated[int, typer.Option("--window", help="Trailing window of the metal's return (business days).")] = 63,
    shifts: ShiftsOpt = 100,
    fit_hmm: Annotated[bool, typer.Option("--fit-hmm", help="Fit a fresh HMM for the regime split even if a registered model exists.")] = False,
    model_uri: ModelUriOpt = DEFAULT_MODEL_URI,
    tracking_uri: TrackingOpt = None,
    output_dir: Annotated[Path, typer.Option("--output-dir", help="Where the PNG plots and CSV tables go.")] = OUTPUTS / "leadlag",
) -> None:
    """Does metal strength lead BTC? Lag scan, Granger tests and a breakout event study, overall and by regime.

    Regresses BTC's forward --horizon return on the metal's --window return lagged 0..--max-lag business days
    (Newey-West errors), with a family-wise p-value for the best lag. Regimes come from the registered model
    when it was trained on the same source, else from a fresh HMM. Reads the champion's data unless
    --source/--data-dir say otherwise (the synthetic demo when no model is registered).
    Example: `regime leadlag --source csv --data-dir ../shared/data`.
    """
    from features.config import DataConfig, FeatureConfig
    from features.design import build_design
    from features.sources import load_panel
    from training.cli.common import followed_data
    from training.display.data_line import data_line
    from training.thesis.leadlag import analyze_metals
    from training.thesis.report import event_figure, leadlag_figure

    _check_scan(max_lag, horizon, window, shifts)
    metals = _metals(metal)
    overrides, note = followed_data(source, data_dir, model_uri=model_uri, tracking_uri=tracking_uri)
    cfg = DataConfig(**overrides)
    panel = load_panel(cfg)
    typer.echo(data_line(cfg, panel.index, note))
    design = build_design(panel, FeatureConfig(), (horizon,), min_rows=2 * (max_lag + horizon) + 504)
    regimes, regime_source = _leadlag_regimes(panel, design, cfg.source, model_uri, tracking_uri, fit_hmm)
    start = design.index[design.first_complete()]
    results = analyze_metals(design.aligned, metals, regimes, max_lag=max_lag, horizon=horizon, window=window,
                             n_shifts=shifts, start=start)
    output_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for m, res in results.items():
        for name, fig in (("leadlag", leadlag_figure(res)), ("events", event_figure(res))):
            fig.savefig(output_dir / f"{name}_{m}.png", dpi=110)
            written.append(output_dir / f"{name}_{m}.png")
        for name, table in (("regressions", res.regressions), ("granger", res.granger), ("events", res.events.summary)):
            table.to_csv(output_dir / f"{name}_{m}.csv", index=False)
            written.append(output_dir / f"{name}_{m}.csv")
    _print_leadlag(results, regime_source, written)


def _state(pipeline: Any, info: dict[str, Any], design: "Design",
           oos: "pd.Series | None" = None, reuse: bool = False) -> tuple[Any, "NowState"]:
    """SHAP explanation (all dates: drivers are ranked against their history), current state and its skill.

    ``oos``: the run's walk-forward labels when the caller has read them already (read here otherwise).
    ``reuse``: take the SHAP values the training run logged when they explain the same feature rows
    (:func:`training.thesis.report_cache.logged_explanation`).
    """
    from models.explain import explain_pipeline
    from training.thesis.report_cache import logged_explanation
    from training.display.skill import skill_line, skill_note
    from training.thesis.now import current_state, load_oos_errors
    from training.tracking.runs import read_run_figures

    horizon = 21 if 21 in pipeline.forecasters_ else tuple(pipeline.forecasters_)[0]
    expl = logged_explanation(info["run_id"], pipeline, design, horizon) if reuse else None
    if expl is None:
        expl = explain_pipeline(pipeline, design, horizon)
    # Models with their own forecast distribution need no past errors (older ones fall back to them).
    errors = None if getattr(pipeline, "distribution_", None) is not None else load_oos_errors(info["run_id"])
    state = current_state(pipeline, design, expl, errors)
    figures, sealed = read_run_figures(info["run_id"])
    return expl, dataclasses.replace(state, sequence=_sequence(info["run_id"], design, oos),
                                             skill=skill_line(figures, tuple(pipeline.horizons), sealed),
                                             headline_skill=skill_note(figures, horizon))


def _sequence(run_id: str, design: "Design", oos: "pd.Series | None" = None) -> Any:
    """The thesis's sequence on the run's walk-forward labels ``oos`` (read when not given; None when it logged none)."""
    from training.thesis.now import load_oos_regimes
    from training.thesis.sequence import sequence_evidence

    oos = load_oos_regimes(run_id) if oos is None else oos
    return None if oos is None else sequence_evidence(oos, design.aligned["btc_usd"])


def _print_now(state: "NowState", model_uri: str) -> None:
    import numpy as np
    from rich.console import Console
    from rich.table import Table

    from models.explain import describe_feature
    from models.units import format_pct as pct
    from training.thesis.now import spell_text

    console = Console()
    probs = ", ".join(f"{k} {v:.0%}" for k, v in state.proba.items())
    console.print(f"[bold]{state.date:%Y-%m-%d}[/bold]: regime [bold]{state.regime}[/bold] ({probs}), "
                  f"{spell_text(state)}. Model {model_uri}.")
    earned = ", ".join(f"{r.label} = {st}" + (f" (match {r.match:+.2f} sd)" if np.isfinite(r.match) else "")
                       for st, r in state.names.iterrows())
    console.print(f"Names earned from the thesis's defining moves: {earned}." + "".join(f" {n}." for n in state.naming_notes))
    console.print(f"Now: {state.story}.")
    if state.sequence is not None:
        from training.thesis.sequence import sequence_table, sequence_verdict

        t = Table(title="The thesis's sequence: after a fear spell, debasement within h days? (walk-forward "
                        "labels, spells not days; others: the other regimes' spells; BTC: its return over h days)")
        table = sequence_table(state.sequence)
        for col in table.columns:
            t.add_column(col, justify="right")
        for row in table.itertuples(index=False):
            t.add_row(*map(str, row))
        console.print(t)
        console.print(sequence_verdict(state.sequence).capitalize() + ".")
    lo, hi = state.band
    if state.band_source == "forecast distribution":
        t = Table(title=f"Forecast of BTC's price change, % ({lo:.0%}-{hi:.0%} band of the forecast distribution, "
                        "scaled by current volatility)")
        for col in ("horizon", "forecast", "median", f"{hi - lo:.0%} band", "P(up)"):
            t.add_column(col, justify="right")
        for h, r in state.forecasts.iterrows():
            t.add_row(f"{h}d", pct(r.forecast), pct(r["median"]), f"{pct(r.lo)} to {pct(r.hi)}", f"{r.p_up:.0%}")
    else:
        t = Table(title=f"Forecast of BTC's price change, % (band: {lo:.0%}-{hi:.0%} quantiles of walk-forward errors)")
        for col in ("horizon", "forecast", "band", "errors behind the band"):
            t.add_column(col, justify="right")
        for h, r in state.forecasts.iterrows():
            t.add_row(f"{h}d", pct(r.forecast), f"{pct(r.lo)} to {pct(r.hi)}", str(int(r.n_oos)))
    console.print(t)
    if state.skill:
        console.print(state.skill, markup=False, highlight=False, soft_wrap=True)
    if len(state.outlook):
        t = Table(title="Regime outlook: P(regime in h business days), from the regime model's transition matrix")
        t.add_column("horizon", justify="right")
        for name in state.outlook.columns:
            t.add_column(name, justify="right")
        for h, r in state.outlook.iterrows():
            t.add_row(f"{h}d", *(f"{v:.0%}" for v in r))
        console.print(t)
        if np.isfinite(state.spell_left):
            console.print(f"The {state.regime} regime is expected to last about {state.spell_left:.0f} more business "
                          "days (mean of the transition matrix's remaining time in it).")
    t = Table(title="Top drivers (SHAP; pts of simple return, adding up to the forecast minus the baseline)")
    for col in ("driver", "value", "percentile", "contribution (pts)"):
        t.add_column(col, justify="left" if col == "driver" else "right")
    for r in state.drivers.itertuples():
        t.add_row(describe_feature(r.feature), f"{r.value:.4g}", f"{r.percentile:.0f}", f"{r.contribution_pts:+.2f}")
    console.print(t)
    console.print(state.narrative)
    t = Table(title="What would flip the regime: smallest single-observation moves today")
    for col in ("to", "HMM observation", "move (sd)", "change", "new p"):
        t.add_column(col, justify="right" if col in ("move (sd)", "new p") else "left")
    for r in state.flips.groupby("to_regime", sort=False).head(2).itertuples():
        t.add_row(r.to_regime, r.observation, f"{r.move_sd:+.2f}", r.change, f"{r.new_proba:.0%}")
    console.print(t if len(state.flips) else "No single observation move within ±6 sd would flip the regime today.")


def _model_state_data(info: dict[str, Any], pipeline: Any, source: str | None, data_dir: Path | None,
                      model_uri: str, tracking_uri: str | None, as_of: str | None) -> tuple["pd.DataFrame", Any, str]:
    """The panel, data config and note of ``now``/``report``, printing the data line; cut at ``as_of``."""
    from training.cli.common import data_for

    return data_for(info, source, data_dir, model_uri=model_uri, tracking_uri=tracking_uri, end=as_of,
                    needs=tuple(pipeline.input_series_))


def _warn_if_old(config: Any, date: "pd.Timestamp", as_of: str | None) -> str | None:
    """Print and return a warning when the state's date is well before today (or before ``--as-of``)."""
    import pandas as pd

    from features.dates import parse_date
    from training.display.data_line import stale_warning

    asked = ("the --as-of date", parse_date(as_of, "--as-of")) if as_of else ("today", pd.Timestamp.today())
    warning = stale_warning(config, date, asked[1], of=asked[0])
    if warning:
        typer.secho(f"warning: {warning}", fg="yellow")
    return warning


def _check_as_of(as_of: str | None) -> None:
    """A bad ``--as-of`` is refused before any work."""
    from features.dates import parse_date

    if as_of is not None:
        parse_date(as_of, "--as-of")


def _quiet_mlflow() -> None:
    """No artifact-download progress bars between our tables."""
    import os

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


def now(
    model_uri: ModelUriOpt = DEFAULT_MODEL_URI,
    source: ModelSourceOpt = None,
    data_dir: ModelDataDirOpt = None,
    tracking_uri: TrackingOpt = None,
    as_of: AsOfOpt = None,
) -> None:
    """Today's regime: probabilities, spell length, forecasts with bands, top drivers and what would flip it.

    Uses the latest date of the model's data source (or --source/--data-dir) on which every series the
    model needs is current (series that end early are named in a warning), or --as-of; the bands come
    from the walk-forward out-of-sample errors logged by the model's training run.
    Example: `regime now --as-of 2024-08-30`.
    """
    from training.cli.common import load_model

    _check_as_of(as_of)
    _quiet_mlflow()
    _, pipeline, info = load_model(model_uri, tracking_uri)
    panel, config, _ = _model_state_data(info, pipeline, source, data_dir, model_uri, tracking_uri, as_of)
    _, state = _state(pipeline, info, _model_design(pipeline, panel), reuse=True)
    _warn_if_old(config, state.date, as_of)
    _print_now(state, model_uri)


def report(
    output: Annotated[Path, typer.Option("--output", "-o", help="HTML file to write.")] = OUTPUTS / "report.html",
    model_uri: ModelUriOpt = DEFAULT_MODEL_URI,
    source: ModelSourceOpt = None,
    data_dir: ModelDataDirOpt = None,
    max_lag: MaxLagOpt = 126,
    horizon: HorizonOpt = 21,
    shifts: ShiftsOpt = 100,
    no_log: Annotated[bool, typer.Option("--no-log", help="Do not attach the report to the model's MLflow run.")] = False,
    tracking_uri: TrackingOpt = None,
    as_of: AsOfOpt = None,
) -> None:
    """Write a self-contained HTML report (current state, regime timeline, lead-lag evidence, walk-forward, SHAP).

    The current state is that of the latest date on which every series the model needs is current, or of
    --as-of. Images are embedded, so the one file can be shared. The report is also logged to the model's
    MLflow run under report/ unless --no-log.
    """
    import datetime as dt
    from concurrent.futures import ThreadPoolExecutor

    from features.errors import ModelError
    from training.cli.common import check_output_file, data_for, load_model
    from training.display.data_line import describe_source, stale_warning
    from training.thesis.report_cache import (
        FAN_ARTIFACT,
        TIMELINE_ARTIFACT,
        fan_key,
        logged_figure,
        shap_summary_artifact,
        shap_summary_key,
        timeline_key,
    )
    from training.thesis.leadlag_store import ScanSettings, logged_scan, run_scan, scan_key
    from training.thesis.now import load_oos_regimes
    from training.thesis.report import ReportData, log_report, model_label, write_report
    from training.tracking.runs import read_run_csv

    _check_scan(max_lag, horizon, 63, shifts)
    _check_as_of(as_of)
    check_output_file(output, example="report.html")
    _quiet_mlflow()
    _, pipeline, info = load_model(model_uri, tracking_uri)
    panel, config, note = _model_state_data(info, pipeline, source, data_dir, model_uri, tracking_uri, as_of)
    design = _model_design(pipeline, panel)
    regimes = _model_regimes(pipeline, design)
    start = design.index[design.first_complete()]
    settings = ScanSettings(max_lag=max_lag, horizon=horizon, n_shifts=shifts)
    # The training run's scan when it was computed from the same settings, dates, prices and regimes.
    logged = logged_scan(info["run_id"], scan_key(design.aligned, regimes, start, settings))
    leadlag_results, leadlag_note = logged.results, logged.note
    typer.echo(leadlag_note[0].upper() + leadlag_note[1:])
    if leadlag_results is None:
        pool = ThreadPoolExecutor(max_workers=1)  # the lag scans run while the rest of the report is drawn
        leadlag_results = pool.submit(run_scan, design.aligned, regimes, start, settings)
        pool.shutdown(wait=False)
    oos_regimes = load_oos_regimes(info["run_id"])  # read once: the sequence and the timeline show them
    expl, state = _state(pipeline, info, design, oos_regimes, reuse=True)
    stale = _warn_if_old(config, state.date, as_of)
    def optional_csv(name: str) -> "pd.DataFrame | None":
        try:
            return read_run_csv(info["run_id"], name)
        except ModelError:  # runs logged before the table existed
            return None

    dm = optional_csv("evaluation/diebold_mariano.csv")
    data = ReportData(
        model_label=model_label(model_uri), run_id=str(info["run_id"]), source=describe_source(config),
        data_note=note, stale=stale, oos_regimes=oos_regimes,
        data_range=(f"{start:%Y-%m-%d}", f"{design.index[-1]:%Y-%m-%d}"),
        trained_range=tuple(str(d) for d in info.get("data_range", ("?", "?"))), now=state, leadlag=leadlag_results,
        regime_source=f"the filtered regimes of {model_uri}", leadlag_note=leadlag_note, leadlag_figures=logged.figures, aligned=design.aligned, regimes=regimes,
        scores=read_run_csv(info["run_id"], "evaluation/walk_forward_scores.csv"), dm=dm, expl=expl,
        generated=dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        distribution=optional_csv("evaluation/distribution/distribution.csv"),
        regime_forecast=optional_csv("evaluation/distribution/regime.csv"),
        shap_png=logged_figure(info["run_id"], shap_summary_artifact(expl.horizon), shap_summary_key(expl)),
        timeline_png=None if oos_regimes is None or oos_regimes.dropna().empty else
        logged_figure(info["run_id"], TIMELINE_ARTIFACT, timeline_key(design.aligned, oos_regimes)),
        fan_png=logged_figure(info["run_id"], FAN_ARTIFACT, fan_key(design.aligned["btc_usd"], state.date, state.fan))
        if state.fan else None,
    )
    path = write_report(data, output)
    typer.echo(f"Wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    if not no_log:
        typer.echo(f"Logged to run {info['run_id']} as {log_report(path, info['run_id'])}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root ``app``."""
    app.command("leadlag")(leadlag)
    app.command("now")(now)
    app.command("report")(report)
