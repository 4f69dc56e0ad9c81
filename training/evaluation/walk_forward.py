"""Walk-forward out-of-sample evaluation of the chain against naive baselines.

Every fitted piece (HMM, scalers, forecasters, linear and regime-mean baselines) is refit inside each
fold on data before the fold's cut-off; training targets are purged so no training
row's forward window reaches the test block.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.base import clone
from threadpoolctl import threadpool_limits

from features.design import Design
from features.target import target_name
from models.baselines import (
    LinearBaseline,
    RegimeMeanBaseline,
    expanding_mean_forecast,
    linear_features,
    momentum_forecast,
    zero_forecast,
)
from models.explain import explain_pipeline
from models.pipeline import RegimeForecastPipeline, forecast_name
from training.evaluation.folds import Fold, walk_forward_folds
from training.evaluation.regime_chain import fit_regime_chain

logger = logging.getLogger(__name__)

MODEL = "model"
BASELINES = ("zero", "expanding_mean", "momentum", "linear", "regime_mean", "no_regime")

Progress = Callable[[int, int, Fold], None]
FoldHook = Callable[[int, int, Fold, pd.DataFrame], None]


@dataclass
class WalkForwardResult:
    """Out-of-sample predictions of a walk-forward run.

    Attributes
    ----------
    folds : list of Fold
    predictions : dict of int -> pd.DataFrame
        Per horizon, indexed by test date: ``realized`` (NaN where the window has not
        ended), ``model`` and one column per baseline, ``regime`` and ``fold``.
    regimes : pd.DataFrame
        Per test date: the fold's filtered regime label and probabilities.
    fold_labels : dict of int -> pd.Series
        Each fold's filtered labels for every date up to the end of its test block
        (to measure how labels move between refits).
    fold_importance : pd.DataFrame
        Mean |SHAP| of each feature (columns) on each fold's test block (rows, indexed by
        test start date), for ``explain_horizon``; empty when not requested.
    regime_models : list
        Each fold's fitted regime model (empty without regimes): the chain of warm-started
        refits that the final model continues.
    """

    folds: list[Fold]
    predictions: dict[int, pd.DataFrame]
    regimes: pd.DataFrame
    fold_labels: dict[int, pd.Series]
    fold_importance: pd.DataFrame
    regime_models: list = field(default_factory=list)


@dataclass
class _FoldOutput:
    """What one fold contributes: test-period forecasts per forecaster, regimes, labels, importance."""

    forecasts: dict[str, dict[int, pd.Series]]
    regimes: pd.DataFrame
    labels: pd.Series | None
    importance: pd.Series | None
    pred: pd.DataFrame


def run_walk_forward(
    design: Design,
    template: RegimeForecastPipeline,
    initial_train: int,
    step: int,
    window: str = "expanding",
    baselines: bool = True,
    progress: Progress | None = None,
    explain_horizon: int | None = None,
    on_fold: FoldHook | None = None,
    n_jobs: int = 1,
) -> WalkForwardResult:
    """Refit ``template`` fold by fold and collect out-of-sample forecasts.

    The regime models are fitted first, as one chain (each fold's starts from the previous
    fold's, fitted on earlier data only); then each fold's forecasters and baselines are fitted
    on data before its test block, in ``n_jobs`` threads. The result does not depend on
    ``n_jobs`` (every fit is seeded and single-threaded).

    Parameters
    ----------
    design : Design
        Built once for the whole history: features are point-in-time, so a row's
        features are the same whether or not later rows exist.
    template : RegimeForecastPipeline
        Unfitted settings; cloned for each fold.
    initial_train, step, window
        See :func:`training.evaluation.folds.walk_forward_folds`.
    baselines : bool
        Also fit the linear, regime-mean (with regimes) and no-regime baselines in each fold
        (the zero, expanding-mean and momentum forecasts need no fitting and are always included).
    progress : callable, optional
        Called as ``progress(done, total, fold)`` after each fold.
    explain_horizon : int, optional
        Also record each fold's mean |SHAP| per feature for this horizon (driver stability).
    on_fold : callable, optional
        Called as ``on_fold(done, total, fold, predictions)`` after each fold's model is
        fitted, with its test-period output (regime, probabilities, ``forecast_<h>d``), in
        fold order. It may raise to stop early: tuning scores folds as they come and prunes
        this way (the folds then run one after another).
    n_jobs : int
        Threads for the folds' forecasters (1: one after another).
    """
    folds = walk_forward_folds(len(design.index), design.first_complete(), initial_train, step, window)
    horizons = tuple(template.horizons)

    regime_models = fit_regime_chain(design, template, folds) if template.use_regime else []
    with threadpool_limits(1):  # many small fits: threads only add overhead (docs/decisions.md)

        def fit_fold(k: int) -> _FoldOutput:
            fold = folds[k]
            test = design.index[fold.cutoff : fold.test_end]
            pipe = clone(template).fit_design(design, fold.cutoff, fold.train_start,
                                              regime_model=regime_models[k] if regime_models else None)
            full = pipe.predict_design(design)
            pred = full.reindex(test)
            forecasts: dict[str, dict[int, pd.Series]] = {MODEL: {h: pred[forecast_name(h)] for h in horizons}}
            importance = None
            if explain_horizon is not None:
                importance = explain_pipeline(pipe, design, explain_horizon, dates=test).values.abs().mean()
            if baselines:
                ablation = clone(template).set_params(use_regime=False).fit_design(design, fold.cutoff, fold.train_start)
                abl = ablation.predict_design(design).reindex(test)
                X = pipe.design_matrix(design)[linear_features(design.features.columns)]
                labels = full["regime"].reindex(design.index) if "regime" in full else None
                forecasts["no_regime"] = {h: abl[forecast_name(h)] for h in horizons}
                forecasts["linear"] = {}
                if labels is not None:
                    forecasts["regime_mean"] = {}
                for h in horizons:
                    rows = pipe.training_rows(design, h, fold.cutoff, fold.train_start)
                    y = design.targets[target_name(h)].iloc[rows]
                    lin = LinearBaseline(horizon=h).fit(X.iloc[rows], y)
                    forecasts["linear"][h] = pd.Series(lin.predict(X.loc[test]), index=test)
                    if labels is not None:  # the fold's filtered labels: known at the cut-off
                        known = labels.iloc[rows].notna().to_numpy()
                        means = RegimeMeanBaseline().fit(labels.iloc[rows][known], y[known])
                        forecasts["regime_mean"][h] = pd.Series(means.predict(labels.loc[test]), index=test)
            labels = full["regime"].loc[: test[-1]] if "regime" in full else None
            regimes = pred.drop(columns=[forecast_name(h) for h in horizons]).assign(fold=fold.number)
            return _FoldOutput(forecasts, regimes, labels, importance, pred)

        def finished(k: int, out: _FoldOutput) -> None:
            if on_fold is not None:
                on_fold(k + 1, len(folds), folds[k], out.pred)
            if progress is not None:
                progress(k + 1, len(folds), folds[k])

        outputs: list[_FoldOutput] = []
        if n_jobs > 1 and on_fold is None and len(folds) > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=int(n_jobs)) as pool:
                for k, out in enumerate(pool.map(fit_fold, range(len(folds)))):
                    outputs.append(out)
                    finished(k, out)
        else:
            for k in range(len(folds)):
                outputs.append(fit_fold(k))
                finished(k, outputs[-1])

    cols: dict[int, dict[str, list[pd.Series]]] = {h: {} for h in horizons}
    for out in outputs:
        for name, per_h in out.forecasts.items():
            for h, values in per_h.items():
                cols[h].setdefault(name, []).append(values)
    regime_parts = [out.regimes for out in outputs]
    fold_labels = {f.number: out.labels for f, out in zip(folds, outputs) if out.labels is not None}
    importance = {design.index[f.cutoff]: out.importance for f, out in zip(folds, outputs) if out.importance is not None}
    regimes = pd.concat(regime_parts)
    test_index = regimes.index
    log_btc = np.log(design.aligned["btc_usd"])
    predictions = {}
    for h in horizons:
        y = design.targets[target_name(h)]
        frame = pd.DataFrame({"realized": y.reindex(test_index)})
        for name, parts in cols[h].items():
            frame[name] = pd.concat(parts)
        # Unfitted baselines cost nothing; the expanding mean is also the R² benchmark.
        frame["zero"] = zero_forecast(test_index)
        frame["expanding_mean"] = expanding_mean_forecast(y, h).reindex(test_index)
        frame["momentum"] = momentum_forecast(log_btc, h).reindex(test_index)
        frame["regime"] = regimes.get("regime")
        frame["fold"] = regimes["fold"]
        predictions[h] = frame
    fold_importance = pd.DataFrame(importance).T if importance else pd.DataFrame()
    return WalkForwardResult(folds, predictions, regimes, fold_labels, fold_importance, regime_models)
