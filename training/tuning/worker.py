"""``regime tune``: one tuning worker, and ``regime train --params best``.

One ``regime tune`` process is one *worker*. Workers pointed at the same storage and
study name cooperate: Optuna's storage hands out trial numbers, so no trial is lost or
run twice. A journal file serves the workers of one machine; a database URL
(PostgreSQL) serves many machines. See ``docs/tuning.md``.

The objective is the model's mean walk-forward Spearman IC over its horizons (the
champion gate's score) on a *tuning period* that ends before a final hold-out segment.
The hold-out is scored only at the end, for the best trial (and the defaults), so the
reported final score is not the one that was optimised.

The parts live in their own modules: :mod:`training.tuning.space` (search space and
sampler), :mod:`training.tuning.objective` (hold-out split and walk-forward objective),
:mod:`training.tuning.storage` (storages and studies) and :mod:`training.tuning.records`
(MLflow records). This module runs a worker and reads a study's result.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.trial import FrozenTrial

from features.errors import ConfigError, RegimeError
from features.sources import load_panel
from training.config import Config
from training.tuning.holdout import TuningData, split_holdout
from training.tuning.objective import (
    TuneReporter,
    WalkForwardObjective,
    count_folds,
    walk_forward_scores,
)
from training.tuning.records import MlflowTrialLogger, log_study_artifacts
from training.tuning.space import default_params
from training.tuning.storage import (
    DEFAULT_JOURNAL,
    DEFAULT_STUDY,
    best_trial,
    default_trial,
    describe_storage,
    fail_orphaned_trials,
    join_setup,
    open_storage,
    open_study,
    state_counts,
    study_setup,
    worker_id,
)

__all__ = [
    "DEFAULT_HOLDOUT_DAYS", "DEFAULT_JOURNAL", "DEFAULT_STUDY", "TUNE_EXPERIMENT", "TuneResult", "TuneSettings",
    "best_config", "holdout_score", "prepare_study", "run_tuning", "trial_summary", "tuning_base",
]

logger = logging.getLogger(__name__)

TUNE_EXPERIMENT = "btc-regime-tuning"
DEFAULT_HOLDOUT_DAYS = 504


@dataclass(frozen=True)
class TuneSettings:
    """Options of a tuning worker.

    Attributes
    ----------
    study : str
        Study name; workers with the same name and storage share it.
    storage : str or None
        Journal file path or database URL (see :func:`training.tuning.storage.open_storage`).
    trials : int or None
        Trials this worker runs (None: until ``timeout`` or Ctrl-C).
    timeout : float or None
        Seconds after which this worker starts no new trial.
    holdout_days : int
        Final business days kept out of tuning (0: none).
    seed : int
        Sampler seed.

    Raises
    ------
    ConfigError
        For a trial count below 1, a timeout not above 0, a negative hold-out or an empty study name.
    """

    study: str = DEFAULT_STUDY
    storage: str | None = None
    trials: int | None = 20
    timeout: float | None = None
    holdout_days: int = DEFAULT_HOLDOUT_DAYS
    seed: int = 0

    def __post_init__(self) -> None:
        if self.trials is not None and self.trials < 1:
            raise ConfigError(f"`--trials` must be >= 1. Got {self.trials}.")
        if self.timeout is not None and self.timeout <= 0:
            raise ConfigError(f"`--timeout` must be > 0 seconds. Got {self.timeout}.")
        if self.holdout_days < 0:
            raise ConfigError(f"`--holdout-days` must be >= 0. Got {self.holdout_days}.")
        if not self.study.strip():
            raise ConfigError("`--study` must not be empty.")


@dataclass
class TuneResult:
    """What a tuning worker leaves behind.

    Attributes
    ----------
    study, storage : str
        Study name and storage (password hidden).
    best : dict or None
        The study's best trial: number, value, params, hold-out score (see :func:`trial_summary`).
    default : dict or None
        The trial of the base configuration (enqueued first), for comparison.
    holdout_start : str or None
        First hold-out date.
    states : dict of str -> int
        Trials of the whole study by state.
    worker_trials : int
        Trials this worker finished.
    elapsed_s : float
        Wall time of this worker's optimisation loop.
    run_id : str
        The worker's MLflow parent run.
    interrupted : bool
        Stopped by Ctrl-C (no hold-out scores then).
    """

    study: str
    storage: str
    best: dict[str, Any] | None
    default: dict[str, Any] | None
    holdout_start: str | None
    states: dict[str, int]
    worker_trials: int
    elapsed_s: float
    run_id: str
    interrupted: bool = False

    @property
    def trials_per_minute(self) -> float:
        """This worker's finished trials per minute of optimisation (NaN without elapsed time)."""
        return 60.0 * self.worker_trials / self.elapsed_s if self.elapsed_s > 0 else float("nan")


