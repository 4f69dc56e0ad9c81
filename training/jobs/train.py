"""The training job: data -> walk-forward evaluation -> final fit -> MLflow run -> registry.

Side effects live here (and in the CLI), not in the estimators. A job that fails at any
point leaves its MLflow run FAILED (KILLED on Ctrl-C) and the registry's champion alias
untouched: the alias moves only after the new version is registered and has passed the
champion gate, and reading the champion, the gate and the alias happen under the store's
promotion lock (:mod:`training.promotion.lock`).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from features.builder import feature_family
from features.config import DataConfig
from features.demo import generate_demo_market
from features.sources import load_panel
from models.explain import explain_pipeline, families_by_regime, global_importance
from models.pipeline import RegimeForecastPipeline
from training.config import Config
from training.display import plots
from training.display.data_line import absolute, describe_source
from training.display.plot_jobs import PlotJobs
from training.display.progress import Reporter
from training.evaluation.outlook import (
    OutlookEvaluation,
    evaluate_outlook,
    outlook_metrics,
)
from training.evaluation.regime_chain import observed, regime_chain
from training.evaluation.regime_history import history_checks
from training.evaluation.regime_quality import RegimeReport, regime_report
from training.evaluation.scores import diebold_mariano_table, fold_scores, score_table
from training.evaluation.sealed import sealed_start
from training.evaluation.skill import scored_dates, segment_scores
from training.evaluation.strategy import strategy_table
from training.evaluation.walk_forward import WalkForwardResult, run_walk_forward
from training.promotion.champion import read_champion
from training.promotion.checks import blocking_reasons, forecast_spread
from training.promotion.gate import Candidate, GateDecision, decide_promotion
from training.promotion.lock import PromotionLock, choose_lock, promotion_lock
from training.promotion.origin import TuningOrigin
from training.settings_fit import check_settings_fit
from training.thesis.report_cache import (
    CACHE_KEYS,
    FAN_ARTIFACT,
    fan_key,
    shap_summary_artifact,
    shap_summary_key,
    write_explanation,
)
from training.tracking.fingerprint import (
    coverage,
    panel_fingerprint,
    recipe_fingerprint,
)
from training.tracking.lifecycle import tracked_run
from training.tracking.model_io import log_pipeline_model
from training.tracking.registry import (
    delete_version,
    describe_version,
    register_model,
    set_alias,
)
from training.tracking.run_page import (
    FIGURES_ARTIFACT,
    describe_tables,
    headline_metrics,
)
from training.tracking.store import (
    check_training_store,
    configure_tracking,
    ensure_experiment,
)

logger = logging.getLogger(__name__)


@dataclass
class TrainResult:
    """What a training job produced."""

    run_id: str
    scores: pd.DataFrame
    dm: pd.DataFrame
    gate: GateDecision | None
    version: str | None
    n_folds: int
    data_range: tuple[str, str]
    fingerprint: str
    timings: dict[str, float] = field(default_factory=dict)
    strategy: pd.DataFrame = field(default_factory=pd.DataFrame)
    regime_quality: dict[str, float] = field(default_factory=dict)
    regime: RegimeReport | None = None
    regime_comparison: pd.DataFrame | None = None
    fold_scores: pd.DataFrame = field(default_factory=pd.DataFrame)
    first_test: str = ""
    experiment_id: str = ""
    outlook: OutlookEvaluation | None = None
    sealed_window: tuple[str, str] | None = None
    sealed: pd.DataFrame = field(default_factory=pd.DataFrame)
    walk_forward: pd.DataFrame = field(default_factory=pd.DataFrame)
    blocking: list[str] = field(default_factory=list)


@contextmanager
def _timed(timings: dict[str, float], name: str, reporter: Reporter) -> Iterator[None]:
    reporter.stage(name)
    t0 = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - t0


def make_template(cfg: Config) -> RegimeForecastPipeline:
    """An unfitted chain with the config's settings."""
    m = cfg.model
    return RegimeForecastPipeline(
        feature_config=cfg.features,
        horizons=tuple(m.horizons),
        n_states=m.n_states,
        hmm_n_init=m.hmm_n_init,
        regime_engine=m.regime_engine,
        covariance_type=m.covariance_type,
        regime_anchor=m.regime_anchor,
        signatures={k: dict(v) for k, v in m.signatures.items()} or None,
        lgbm_params=dict(m.lgbm_params) or None,
        embargo=m.embargo,
        random_state=m.random_state,
    )


