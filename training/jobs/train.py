"""The training job: data -> walk-forward evaluation -> final fit -> MLflow run -> registry.

Side effects live here (and in the CLI), not in the estimators. A job that fails at any
point leaves its MLflow run FAILED (KILLED on Ctrl-C) and the registry's champion alias
untouched: the alias moves only after the new version is registered and has passed the
champion gate.
"""

from __future__ import annotations

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
from features.demo import generate_demo_market
from features.sources import load_panel
from models.explain import explain_pipeline, global_importance
from models.pipeline import RegimeForecastPipeline
from training.config import Config
from training.display import plots
from training.display.progress import Reporter
from training.evaluation.regime_quality import regime_quality
from training.evaluation.scores import diebold_mariano_table, fold_scores, score_table
from training.evaluation.strategy import strategy_table
from training.evaluation.walk_forward import WalkForwardResult, run_walk_forward
from training.promotion.gate import GateDecision, decide_promotion, gate_score
from training.tracking.fingerprint import coverage, panel_fingerprint
from training.tracking.model_io import log_pipeline_model
from training.tracking.registry import (
    current_version,
    delete_version,
    register_model,
    set_alias,
)
from training.tracking.lifecycle import tracked_run
from training.tracking.store import check_training_store, configure_tracking, ensure_experiment

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
    fold_scores: pd.DataFrame = field(default_factory=pd.DataFrame)
    first_test: str = ""


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
        lgbm_params=dict(m.lgbm_params) or None,
        embargo=m.embargo,
        random_state=m.random_state,
    )


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
    template = make_template(cfg)
    ev = cfg.evaluation
    with _timed(timings, "features", reporter):
        design = template.make_design(panel, min_rows=ev.initial_train + max(cfg.model.horizons) + 1)
    with _timed(timings, "walk-forward", reporter):
        result = run_walk_forward(
            design, template, ev.initial_train, ev.step, ev.window, ev.baselines,
            progress=lambda done, total, fold: reporter.fold(done, total), explain_horizon=explain_horizon,
        )
    with _timed(timings, "metrics", reporter):
        scores = score_table(result, n_boot=ev.n_bootstrap, by_regime=True, random_state=cfg.model.random_state)
        dm = diebold_mariano_table(result, scores)
    return design, result, scores, dm


def run_training(cfg: Config, reporter: Reporter | None = None, panel: pd.DataFrame | None = None) -> TrainResult:
    """Run the whole training job for ``cfg``.

    Parameters
    ----------
    cfg : Config
        Every setting; logged with the run.
    reporter : Reporter, optional
        Progress callbacks.
    panel : pd.DataFrame, optional
        Raw panel to use instead of loading ``cfg.data`` (tests, benchmarks).
    """
    reporter = reporter or Reporter()
    timings: dict[str, float] = {}
    check_training_store(cfg.tracking)  # a store that cannot take the result is refused before the work
    with _timed(timings, "load data", reporter):
        panel = load_panel(cfg.data) if panel is None else panel
    fingerprint = panel_fingerprint(panel)
    main_h = main_horizon(tuple(cfg.model.horizons))
    design, result, scores, dm = evaluate(cfg, panel, reporter, timings, explain_horizon=main_h)
    template = make_template(cfg)

    configure_tracking(cfg.tracking.tracking_uri)
    experiment_id = ensure_experiment(cfg.tracking.experiment)
    with tracked_run(experiment_id) as run:  # ends FAILED (KILLED on Ctrl-C); a full disk is one line
        return _tracked_part(cfg, panel, design, result, scores, dm, template, fingerprint, run, reporter, timings)