def tuning_base(cfg: Config) -> Config:
    """``cfg`` with the light evaluation used for tuning.

    Parameters
    ----------
    cfg : Config

    Returns
    -------
    Config
        Model only (no baselines), no bootstrap.
    """
    return cfg.replace(evaluation={"baselines": False, "n_bootstrap": 0})


def holdout_score(study: optuna.Study, trial: FrozenTrial, data: TuningData) -> float | None:
    """Mean IC on the hold-out of ``trial``'s configuration, cached in the study for other workers.

    Parameters
    ----------
    study : optuna.Study
        Holds the cache (user attribute ``holdout_ic``, keyed by trial number).
    trial : optuna.trial.FrozenTrial
        A complete trial (its ``config`` user attribute is evaluated).
    data : TuningData

    Returns
    -------
    float or None
        None without a hold-out.
    """
    if data.holdout_start is None:
        return None
    key = str(trial.number)
    cached = study.user_attrs.get("holdout_ic", {})
    if key in cached:
        return float(cached[key])
    score = walk_forward_scores(Config.from_dict(trial.user_attrs["config"]), data.full, data.holdout_start)[-1].cum_ic
    study.set_user_attr("holdout_ic", {**study.user_attrs.get("holdout_ic", {}), key: score})
    return score


def trial_summary(trial: FrozenTrial, holdout: float | None) -> dict[str, Any]:
    """A trial as JSON-ready data.

    Parameters
    ----------
    trial : optuna.trial.FrozenTrial
    holdout : float or None
        Its hold-out score.

    Returns
    -------
    dict of str -> Any
        ``number``, ``value``, ``holdout_ic``, ``params`` and ``config``.
    """
    return {"number": trial.number, "value": trial.value, "holdout_ic": holdout, "params": trial.params,
            "config": trial.user_attrs.get("config")}