def absolute_data_paths(data: DataConfig) -> dict[str, str]:
    """The data folders and files of ``data`` as absolute paths, so that a model's stored config works from any folder."""
    return {k: str(absolute(v)) for k in ("data_dir", "cache_dir", "sources_file") if (v := getattr(data, k))}


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and v:
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def _metric_dict(scores: pd.DataFrame) -> dict[str, float]:
    out = {}
    for r in scores[scores.regime == "all"].itertuples():
        for m in ("ic", "ic_lo", "ic_hi", "r2_oos", "r2_lo", "r2_hi", "hit_rate", "mae", "ic_nonoverlap", "r2_nonoverlap"):
            v = getattr(r, m)
            if np.isfinite(v):
                out[f"{r.forecaster}.{m}.{r.horizon}d"] = float(v)
    return out


def main_horizon(horizons: tuple[int, ...]) -> int:
    """The horizon explained and plotted by default: 21 days if present, else the first."""
    return 21 if 21 in horizons else horizons[0]


def evaluate(cfg: Config, panel: pd.DataFrame, reporter: Reporter | None = None,
             timings: dict[str, float] | None = None, explain_horizon: int | None = None,
             ) -> tuple[Any, WalkForwardResult, pd.DataFrame, pd.DataFrame]:
    """Design + walk-forward + scores for ``cfg`` on ``panel`` (no MLflow). Returns (design, result, scores, dm)."""
    reporter = reporter or Reporter()
    timings = {} if timings is None else timings
    check_settings_fit(cfg, panel)  # a window or walk-forward longer than the data, named before the work
    template = make_template(cfg)
    ev = cfg.evaluation
    with _timed(timings, "features", reporter):
        design = template.make_design(panel, min_rows=ev.initial_train + max(cfg.model.horizons) + 1)
        sealed_start(design, cfg)  # a sealed segment that does not fit is a config error, before the long part
    with _timed(timings, "walk-forward", reporter):
        result = run_walk_forward(
            design, template, ev.initial_train, ev.step, ev.window, ev.baselines,
            progress=lambda done, total, fold: reporter.fold(done, total), explain_horizon=explain_horizon,
            n_jobs=ev.n_jobs,
        )
    with _timed(timings, "metrics", reporter):
        scores = score_table(result, n_boot=ev.n_bootstrap, by_regime=True, random_state=cfg.model.random_state)
        dm = diebold_mariano_table(result, scores)
    return design, result, scores, dm


