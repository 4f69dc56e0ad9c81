"""The regime model's own walk-forward: the chain of warm-started refits, on its own.

The main walk-forward (:mod:`training.evaluation.walk_forward`) refits the regime model in
each fold, starting from the previous fold's states, and the final model continues that
chain on all the data. Checks of the regime layer (another seed, other numbers of states,
another engine) need the same chain without the forecasters: :func:`regime_chain` runs it
with the same folds and the same fitting code (:meth:`RegimeForecastPipeline.fit_regime`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from features.design import Design
from models.pipeline import RegimeForecastPipeline
from training.evaluation.folds import Fold


@dataclass
class RegimeChain:
    """A regime model refitted fold by fold, and the final fit that continues it.

    Attributes
    ----------
    fold_models : list
        Each fold's fitted regime model (fitted on data before the fold's test block).
    final : regime model
        Fitted on every row, starting from the last fold's model.
    oos_labels : pd.Series
        Each test date's filtered label from its own fold's model (out of sample).
    fold_labels : dict of int -> pd.Series
        Each fold's labels of every date up to the end of its test block.
    oos_loglik : float
        Mean out-of-sample one-step predictive log density per test day (NaN for engines
        without a likelihood, such as the jump model).
    """

    fold_models: list
    final: object
    oos_labels: pd.Series
    fold_labels: dict[int, pd.Series] = field(default_factory=dict)
    oos_loglik: float = float("nan")


def observed(design: Design) -> pd.DataFrame:
    """The regime observations from the first complete row on (what every regime filter runs over)."""
    return design.regime_obs.iloc[design.regime_start():]


def fit_regime_chain(
    design: Design, template: RegimeForecastPipeline, folds: list[Fold], random_state: int | None = None
) -> list:
    """Each fold's regime model, fitted on data before its test block and started from the previous fold's.

    The first fold uses the template's seeded restarts (``random_state`` overrides the seed).
    This is the chain the walk-forward, the run's seed check and the regime comparison share.
    """
    models: list = []
    with threadpool_limits(1):
        for fold in folds:
            models.append(template.fit_regime(design, fold.cutoff, fold.train_start,
                                              init=models[-1] if models else None, random_state=random_state))
    return models


def regime_chain(
    design: Design, template: RegimeForecastPipeline, folds: list[Fold], random_state: int | None = None
) -> RegimeChain:
    """Fit ``template``'s regime model fold by fold, then on all rows, as the training job does.

    Parameters
    ----------
    design : Design
    template : RegimeForecastPipeline
        Settings of the regime model (engine, states, signatures ...).
    folds : list of Fold
        The walk-forward's folds.
    random_state : int, optional
        Seed of the first fold's restarts (default: the template's).
    """
    obs = observed(design)
    models = fit_regime_chain(design, template, folds, random_state)
    parts, fold_labels, loglik = [], {}, []
    with threadpool_limits(1):
        for fold, model in zip(folds, models):
            test = design.index[fold.cutoff : fold.test_end]
            labels = model.predict(obs.loc[: test[-1]])
            fold_labels[fold.number] = labels
            parts.append(labels.reindex(test))
            if hasattr(model, "predictive_log_likelihood"):
                past = obs.loc[: test[-1]].dropna()
                ll = pd.Series(model.predictive_log_likelihood(past), index=past.index)
                loglik.append(ll.reindex(test).dropna())
        final = template.fit_regime(design, init=models[-1] if models else None, random_state=random_state)
    oos_ll = float(pd.concat(loglik).mean()) if loglik else float("nan")
    return RegimeChain(models, final, pd.concat(parts) if parts else pd.Series(dtype=object), fold_labels,
                       oos_ll if np.isfinite(oos_ll) else float("nan"))