def prepare_study(base: Config, settings: TuneSettings, data: TuningData) -> optuna.Study:
    """Open the storage, create or join the study and check it was tuned on the same setup.

    A new study gets the base configuration as its first trial; joining a journal study
    first fails the trials of this host's dead workers.

    Parameters
    ----------
    base : Config
        From :func:`tuning_base`.
    settings : TuneSettings
    data : TuningData

    Returns
    -------
    optuna.Study

    Raises
    ------
    ConfigError
        When the storage cannot be opened or the study was tuned on another setup.
    """
    storage = open_storage(settings.storage)
    n_folds = count_folds(base, data.tuning)
    study, created = open_study(settings.study, storage, settings.seed, n_warmup_steps=max(1, n_folds // 3))
    join_setup(study, study_setup(base, data))
    if created and (defaults := default_params(base)):
        study.enqueue_trial(defaults, user_attrs={"role": "default"})
    if isinstance(storage, optuna.storages.JournalStorage):
        fail_orphaned_trials(study)
    return study


def run_tuning(cfg: Config, settings: TuneSettings, reporter: TuneReporter | None = None) -> TuneResult:
    """Run one tuning worker: join or create the study, optimise, score the hold-out, log to MLflow.

    Parameters
    ----------
    cfg : Config
        Settings not searched (data, horizons, walk-forward, seeds, tracking).
    settings : TuneSettings
        Study, storage, limits, hold-out and seed.
    reporter : TuneReporter, optional
        Progress callbacks.

    Returns
    -------
    TuneResult
        With ``interrupted=True`` after Ctrl-C: finished trials are kept in the storage,
        the worker's MLflow run is KILLED and no hold-out score is computed.
    """
    import mlflow
    from threadpoolctl import threadpool_limits

    from training.tracking.store import configure_tracking, ensure_experiment

    reporter = reporter or TuneReporter()
    base = tuning_base(cfg)
    data = split_holdout(load_panel(cfg.data), base, settings.holdout_days)
    study = prepare_study(base, settings, data)
    configure_tracking(cfg.tracking.tracking_uri)  # creates a new local store under a file lock
    experiment_id = ensure_experiment(cfg.tracking.experiment)
    finished: list[FrozenTrial] = []

    def on_trial(study: optuna.Study, trial: FrozenTrial) -> None:
        finished.append(trial)
        reporter.trial_finished(trial, best_trial(study))

    from training.tracking.stale_runs import process_tags

    tags = {**process_tags(), "optuna.study": settings.study, "optuna.storage": describe_storage(settings.storage),
            "optuna.worker": worker_id(), "optuna.seed": str(settings.seed), "data.fingerprint": data.fingerprint}
    with (
        mlflow.start_run(experiment_id=experiment_id, run_name=f"tune-{settings.study}", tags=tags) as run,
        threadpool_limits(limits=1),  # one core per worker: threads only contend on this small data
    ):
        mlflow.log_dict(study_setup(base, data), "study/setup.json")
        callbacks = [MlflowTrialLogger(experiment_id, run.info.run_id, settings.study), on_trial]
        t0 = time.perf_counter()
        interrupted = False
        try:
            study.optimize(WalkForwardObjective(base, data.tuning, reporter), n_trials=settings.trials,
                           timeout=settings.timeout, callbacks=callbacks, catch=(RegimeError,))
        except KeyboardInterrupt:
            interrupted = True
        result = TuneResult(
            settings.study, tags["optuna.storage"], None, None,
            data.holdout_start.date().isoformat() if data.holdout_start is not None else None,
            state_counts(study), len(finished), time.perf_counter() - t0, run.info.run_id, interrupted,
        )
        best, default = best_trial(study), default_trial(study)
        if interrupted:
            result.best = trial_summary(best, None) if best else None
            mlflow.end_run(status="KILLED")
            return result
        reporter.stage("hold-out evaluation")
        result.best = trial_summary(best, holdout_score(study, best, data)) if best else None
        result.default = trial_summary(default, holdout_score(study, default, data)) if default else None
        reporter.stage("MLflow artifacts")
        mlflow.log_metrics({"worker_trials": len(finished), "trials_per_minute": result.trials_per_minute})
        if result.best:
            mlflow.log_metrics({"best_score": result.best["value"]}
                               | ({"holdout_ic": result.best["holdout_ic"]} if data.holdout_start is not None else {}))
            log_study_artifacts(run.info.run_id, study, result.best)
    return result


def best_config(cfg: Config, params: str, study: str | None, storage: str | None) -> Config:
    """``cfg`` with the model and feature settings of a study's best trial (``regime train --params best``).

    The best trial stores the whole configuration it evaluated, so its ``model`` and
    ``features`` sections are applied exactly (including ``hmm_n_init`` and seeds);
    data, evaluation and tracking stay those of ``cfg``.

    Parameters
    ----------
    cfg : Config
        The training configuration.
    params : str
        Must be ``"best"``.
    study : str or None
        Study name (default :data:`DEFAULT_STUDY`).
    storage : str or None
        Journal file path or database URL (default ``mlruns/optuna-journal.log``).

    Returns
    -------
    Config

    Raises
    ------
    ConfigError
        For another ``params`` value, a missing journal, an unknown study or a study
        without a complete trial.
    """
    if params != "best":
        raise ConfigError(f"`--params` must be 'best'. Got '{params}'.")
    name = study or DEFAULT_STUDY
    shown = describe_storage(storage)
    try:
        loaded = optuna.load_study(study_name=name, storage=open_storage(storage, create=False))
    except KeyError:
        raise ConfigError(f"no tuning study '{name}' in {shown}: run `regime tune --study {name}` first") from None
    best = best_trial(loaded)
    if best is None:
        raise ConfigError(f"tuning study '{name}' in {shown} has no complete trial yet")
    tuned = Config.from_dict(best.user_attrs["config"])
    holdout = loaded.user_attrs.get("holdout_ic", {}).get(str(best.number))
    logger.info("using trial %d of study '%s': tuning IC %+.4f%s", best.number, name, best.value,
                f", hold-out IC {holdout:+.4f}" if holdout is not None else "")
    return dataclasses.replace(cfg, features=tuned.features, model=tuned.model)