def run_training(cfg: Config, reporter: Reporter | None = None, panel: pd.DataFrame | None = None,
                 tuned: TuningOrigin | None = None) -> TrainResult:
    """Run the whole training job for ``cfg``.

    Parameters
    ----------
    cfg : Config
        Every setting; logged with the run.
    reporter : Reporter, optional
        Progress callbacks.
    panel : pd.DataFrame, optional
        Raw panel to use instead of loading ``cfg.data`` (tests, benchmarks).
    tuned : TuningOrigin, optional
        The study ``cfg``'s model and feature settings come from (``--params best``): the
        job refuses other data, and the gate a study that saw the sealed segment.

    Raises
    ------
    ConfigError
        Before any MLflow run, for data other than the study's or a sealed segment that does not fit.
    """
    reporter = reporter or Reporter()
    cfg = cfg.replace(data=absolute_data_paths(cfg.data))
    timings: dict[str, float] = {}
    store = check_training_store(cfg.tracking)  # a store that cannot take the result is refused before the work
    tr = cfg.tracking
    lock = choose_lock(store, tr.lock_url, tr.promote_without_lock) if tr.register else None  # so is a missing lock
    origin = "a panel given by the caller"
    if panel is None:
        with _timed(timings, "load data", reporter):
            panel = load_panel(cfg.data)
        reporter.data(cfg.data, panel)
        origin = describe_source(cfg.data)
    fingerprint = panel_fingerprint(panel)
    if tuned is not None:
        tuned.check_data(fingerprint, cfg.data, panel.index.min().date().isoformat(),
                         panel.index.max().date().isoformat())
    main_h = main_horizon(tuple(cfg.model.horizons))
    design, result, scores, dm = evaluate(cfg, panel, reporter, timings, explain_horizon=main_h)
    template = make_template(cfg)
    with _timed(timings, "distributions", reporter):
        outlook = evaluate_outlook(result, design, template, cfg.evaluation.n_bootstrap, cfg.model.random_state,
                                   sealed_start(design, cfg))

    configure_tracking(cfg.tracking.tracking_uri)
    experiment_id = ensure_experiment(cfg.tracking.experiment)
    first, last = design.index[design.first_complete()], design.index[-1]
    # The run ends FAILED (KILLED on Ctrl-C) on any error; a full disk is one line.
    with tracked_run(experiment_id, run_name=f"train-{cfg.data.source}-{first:%Y-%m-%d}..{last:%Y-%m-%d}",
                     description=f"Trained on {origin}, {first:%Y-%m-%d} → {last:%Y-%m-%d} (complete feature "
                                 f"rows; data fingerprint {fingerprint}).") as run:
        return _tracked_part(cfg, panel, design, result, scores, dm, template, fingerprint, run, reporter, timings,
                             outlook, tuned, lock)


def _regime_checks(cfg: Config, design: Any, result: WalkForwardResult, template: RegimeForecastPipeline,
                   final: RegimeForecastPipeline) -> RegimeReport | None:
    """The run's regime quality: the chain refitted under another seed, agreements, names, degeneracy."""
    if final.regime_ is None:
        return None
    obs = observed(design)
    other_seed = regime_chain(design, template, result.folds, random_state=cfg.model.random_state + 1)
    truth = generate_demo_market(seed=cfg.data.seed).regimes if cfg.data.source == "demo" else None
    report = regime_report(result.regimes["regime"], result.fold_labels, final.regime_, obs,
                           other_seed.final.predict(obs), truth)
    report.metrics.update({f"history.{k}": v for k, v in history_checks(result.regimes["regime"], design.aligned).items()})
    return report


def _write_outlook(ev: OutlookEvaluation, final: RegimeForecastPipeline, design: Any, latest: pd.DataFrame,
                   regimes: pd.Series, out: Path, jobs: PlotJobs) -> dict[str, Any]:
    """Tables and plots (drawn by ``jobs``) of the distributions, the regime forecast and the level; the fan
    chart (returns its key)."""
    from models.pipeline import forecast_name
    from models.quantiles import BAND, GRID, OUTPUT_LEVELS

    folder = out / "distribution"
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("distribution", "calibration", "p_up_reliability", "fold_coverage", "regime", "regime_reliability",
                 "levels", "shrinkage", "level_study", "p_up_by_regime"):
        table = getattr(ev, name)
        if len(table):
            table.to_csv(folder / f"{name}.csv", index=False)
    pd.concat({k: fc.frame.join(fc.quantiles[list(OUTPUT_LEVELS)].rename(columns=lambda lv: f"q{lv * 100:02.0f}"))
               for k, fc in ev.forecasts.items()}, names=["horizon", "date"]).to_csv(folder / "oos_distribution.csv")
    jobs.submit(plots.quantile_calibration, ev.calibration, folder / "quantile_calibration.png")
    jobs.submit(plots.reliability_diagram, ev.p_up_reliability, folder / "p_up_reliability.png",
                "P(BTC up) reliability, walk-forward out of sample", "forecast P(up)")
    if len(ev.regime_reliability):
        jobs.submit(plots.reliability_diagram, ev.regime_reliability, folder / "regime_forecast_reliability.png",
                    "Regime forecast reliability (all regimes pooled), walk-forward out of sample",
                    "forecast P(regime at t+h)")
    h = main_horizon(tuple(final.horizons))
    fc = ev.forecasts[h]
    jobs.submit(plots.oos_bands, fc.frame["realized"], fc.quantiles[BAND[0]], fc.quantiles[BAND[1]], regimes,
                folder / f"oos_bands_{h}d.png", h, fc.base_quantiles[BAND[0]], fc.base_quantiles[BAND[1]])
    date = latest.index[-1]
    btc = design.aligned["btc_usd"]
    fan = {k: final.distribution_.predict_quantiles(latest[forecast_name(k)].iloc[-1:], btc, k, GRID).iloc[0]
           for k in final.horizons}
    jobs.submit(plots.fan_chart, btc, date, fan, out / Path(FAN_ARTIFACT).name)
    return {FAN_ARTIFACT: fan_key(btc, date, fan)}  # the report reuses it for the same date, prices and forecast


