"""The tuning objective: walk-forward skill on a tuning period that ends before the sealed segment.

A trial's value is the model's pooled walk-forward skill, its R² against the zero forecast
averaged over horizons (:mod:`training.evaluation.skill`, the squared-error score the
champion gate compares), on the tuning period. The walk-forward itself is
:func:`training.evaluation.walk_forward.run_walk_forward`; its ``on_fold`` hook scores each
fold as it comes, so the pruner can stop a trial early.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

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
from training.evaluation.skill import pooled_skill, scored_dates
from training.evaluation.walk_forward import run_walk_forward
from training.jobs.train import make_template
from training.tuning.period import min_rows
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
    fold_score : float
        Pooled skill on this fold's scored test rows (NaN when none has every return realised).
    cum_score : float
        Pooled skill on every scored test row so far (the final one is the trial's value).
    """

    done: int
    total: int
    fold_score: float
    cum_score: float


def fold_skill(pred: pd.DataFrame, targets: pd.DataFrame, horizons: tuple[int, ...]) -> float:
    """Pooled skill of the model output ``pred`` on its dates where every horizon's return is realised.

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
        See :func:`training.evaluation.skill.pooled_skill`; NaN without scored dates.
    """
    predictions = {h: pd.DataFrame({"realized": targets[target_name(h)].reindex(pred.index),
                                    "model": pred[forecast_name(h)]}) for h in horizons}
    return pooled_skill(predictions, "model", scored_dates(predictions))


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
    warm starts and purge as training), so the last ``cum_score`` equals the training run's
    walk-forward skill on the same panel (``tests/test_tune.py`` checks this).

    Parameters
    ----------
    cfg : Config
        Chain and walk-forward settings.
    panel : pd.DataFrame
        Raw panel.
    score_from : pd.Timestamp, optional
        Score only test rows from this date on (the sealed-segment evaluation). Every fold
        is still fitted: each refit's HMM starts from the previous fold's.
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
        score = FoldScore(done, total, fold_skill(part, design.targets, horizons),
                          fold_skill(pd.concat(scored), design.targets, horizons))
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
        """A closing stage begins (sealed-segment evaluation, artifacts)."""


class WalkForwardObjective:
    """A trial's value: the pooled walk-forward skill of its configuration on the tuning period.

    The cumulative skill is reported after every fold so the pruner can stop a trial that
    is already below the median of earlier trials at the same fold. The trial records its
    configuration (``config``), its worker (``worker``), each fold's skill (``fold_score``)
    and, when it fails on bad data or settings, why (``fail_reason``).

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
        fold_scores: list[float] = []

        def on_score(score: FoldScore) -> None:
            fold_scores.append(score.fold_score)
            trial.report(score.cum_score, score.done - 1)
            self.reporter.fold(score.done, score.total)
            if score.done < score.total and trial.should_prune():  # a finished trial keeps its value
                raise optuna.TrialPruned(f"cumulative skill {score.cum_score:+.4f} after fold {score.done} "
                                         f"of {score.total}")

        try:
            scores = walk_forward_scores(cfg, self.panel, on_score=on_score)
        except RegimeError as exc:
            trial.set_user_attr("fail_reason", str(exc))
            raise
        finally:
            trial.set_user_attr("fold_score", fold_scores)
        return scores[-1].cum_score
