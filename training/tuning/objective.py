"""The tuning objective: walk-forward IC on a tuning period that ends before a hold-out.

A trial's value is the model's mean walk-forward Spearman IC over its horizons (the
champion gate's score) on the tuning period. The walk-forward itself is
:func:`training.evaluation.walk_forward.run_walk_forward`; its ``on_fold`` hook scores each fold as it
comes, so the pruner can stop a trial early.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import optuna
import pandas as pd
from optuna.trial import FrozenTrial

from features.config import DataConfig
from features.design import Design
from features.errors import DataError, RegimeError
from features.target import target_name
from models.pipeline import RegimeForecastPipeline, forecast_name
from training.config import Config
from training.evaluation.folds import Fold, walk_forward_folds
from training.evaluation.metrics import spearman_ic
from training.evaluation.walk_forward import run_walk_forward
from training.jobs.train import make_template
from training.tuning.holdout import min_rows
from training.tuning.space import suggest_config
from training.tuning.storage import worker_id


# -- fold scores -------------------------------------------------------------------------------
@dataclass(frozen=True)
class FoldScore:
    """Scores after one walk-forward fold.

    Attributes
    ----------
    done, total : int
        Folds finished and folds in all.
    fold_ic : float
        Mean IC over horizons on this fold's test rows.
    cum_ic : float
        Mean IC over horizons on every test row so far (the final one is the trial's value).
    """

    done: int
    total: int
    fold_ic: float
    cum_ic: float


def mean_ic(pred: pd.DataFrame, targets: pd.DataFrame, horizons: tuple[int, ...]) -> float:
    """Mean over horizons of the Spearman IC on rows with a realised target.

    Parameters
    ----------
    pred : pd.DataFrame
        Columns ``forecast_<h>d``, indexed by date.
    targets : pd.DataFrame
        Columns ``fwd_<h>d`` (NaN where the window has not ended).
    horizons : tuple of int

    Returns
    -------
    float
        A horizon whose IC is undefined counts as no skill, 0.
    """
    ics = []
    for h in horizons:
        f = pred[forecast_name(h)].to_numpy(dtype=float)
        y = targets[target_name(h)].reindex(pred.index).to_numpy(dtype=float)
        ok = np.isfinite(f) & np.isfinite(y)
        ic = spearman_ic(f[ok], y[ok])
        ics.append(ic if np.isfinite(ic) else 0.0)
    return float(np.mean(ics))


def _design(cfg: Config, panel: pd.DataFrame) -> tuple[RegimeForecastPipeline, Design]:
    template = make_template(cfg)
    return template, template.make_design(panel, min_rows=min_rows(cfg))


def _folds(cfg: Config, design: Design) -> list[Fold]:
    ev = cfg.evaluation
    return walk_forward_folds(len(design.index), design.first_complete(), ev.initial_train, ev.step, ev.window)


def count_folds(cfg: Config, panel: pd.DataFrame) -> int:
    """Walk-forward folds of ``cfg`` on ``panel``.

    Parameters
    ----------
    cfg : Config
    panel : pd.DataFrame
        Raw panel.

    Returns
    -------
    int
    """
    return len(_folds(cfg, _design(cfg, panel)[1]))


def walk_forward_scores(cfg: Config, panel: pd.DataFrame, score_from: pd.Timestamp | None = None,
                        on_score: Callable[[FoldScore], None] | None = None) -> list[FoldScore]:
    """Run the light walk-forward of ``cfg`` on ``panel`` (model only, no baselines) and score each fold.

    The walk-forward is :func:`training.evaluation.walk_forward.run_walk_forward` (same folds, refits, HMM
    warm starts and purge as training), so the last ``cum_ic`` equals
    :func:`training.promotion.gate.gate_score` of its score table wherever every IC is defined
    (``tests/test_tune.py`` checks this).

    Parameters
    ----------
    cfg : Config
        Chain and walk-forward settings.
    panel : pd.DataFrame
        Raw panel.
    score_from : pd.Timestamp, optional
        Score only test rows from this date on (the hold-out evaluation). Every fold is
        still fitted: each refit's HMM starts from the previous fold's.
    on_score : callable, optional
        Called with each fold's :class:`FoldScore` as soon as the fold is fitted. It may
        raise (``optuna.TrialPruned``) to stop the walk-forward.

    Returns
    -------
    list of FoldScore
        One per fold, in order.

    Raises
    ------
    DataError
        When the panel is too short, or no test date falls on or after ``score_from``.
    """
    template, design = _design(cfg, panel)
    first = 0 if score_from is None else int(design.index.searchsorted(score_from))
    if _folds(cfg, design)[-1].test_end <= first:
        raise DataError(f"no walk-forward test dates on or after {score_from}")
    horizons = tuple(cfg.model.horizons)
    scored: list[pd.DataFrame] = []
    scores: list[FoldScore] = []

    def on_fold(done: int, total: int, fold: Fold, predictions: pd.DataFrame) -> None:
        part = predictions.iloc[max(0, first - fold.cutoff):]  # the test rows on or after score_from
        scored.append(part)
        score = FoldScore(done, total, mean_ic(part, design.targets, horizons),
                          mean_ic(pd.concat(scored), design.targets, horizons))
        scores.append(score)
        if on_score is not None:
            on_score(score)

    ev = cfg.evaluation
    run_walk_forward(design, template, ev.initial_train, ev.step, ev.window, baselines=False, on_fold=on_fold)
    return scores


# -- the objective -----------------------------------------------------------------------------
class TuneReporter:
    """Receives progress from a tuning worker. Default: silent; the CLI's progress bars have the same methods."""

    def data(self, config: DataConfig, panel: pd.DataFrame, note: str = "") -> None:
        """The worker read its data: ``panel`` from ``config`` (the CLI prints the data line)."""

    def trial_started(self, number: int) -> None:
        """A trial begins."""

    def fold(self, done: int, total: int) -> None:
        """A walk-forward fold of the current trial finished."""

    def trial_finished(self, trial: FrozenTrial, best: FrozenTrial | None) -> None:
        """A trial of this worker finished (complete, pruned or failed)."""

    def stage(self, name: str) -> None:
        """A closing stage begins (hold-out evaluation, artifacts)."""


class WalkForwardObjective:
    """A trial's value: the mean walk-forward IC of its configuration on the tuning period.

    The cumulative IC is reported after every fold so the pruner can stop a trial that
    is already below the median of earlier trials at the same fold. The trial records its
    configuration (``config``), its worker (``worker``), each fold's IC (``fold_ic``) and,
    when it fails on bad data or settings, why (``fail_reason``).

    Parameters
    ----------
    base : Config
        Settings not searched (see :func:`training.tuning.space.suggest_config`).
    panel : pd.DataFrame
        The tuning period's raw panel.
    reporter : TuneReporter
        Progress callbacks.
    """

    def __init__(self, base: Config, panel: pd.DataFrame, reporter: TuneReporter) -> None:
        self.base = base
        self.panel = panel
        self.reporter = reporter

    def __call__(self, trial: optuna.Trial) -> float:
        """Evaluate the configuration ``trial`` draws; raises ``optuna.TrialPruned`` to stop early."""
        cfg = suggest_config(trial, self.base)
        trial.set_user_attr("config", cfg.to_dict())
        trial.set_user_attr("worker", worker_id())
        self.reporter.trial_started(trial.number)
        fold_ics: list[float] = []

        def on_score(score: FoldScore) -> None:
            fold_ics.append(score.fold_ic)
            trial.report(score.cum_ic, score.done - 1)
            self.reporter.fold(score.done, score.total)
            if score.done < score.total and trial.should_prune():  # a finished trial keeps its value
                raise optuna.TrialPruned(f"cumulative IC {score.cum_ic:+.4f} after fold {score.done} of {score.total}")

        try:
            scores = walk_forward_scores(cfg, self.panel, on_score=on_score)
        except RegimeError as exc:
            trial.set_user_attr("fail_reason", str(exc))
            raise
        finally:
            trial.set_user_attr("fold_ic", fold_ics)
        return scores[-1].cum_ic
