"""``regime tune``: one tuning worker, and ``regime train --params best``.

One ``regime tune`` process is one *worker*. Workers pointed at the same storage and
study name cooperate: Optuna's storage hands out trial numbers, so no trial is lost or
run twice. A journal file serves the workers of one machine; a database URL
(PostgreSQL) serves many machines. See ``docs/tuning.md``.

The objective is the model's pooled walk-forward skill (R² against the zero forecast,
averaged over horizons: the squared-error score the champion gate compares) on a *tuning
period* that ends before the sealed final segment (``evaluation.sealed_days``, see
:mod:`training.evaluation.sealed`). The sealed segment is scored only at the end, for the
best trial (and the defaults), so the reported final score is not the one that was optimised.

The parts live in their own modules: :mod:`training.tuning.space` (search space and
sampler), :mod:`training.tuning.period` (the cut before the sealed segment),
:mod:`training.tuning.objective` (walk-forward objective), :mod:`training.tuning.storage`
(storages and studies) and :mod:`training.tuning.records` (MLflow records). This module
runs a worker and reads a study's result.
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
from training.display.data_line import data_line
from training.promotion.origin import TuningOrigin
from training.tuning.objective import (
    TuneReporter,
    WalkForwardObjective,
    count_folds,
    walk_forward_scores,
)
from training.tuning.period import TuningData, split_tuning
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
    train_command,
    worker_id,
)

__all__ = [
    "DEFAULT_JOURNAL", "DEFAULT_STUDY", "TUNE_EXPERIMENT", "TuneResult", "TuneSettings",
    "best_config", "prepare_study", "run_tuning", "sealed_score", "trial_summary", "tuning_base",
]

logger = logging.getLogger(__name__)

TUNE_EXPERIMENT = "btc-regime-tuning"


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
    seed : int
        Sampler seed.

    Raises
    ------
    ConfigError
        For a trial count below 1, a timeout not above 0 or an empty study name.
    """

    study: str = DEFAULT_STUDY
    storage: str | None = None
    trials: int | None = 20
    timeout: float | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if self.trials is not None and self.trials < 1:
            raise ConfigError(f"`--trials` must be >= 1. Got {self.trials}.")
        if self.timeout is not None and self.timeout <= 0:
            raise ConfigError(f"`--timeout` must be > 0 seconds. Got {self.timeout}.")
        if not self.study.strip():
            raise ConfigError("`--study` must not be empty.")
        if not 0 <= self.seed < 2**32:
            raise ConfigError(f"`--sampler-seed` must be from 0 to 2**32 - 1. Got {self.seed}.")


@dataclass
class TuneResult:
    """What a tuning worker leaves behind.

    Attributes
    ----------
    study, storage : str
        Study name and storage (password hidden).
    best : dict or None
        The study's best trial: number, value, params, sealed-segment score (see :func:`trial_summary`).
    default : dict or None
        The trial of the base configuration (enqueued first), for comparison.
    sealed_start : str or None
        First date of the sealed segment.
    states : dict of str -> int
        Trials of the whole study by state.
    worker_trials : int
        Trials this worker finished.
    elapsed_s : float
        Wall time of this worker's optimisation loop.
    run_id : str
        The worker's MLflow parent run.
    interrupted : bool
        Stopped by Ctrl-C (no sealed-segment scores then).
    command : str
        The ``regime train --params best`` command on the study's data.
    """

    study: str
    storage: str
    best: dict[str, Any] | None
    default: dict[str, Any] | None
    sealed_start: str | None
    states: dict[str, int]
    worker_trials: int
    elapsed_s: float
    run_id: str
    interrupted: bool = False
    command: str = ""

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


def sealed_score(study: optuna.Study, trial: FrozenTrial, data: TuningData) -> float | None:
    """Pooled skill on the sealed segment of ``trial``'s configuration, cached in the study for other workers.

    Parameters
    ----------
    study : optuna.Study
        Holds the cache (user attribute ``sealed_score``, keyed by trial number).
    trial : optuna.trial.FrozenTrial
        A complete trial (its ``config`` user attribute is evaluated).
    data : TuningData

    Returns
    -------
    float or None
        None without a sealed segment.
    """
    if data.sealed_start is None:
        return None
    key = str(trial.number)
    cached = study.user_attrs.get("sealed_score", {})
    if key in cached:
        return float(cached[key])
    score = walk_forward_scores(Config.from_dict(trial.user_attrs["config"]), data.full, data.sealed_start)[-1].cum_score
    study.set_user_attr("sealed_score", {**study.user_attrs.get("sealed_score", {}), key: score})
    return score