def _tracked_part(cfg, panel, design, result, scores, dm, template, fingerprint, run, reporter, timings) -> TrainResult:
    import mlflow

    tr = cfg.tracking
    truth = generate_demo_market(seed=cfg.data.seed).regimes if cfg.data.source == "demo" else None
    quality = regime_quality(result.regimes["regime"], result.fold_labels, truth)
    strategy = strategy_table(result.predictions, np.log(design.aligned["btc_usd"]))
    per_fold = fold_scores(result)
    data_range = (design.index[design.first_complete()].date().isoformat(), design.index[-1].date().isoformat())
    with _timed(timings, "final fit", reporter):
        final = clone(template).fit_design(design)
        latest = final.predict_design(design)
    with _timed(timings, "explanations", reporter):
        main_h = main_horizon(tuple(final.horizons))
        expl = explain_pipeline(final, design, main_h)
    with _timed(timings, "mlflow logging", reporter), tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        mlflow.log_params({k: str(v)[:500] for k, v in _flatten(cfg.to_dict()).items()})
        mlflow.set_tags({"data.fingerprint": fingerprint, "data.source": cfg.data.source,
                         "data.first": data_range[0], "data.last": data_range[1]})
        mlflow.log_metrics(_metric_dict(scores))
        mlflow.log_metric("gate_score", gate_score(scores))
        mlflow.log_metric("n_folds", len(result.folds))
        mlflow.log_metrics({f"regime.{k}": v for k, v in quality.items() if np.isfinite(v)})
        for r in strategy.itertuples():
            tag = "long_flat" if r.strategy.startswith("long") else "buy_hold"
            mlflow.log_metrics({f"strategy.{tag}.{m}.{r.horizon}d": getattr(r, m) for m in ("sharpe", "ann_return", "max_drawdown")
                                if np.isfinite(getattr(r, m))})
        strategy.to_csv(out / "strategy_illustrative.csv", index=False)
        per_fold.to_csv(out / "fold_scores.csv", index=False)
        pd.Series(quality).to_csv(out / "regime_quality.csv", header=["value"])
        if not result.fold_importance.empty:
            result.fold_importance.to_csv(out / f"shap_by_fold_{main_h}d.csv")
            plots.driver_stability(result.fold_importance, out / f"shap_stability_{main_h}d.png")
        plots.equity_curves(result.predictions, np.log(design.aligned["btc_usd"]), result.regimes["regime"],
                            out / "strategy_equity_illustrative.png")
        mlflow.log_dict(cfg.to_dict(), "config.json")
        with warnings.catch_warnings():  # MLflow guesses the source type of a plain string, noisily
            warnings.filterwarnings("ignore", message=".*dataset source can be interpreted.*")
            dataset = mlflow.data.from_pandas(panel.reset_index(), name=f"panel-{cfg.data.source}-{fingerprint}",
                                              source=cfg.data.data_dir or cfg.data.source)
        mlflow.log_input(dataset, context="training")
        coverage(panel).to_csv(out / "coverage.csv", index=False)
        scores.to_csv(out / "walk_forward_scores.csv", index=False)
        dm.to_csv(out / "diebold_mariano.csv", index=False)
        pd.DataFrame([f.__dict__ for f in result.folds]).assign(
            train_start=lambda d: design.index[d.train_start].date,
            test_start=lambda d: design.index[d.cutoff].date,
            test_end=lambda d: design.index[d.test_end - 1].date,
        ).to_csv(out / "folds.csv", index=False)
        pd.concat({h: f for h, f in result.predictions.items()}, names=["horizon", "date"]).to_csv(out / "oos_predictions.csv")
        imp = global_importance(expl)
        imp.to_csv(out / f"shap_importance_{main_h}d.csv", index=False)
        expl.by_family().abs().mean().sort_values(ascending=False).rename("mean_abs_shap").to_csv(out / f"shap_families_{main_h}d.csv")
        plots.regime_timeline(design.aligned, result.regimes["regime"], out / "regime_timeline_oos.png",
                              "Walk-forward (out-of-sample) filtered regimes")
        plots.regime_timeline(design.aligned, latest["regime"], out / "regime_timeline_final.png",
                              "Final model, filtered regimes (HMM fit on all data)")
        plots.predicted_vs_realized(result.predictions, out / "predicted_vs_realized.png")
        plots.cumulative_ic(result.predictions, out / "cumulative_ic.png")
        plots.shap_summary(expl, out / f"shap_summary_{main_h}d.png")
        plots.dependence(expl, out / f"shap_dependence_{main_h}d.png")
        fam = expl.by_family().abs()
        fam.groupby(latest["regime"].reindex(fam.index)).mean().T.to_csv(out / f"shap_families_by_regime_{main_h}d.csv")
        mlflow.log_artifacts(str(out), "evaluation")
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

    version, decision = None, None
    if tr.register:
        with _timed(timings, "registration", reporter):
            champion = current_version(tr.model_name, "champion")
            decision = decide_promotion(cfg, scores, fingerprint, champion, panel, tr.force_promote)
            version = register_model(model_info.model_uri, tr.model_name, run.info.run_id)
            try:
                set_alias(tr.model_name, "champion" if decision.promote else "challenger", version)
            except BaseException:  # Ctrl-C or an error between registration and alias: no orphan version
                delete_version(tr.model_name, version)
                raise
            mlflow.set_tags({"registry.version": version, "registry.alias": "champion" if decision.promote else "challenger",
                             "registry.reason": decision.reason})
    mlflow.log_dict({k: round(v, 3) for k, v in timings.items()}, "timings.json")
    return TrainResult(run.info.run_id, scores, dm, decision, version, len(result.folds), data_range, fingerprint,
                       timings, strategy=strategy, regime_quality=quality, fold_scores=per_fold,
                       first_test=design.index[result.folds[0].cutoff].date().isoformat())