def _segments(result: WalkForwardResult, sealed: pd.Timestamp | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Squared-error figures of the model on the whole walk-forward and on the sealed segment."""
    everything = scored_dates(result.predictions)
    sealed_dates = everything[everything >= sealed] if sealed is not None else everything[:0]
    return segment_scores(result.predictions, everything), segment_scores(result.predictions, sealed_dates)


def _segment_metrics(prefix: str, table: pd.DataFrame) -> dict[str, float]:
    out = {}
    for r in table.itertuples():
        for m in ("mse", "mse_zero", "mse_mean", "r2_zero", "r2_mean", "ic"):
            if np.isfinite(getattr(r, m)):
                out[f"{prefix}.model.{m}.{r.horizon}d"] = float(getattr(r, m))
    return out


def _start_leadlag(design: Any, latest: pd.DataFrame, final: RegimeForecastPipeline, jobs: PlotJobs) -> Any:
    """Start the report's lead-lag scan on the final model's filtered regimes in ``jobs``' workers (None without regimes).

    ``regime report`` on the same data reuses what :func:`_finish_leadlag` logs
    (:mod:`training.thesis.leadlag_store`). Each metal's scan and its figures
    (:func:`~training.thesis.leadlag_store.scan_metal`) run in a worker process while this one
    does the regime checks, explanations, plots and logging.
    """
    if final.regime_ is None:
        return None
    from training.thesis.leadlag import METALS
    from training.thesis.leadlag_store import ScanSettings, scan_key, scan_metal

    settings = ScanSettings()
    regimes = latest["regime"].reindex(design.index)  # what the report's model regimes are on this data
    start = design.index[design.first_complete()]
    series = design.aligned[["btc_usd", *(METALS[m] for m in settings.metals)]]  # all the scan reads of the panel
    futures = {m: jobs.run(scan_metal, series, regimes, start, settings, m) for m in settings.metals}
    return futures, scan_key(design.aligned, regimes, start, settings)


def _finish_leadlag(started: Any) -> str:
    """Collect the scan of :func:`_start_leadlag` and log it; returns the run's ``leadlag.logged`` tag."""
    import mlflow

    from features.errors import ConfigError, DataError
    from training.thesis.leadlag_store import ARTIFACT_DIR, write_scan

    if started is None:
        return "no: the model has no regime model"
    futures, key = started
    results, pngs = {}, {}
    try:
        for metal, future in futures.items():
            results[metal], pngs[metal] = future.result()
    except (DataError, ConfigError) as exc:  # e.g. too little history: the report computes it
        return f"no: {str(exc).splitlines()[0]}"[:5000]
    with tempfile.TemporaryDirectory() as tmp:
        write_scan(results, key, Path(tmp), pngs)
        mlflow.log_artifacts(tmp, ARTIFACT_DIR)
    return f"yes: {ARTIFACT_DIR} (max lag {key['settings']['max_lag']}, horizon {key['settings']['horizon']}, " \
           f"{key['settings']['n_shifts']} shifts, {key['start']} → {key['last']})"


def _report_timeline(design: Any, out: Path, jobs: PlotJobs) -> dict[str, Any]:
    """Draw (in ``jobs``) the regime timeline as ``regime report`` shows it (the walk-forward labels read back
    from ``out/oos_predictions.csv``, as the report reads them); returns its key for ``cache_keys.json``."""
    from training.thesis.report_cache import TIMELINE_ARTIFACT, timeline_key
    from training.thesis.now import oos_regimes

    labels = oos_regimes(pd.read_csv(out / "oos_predictions.csv"))
    if labels is None or labels.dropna().empty:
        return {}
    labels = labels.dropna()
    jobs.submit(plots.regime_timeline, design.aligned, labels, out / Path(TIMELINE_ARTIFACT).name)
    return {TIMELINE_ARTIFACT: timeline_key(design.aligned, labels)}


def _tracked_part(cfg, panel, design, result, scores, dm, template, fingerprint, run, reporter, timings,
                  outlook, tuned, lock: PromotionLock | None) -> TrainResult:
    # The run's tables and figures are written to one folder and logged together; the figures
    # (and the report's lead-lag scan) are drawn in worker processes while this one goes on
    # (training.display.plot_jobs).
    with tempfile.TemporaryDirectory() as tmp, PlotJobs(cfg.evaluation.n_jobs) as jobs:
        return _tracked_steps(cfg, panel, design, result, scores, dm, template, fingerprint, run, reporter, timings,
                              outlook, tuned, lock, Path(tmp), jobs)


def _draw_walk_forward(jobs: PlotJobs, result: WalkForwardResult, design: Any, out: Path, main_h: int) -> None:
    """The figures that need only the walk-forward: submitted first, drawn while the final model is fitted."""
    if not result.fold_importance.empty:
        jobs.submit(plots.driver_stability, result.fold_importance, out / f"shap_stability_{main_h}d.png")
    jobs.submit(plots.equity_curves, result.predictions, np.log(design.aligned["btc_usd"]), result.regimes["regime"],
                out / "strategy_equity_illustrative.png")
    jobs.submit(plots.regime_timeline, design.aligned, result.regimes["regime"], out / "regime_timeline_oos.png",
                "Walk-forward (out-of-sample) filtered regimes")
    jobs.submit(plots.predicted_vs_realized, result.predictions, out / "predicted_vs_realized.png")
    jobs.submit(plots.cumulative_ic, result.predictions, out / "cumulative_ic.png")


def _tracked_steps(cfg, panel, design, result, scores, dm, template, fingerprint, run, reporter, timings,
                   outlook, tuned, lock: PromotionLock | None, out: Path, jobs: PlotJobs) -> TrainResult:
    import mlflow

    tr = cfg.tracking
    main_h = main_horizon(tuple(template.horizons))
    _draw_walk_forward(jobs, result, design, out, main_h)
    strategy = strategy_table(result.predictions, np.log(design.aligned["btc_usd"]))
    per_fold = fold_scores(result)
    data_range = (design.index[design.first_complete()].date().isoformat(), design.index[-1].date().isoformat())
    sealed = sealed_start(design, cfg)
    sealed_window = (sealed.date().isoformat(), data_range[1]) if sealed is not None else None
    walk_forward, sealed_table = _segments(result, sealed)
    first_test = design.index[result.folds[0].cutoff]
    recipe = recipe_fingerprint(template)
    with _timed(timings, "final fit", reporter):
        # The final regime model continues the walk-forward's chain of refits (so the registered
        # model names the past as the walk-forward did); the forecasters are refit on every row.
        final_regime = template.fit_regime(design, init=result.regime_models[-1]) if result.regime_models else None
        final = clone(template).fit_design(design, regime_model=final_regime)
        latest = final.predict_design(design)
        blocking = blocking_reasons(final, design, result.predictions, sealed,
                                    sealed if sealed is not None else first_test, tuned)
    leadlag = _start_leadlag(design, latest, final, jobs)  # in the workers until the artifacts are written
    with _timed(timings, "regime checks", reporter):
        report = _regime_checks(cfg, design, result, template, final)
        quality = report.metrics if report else {}
    comparison = None
    if cfg.evaluation.compare_regimes:
        from training.jobs.regimes import compare_before_sealed

        with _timed(timings, "regime comparison", reporter):
            comparison, _ = compare_before_sealed(cfg, panel)
    with _timed(timings, "explanations", reporter):
        expl = explain_pipeline(final, design, main_h)
    jobs.submit(plots.regime_timeline, design.aligned, latest["regime"], out / "regime_timeline_final.png",
                "Final model, filtered regimes (HMM fit on all data)")
    jobs.submit(plots.shap_summary, expl, out / f"shap_summary_{main_h}d.png")
    jobs.submit(plots.dependence, expl, out / f"shap_dependence_{main_h}d.png")
    with _timed(timings, "mlflow logging", reporter):
        # The model first: MLflow links every metric logged before it to the model, one by one (1.3 s).
        info = {
            "config": cfg.to_dict(),
            "data_fingerprint": fingerprint,
            "data_range": data_range,
            "horizons": list(final.horizons),
            "labels": list(final.regime_.label_names) if final.regime_ else [],
            "feature_families": {f: feature_family(f) for f in final.feature_names_},
            "run_id": run.info.run_id,
        }
        model_info = log_pipeline_model(final, info, latest.reset_index().assign(date=lambda d: d.date.dt.strftime("%Y-%m-%d")))
        mlflow.log_params({k: str(v)[:500] for k, v in _flatten(cfg.to_dict()).items()})
        mlflow.set_tags({"data.fingerprint": fingerprint, "data.source": cfg.data.source,
                         "data.first": data_range[0], "data.last": data_range[1], "model.recipe": recipe,
                         "sealed.start": sealed_window[0] if sealed_window else "none",
                         "sealed.end": sealed_window[1] if sealed_window else "none",
                         "gate.blocking": "; ".join(blocking)[:5000] or "none", **(tuned.tags() if tuned else {})})
        figures = _run_figures(scores, walk_forward, sealed_table, result, quality, strategy, outlook)
        mlflow.log_metrics(headline_metrics(figures, final.horizons))
        strategy.to_csv(out / "strategy_illustrative.csv", index=False)
        per_fold.to_csv(out / "fold_scores.csv", index=False)
        pd.Series(quality).to_csv(out / "regime_quality.csv", header=["value"])
        if comparison is not None:
            comparison.to_csv(out / "regime_comparison.csv", index=False)
            chosen = comparison[comparison.chosen]
            mlflow.set_tag("regime.evidence_favours", chosen.candidate.iloc[0] if len(chosen) else "none eligible")
        if report is not None:
            from training.thesis.sequence import sequence_evidence

            report.states.to_csv(out / "regime_states.csv")
            sequence_evidence(result.regimes["regime"], design.aligned["btc_usd"]).table.to_csv(out / "regime_sequence.csv")
            mlflow.set_tags({"regime.names": ", ".join(f"{st}={r.label}" + (f" ({r.match:+.2f})" if np.isfinite(r.match) else "")
                                                       for st, r in report.states.iterrows()),
                             "regime.notes": "; ".join(report.notes)[:5000] or "every phase named",
                             "regime.degenerate": "; ".join(report.degenerate)[:5000] or "no"})
        if not result.fold_importance.empty:
            result.fold_importance.to_csv(out / f"shap_by_fold_{main_h}d.csv")
        mlflow.log_dict(cfg.to_dict(), "config.json")
        with warnings.catch_warnings():  # MLflow guesses the source type of a plain string, noisily
            warnings.filterwarnings("ignore", message=".*dataset source can be interpreted.*")
            dataset = mlflow.data.from_pandas(panel.reset_index(), name=f"panel-{cfg.data.source}-{fingerprint}",
                                              source=cfg.data.data_dir or cfg.data.source)
        mlflow.log_input(dataset, context="training")
        coverage(panel).to_csv(out / "coverage.csv", index=False)
        scores.to_csv(out / "walk_forward_scores.csv", index=False)
        pd.concat({"walk_forward": walk_forward, "sealed": sealed_table}, names=["segment", "row"]).reset_index(
            "row", drop=True).to_csv(out / "squared_error_by_segment.csv")
        dm.to_csv(out / "diebold_mariano.csv", index=False)
        pd.DataFrame([f.__dict__ for f in result.folds]).assign(
            train_start=lambda d: design.index[d.train_start].date,
            test_start=lambda d: design.index[d.cutoff].date,
            test_end=lambda d: design.index[d.test_end - 1].date,
        ).to_csv(out / "folds.csv", index=False)
        pd.concat({h: f for h, f in result.predictions.items()}, names=["horizon", "date"]).to_csv(out / "oos_predictions.csv")
        cache_keys = _report_timeline(design, out, jobs)
        imp = global_importance(expl)
        imp.to_csv(out / f"shap_importance_{main_h}d.csv", index=False)
        expl.by_family().abs().mean().sort_values(ascending=False).rename("mean_abs_shap").to_csv(out / f"shap_families_{main_h}d.csv")
        cache_keys |= _write_outlook(outlook, final, design, latest, result.regimes["regime"], out, jobs)
        # ``regime report`` on the same data and model reuses these rather than drawing or computing them again.
        cache_keys[shap_summary_artifact(main_h)] = shap_summary_key(expl)
        cache_keys |= write_explanation(expl, out)  # every complete row: what the report explains
        (out / Path(CACHE_KEYS).name).write_text(json.dumps(cache_keys), encoding="utf-8")
        families_by_regime(expl, latest["regime"]).to_csv(out / f"shap_families_by_regime_{main_h}d.csv")
        waited = time.perf_counter()
        jobs.wait()  # the figures drawn in the worker processes
        waited = time.perf_counter() - waited
        mlflow.log_artifacts(str(out), "evaluation")
        tables = [f"evaluation/{p.relative_to(out).as_posix()}" for p in out.rglob("*") if p.is_file()]
    # Time spent waiting for figures is its own stage, not MLflow's.
    timings["mlflow logging"] -= waited
    timings["figures (waiting)"] = waited

    summary = TrainResult(run.info.run_id, scores, dm, None, None, len(result.folds), data_range, fingerprint,
                          timings, strategy=strategy, regime_quality=quality, regime=report, regime_comparison=comparison,
                          fold_scores=per_fold, first_test=first_test.date().isoformat(), experiment_id=run.info.experiment_id,
                          outlook=outlook, sealed_window=sealed_window, sealed=sealed_table, walk_forward=walk_forward,
                          blocking=blocking)
    version, decision = None, None
    if tr.register:
        candidate = Candidate(cfg, panel, fingerprint, recipe, data_range[1], result.predictions, sealed, blocking)
        with promotion_lock(lock, tr.model_name) as confirm:  # one promotion at a time: read, decide, move the alias
            with _timed(timings, "gate", reporter):
                champion = read_champion(tr.model_name)
                decision = decide_promotion(candidate, champion, tr.force_promote)
            with _timed(timings, "registration", reporter):
                alias = "champion" if decision.promote else "challenger"
                version = register_model(model_info.model_uri, tr.model_name, run.info.run_id)
                try:
                    describe_version(tr.model_name, version, version_description(alias, decision, summary, cfg),
                                     version_tags(alias, decision, summary, recipe, tuned))
                    confirm()  # the lock still held (a database lock ends with its session)
                    set_alias(tr.model_name, alias, version)
                except BaseException:  # Ctrl-C or an error between registration and alias: no orphan version
                    delete_version(tr.model_name, version)
                    raise
        mlflow.set_tags({"registry.version": version, "registry.alias": alias, "registry.reason": decision.reason,
                         "registry.lock": lock.describe(),
                         "gate.details": "\n".join(decision.details)[:5000] or "none"})
        figures |= decision.figures
    with _timed(timings, "lead-lag scan", reporter):  # waited for last: it overlapped everything since the final fit
        mlflow.set_tag("leadlag.logged", _finish_leadlag(leadlag))
    mlflow.log_dict(figures, FIGURES_ARTIFACT)
    mlflow.set_tag("mlflow.note.content", describe_tables(
        mlflow.get_run(run.info.run_id).data.tags.get("mlflow.note.content", ""), run.info.experiment_id,
        run.info.run_id, [*tables, FIGURES_ARTIFACT]))
    mlflow.log_dict({k: round(v, 3) for k, v in timings.items()}, "timings.json")
    return dataclasses.replace(summary, gate=decision, version=version)


def _run_figures(scores: pd.DataFrame, walk_forward: pd.DataFrame, sealed: pd.DataFrame, result: WalkForwardResult,
                 quality: dict[str, float], strategy: pd.DataFrame, outlook: OutlookEvaluation) -> dict[str, float]:
    """Every figure of a run by name (``evaluation/metrics.json``); the headline metrics are a few of them."""
    figures = _metric_dict(scores) | _segment_metrics("walk_forward", walk_forward) | _segment_metrics("sealed", sealed)
    figures |= {"walk_forward.skill": _pooled(walk_forward), "sealed.skill": _pooled(sealed),
                "n_folds": float(len(result.folds))}
    figures |= {f"forecast_spread.{h}d": v for h, v in forecast_spread(result.predictions).items()}
    figures |= {f"regime.{k}": v for k, v in quality.items()}
    for r in strategy.itertuples():
        tag = "long_flat" if r.strategy.startswith("long") else "buy_hold"
        figures |= {f"strategy.{tag}.{m}.{r.horizon}d": getattr(r, m) for m in ("sharpe", "ann_return", "max_drawdown")}
    figures |= outlook_metrics(outlook)
    return {k: float(v) for k, v in figures.items() if np.isfinite(v)}


def _pooled(table: pd.DataFrame) -> float:
    """Pooled skill (mean R² vs zero over horizons) of a :func:`segment_scores` table (NaN when empty)."""
    return float(table["r2_zero"].mean()) if len(table) and table["n"].min() > 0 else float("nan")


def _horizon_figures(table: pd.DataFrame, column: str) -> str:
    return " / ".join(f"{v:+.3f}" for v in table[column])


def segment_lines(result: TrainResult) -> list[str]:
    """The walk-forward and sealed-segment figures of a run, one line each (version descriptions, tags)."""
    lines = []
    for label, table in (("walk-forward", result.walk_forward), ("sealed segment", result.sealed)):
        if len(table) and table["n"].min() > 0:
            span = f"{result.n_folds} folds, " if label == "walk-forward" else ""
            horizons = "/".join(str(h) for h in table["horizon"])
            lines.append(f"{label} ({span}{table['first'].iloc[0]} → {table['last'].iloc[0]}, {int(table['n'].iloc[0])} "
                         f"scored dates), {horizons} days: R² vs zero {_horizon_figures(table, 'r2_zero')} (skill "
                         f"{_pooled(table):+.4f}); R² vs mean {_horizon_figures(table, 'r2_mean')}; "
                         f"IC {_horizon_figures(table, 'ic')}")
    return lines


def version_description(alias: str, decision: GateDecision, result: TrainResult, cfg: Config) -> str:
    """The model version's description (markdown, shown by the MLflow UI): the gate's decision and key figures.

    Parameters
    ----------
    alias : str
        ``champion`` or ``challenger``.
    decision : GateDecision
    result : TrainResult
        The run's figures (its ``gate`` and ``version`` are not read).
    cfg : Config

    Returns
    -------
    str
    """
    where = f" {cfg.data.data_dir}" if cfg.data.data_dir else ""
    lines = [f"**@{alias}**: {decision.reason}", ""]
    lines += [f"- {d}" for d in decision.details]
    lines.append(f"- data: {cfg.data.source}{where}, {result.data_range[0]} → {result.data_range[1]} "
                 f"(fingerprint {result.fingerprint})")
    lines += [f"- {line}" for line in segment_lines(result)]
    lines.append(f"- MLflow run {result.run_id}")
    return "\n".join(lines)


def version_tags(alias: str, decision: GateDecision, result: TrainResult, recipe: str,
                 tuned: TuningOrigin | None) -> dict[str, str]:
    """Searchable tags of the model version: the decision, the data window, the recipe and the pooled skills."""
    tags = {"gate.decision": alias, "gate.reason": decision.reason, "data.first": result.data_range[0],
            "data.last": result.data_range[1], "data.fingerprint": result.fingerprint, "model.recipe": recipe,
            "sealed.start": result.sealed_window[0] if result.sealed_window else "none",
            "walk_forward.skill": f"{_pooled(result.walk_forward):+.4f}", "sealed.skill": f"{_pooled(result.sealed):+.4f}"}
    return tags | (tuned.tags() if tuned else {})