def trial_summary(trial: FrozenTrial, sealed: float | None) -> dict[str, Any]:
    """A trial as JSON-ready data.

    Parameters
    ----------
    trial : optuna.trial.FrozenTrial
    sealed : float or None
        Its sealed-segment score.

    Returns
    -------
    dict of str -> Any
        ``number``, ``value``, ``sealed_score``, ``params`` and ``config``.
    """
    return {"number": trial.number, "value": trial.value, "sealed_score": sealed, "params": trial.params,
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
    """Run one tuning worker: join or create the study, optimise, score the sealed segment, log to MLflow.

    Parameters
    ----------
    cfg : Config
        Settings not searched (data, horizons, walk-forward, seeds, tracking).
    settings : TuneSettings
        Study, storage, limits and seed.
    reporter : TuneReporter, optional
        Progress callbacks.

    Returns
    -------
    TuneResult
        With ``interrupted=True`` after Ctrl-C: finished trials are kept in the storage,
        the worker's MLflow run is KILLED and no sealed-segment score is computed.
    """
    import mlflow
    from threadpoolctl import threadpool_limits

    from training.tracking.store import configure_tracking, ensure_experiment

    reporter = reporter or TuneReporter()
    base = tuning_base(cfg)
    panel = load_panel(cfg.data)
    data = split_tuning(panel, base)
    held = (f"tuned on dates before {data.sealed_start:%Y-%m-%d}, the sealed segment "
            f"({base.evaluation.sealed_days} business days) from then held out"
            if data.sealed_start is not None else "no sealed segment: tuned on every date")
    reporter.data(cfg.data, panel, held)
    study = prepare_study(base, settings, data)
    configure_tracking(cfg.tracking.tracking_uri)  # creates a new local store under a file lock
    experiment_id = ensure_experiment(cfg.tracking.experiment)
    finished: list[FrozenTrial] = []

    def on_trial(study: optuna.Study, trial: FrozenTrial) -> None:
        finished.append(trial)
        reporter.trial_finished(trial, best_trial(study))

    from training.tracking.stale_runs import process_tags

    setup = study_setup(base, data)
    tags = {**process_tags(), "optuna.study": settings.study, "optuna.storage": describe_storage(settings.storage),
            "optuna.worker": worker_id(), "optuna.seed": str(settings.seed), "data.fingerprint": data.fingerprint,
            "sealed.start": str(setup["sealed_start"]), "tuning.seen_to": data.seen_to}
    with (
        mlflow.start_run(experiment_id=experiment_id, tags=tags,
                         run_name=f"tune-{settings.study}-{cfg.data.source}-{panel.index[0]:%Y-%m-%d}..{panel.index[-1]:%Y-%m-%d}",
                         description=f"Tuning worker of study {settings.study}. {data_line(cfg.data, panel.index, held)}.") as run,
        threadpool_limits(limits=1),  # one core per worker: threads only contend on this small data
    ):
        mlflow.log_dict(setup, "study/setup.json")
        callbacks = [MlflowTrialLogger(experiment_id, run.info.run_id, settings.study), on_trial]
        t0 = time.perf_counter()
        interrupted = False
        try:
            study.optimize(WalkForwardObjective(base, data.tuning, reporter), n_trials=settings.trials,
                           timeout=settings.timeout, callbacks=callbacks, catch=(RegimeError,))
        except KeyboardInterrupt:
            interrupted = True
        result = TuneResult(
            settings.study, tags["optuna.storage"], None, None, setup["sealed_start"],
            state_counts(study), len(finished), time.perf_counter() - t0, run.info.run_id, interrupted,
            train_command(settings.study, tags["optuna.storage"], setup),
        )
        best, default = best_trial(study), default_trial(study)
        if interrupted:
            result.best = trial_summary(best, None) if best else None
            mlflow.end_run(status="KILLED")
            return result
        reporter.stage("sealed-segment evaluation")
        result.best = trial_summary(best, sealed_score(study, best, data)) if best else None
        result.default = trial_summary(default, sealed_score(study, default, data)) if default else None
        reporter.stage("MLflow artifacts")
        mlflow.log_metrics({"worker_trials": len(finished), "trials_per_minute": result.trials_per_minute})
        if result.best:
            mlflow.log_metrics({"best_score": result.best["value"]}
                               | ({"sealed_score": result.best["sealed_score"]} if data.sealed_start is not None else {}))
            log_study_artifacts(run.info.run_id, study, result.best)
    return result


def best_config(cfg: Config, params: str, study: str | None, storage: str | None) -> tuple[Config, TuningOrigin]:
    """``cfg`` with the model and feature settings of a study's best trial (``regime train --params best``).

    The best trial stores the whole configuration it evaluated, so its ``model`` and
    ``features`` sections are applied exactly (including ``hmm_n_init`` and seeds);
    data, evaluation and tracking stay those of ``cfg``. The returned origin lets the
    training job refuse other data than the study's and the gate refuse a model whose
    study saw its sealed segment.

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
    config : Config
    origin : TuningOrigin

    Raises
    ------
    ConfigError
        For another ``params`` value, a missing journal, an unknown study, a study
        without a complete trial or one that does not record its data.
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
    setup = loaded.user_attrs.get("setup") or {}
    if "data" not in setup:
        raise ConfigError(f"tuning study '{name}' in {shown} does not record the data it was tuned on "
                          "(made by an older version): tune again with another --study")
    tuned = Config.from_dict(best.user_attrs["config"])
    sealed = loaded.user_attrs.get("sealed_score", {}).get(str(best.number))
    logger.info("using trial %d of study '%s': tuning score %+.4f%s", best.number, name, best.value,
                f", sealed-segment score {sealed:+.4f}" if sealed is not None else "")
    origin = TuningOrigin(name, shown, best.number, float(best.value), setup["data_fingerprint"], setup["data"],
                          setup.get("sealed_start"), train_command(name, shown, setup))
    return dataclasses.replace(cfg, features=tuned.features, model=tuned.model), origin
