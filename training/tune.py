"""Hyperparameter tuning with Optuna: walk-forward objective, shared storage, MLflow trials.

One ``regime tune`` process is one *worker*. Workers pointed at the same storage and
study name cooperate: Optuna's storage hands out trial numbers, so no trial is lost or
run twice. A journal file serves the workers of one machine; a database URL
(PostgreSQL) serves many machines. See ``docs/tuning.md``.

The objective is the model's mean walk-forward Spearman IC over its horizons (the
champion gate's score) on a *tuning period* that ends before a final hold-out segment.
The hold-out is scored only at the end, for the best trial (and the defaults), so the
reported final score is not the one that was optimised.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import socket
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial, TrialState
from sklearn.base import clone

from features.errors import ConfigError, DataError, RegimeError
from features.sources import load_panel
from features.target import target_name
from models.forecaster import DEFAULT_LGBM_PARAMS
from models.pipeline import forecast_name
from training.config import Config
from training.fingerprint import panel_fingerprint
from training.metrics import spearman_ic
from training.train_job import make_template
from training.walkforward import walk_forward_folds

logger = logging.getLogger(__name__)

DEFAULT_STUDY = "btc-regime"
DEFAULT_JOURNAL = Path("mlruns") / "optuna-journal.log"
TUNE_EXPERIMENT = "btc-regime-tuning"
DEFAULT_HOLDOUT_DAYS = 504
HEARTBEAT_INTERVAL = 30
GRACE_PERIOD = 120


# -- search space ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Param:
    """One searched setting: where it lives in :class:`Config` and its range.

    Tuple-valued settings (``lead_lags``) are searched as comma-separated strings, since
    Optuna's categorical choices must be scalars.

    Attributes
    ----------
    section : {"model", "features", "lgbm"}
        ``lgbm`` means a key of ``model.lgbm_params``.
    key : str
        Field or LightGBM parameter name.
    low, high : int or float, optional
        Numeric range; ``int`` bounds give an integer parameter.
    log : bool
        Sample on a log scale.
    choices : tuple, optional
        Categorical choices (instead of a range).
    """

    section: str
    key: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple[Any, ...] | None = None

    def suggest(self, trial: optuna.Trial, name: str) -> Any:
        """Draw a value from ``trial``."""
        if self.choices is not None:
            return trial.suggest_categorical(name, self.choices)
        if isinstance(self.low, int) and isinstance(self.high, int):
            return trial.suggest_int(name, self.low, self.high, log=self.log)
        return trial.suggest_float(name, float(self.low), float(self.high), log=self.log)

    def read(self, cfg: Config) -> Any:
        """The setting's value in ``cfg``, in the trial's representation."""
        if self.section == "lgbm":
            value = {**DEFAULT_LGBM_PARAMS, **cfg.model.lgbm_params}.get(self.key)
        else:
            value = getattr(getattr(cfg, self.section), self.key)
        return ",".join(map(str, value)) if isinstance(value, tuple) else value

    def contains(self, value: Any) -> bool:
        """Whether ``value`` (trial representation) lies in the searched range."""
        if self.choices is not None:
            return value in self.choices
        return value is not None and self.low <= value <= self.high

    def to_config(self, value: Any) -> Any:
        """The trial's value as the config stores it."""
        return tuple(int(v) for v in value.split(",")) if isinstance(value, str) else value


#: The search space, declared once: HMM states, feature windows and LightGBM settings.
SEARCH_SPACE: dict[str, Param] = {
    "n_states": Param("model", "n_states", choices=(2, 3)),
    "regime_window": Param("features", "regime_window", choices=(10, 21, 42, 63)),
    "lead_lags": Param("features", "lead_lags", choices=("21", "42", "21,42", "21,42,63", "42,84")),
    "n_estimators": Param("lgbm", "n_estimators", 50, 600, log=True),
    "learning_rate": Param("lgbm", "learning_rate", 0.002, 0.1, log=True),
    "num_leaves": Param("lgbm", "num_leaves", 2, 31, log=True),
    "max_depth": Param("lgbm", "max_depth", 1, 6),
    "min_child_samples": Param("lgbm", "min_child_samples", 20, 400, log=True),
    "subsample": Param("lgbm", "subsample", 0.5, 1.0),
    "colsample_bytree": Param("lgbm", "colsample_bytree", 0.3, 1.0),
    "reg_lambda": Param("lgbm", "reg_lambda", 1e-3, 100.0, log=True),
}


def apply_params(base: Config, params: dict[str, Any]) -> Config:
    """``base`` with trial parameters (names of :data:`SEARCH_SPACE`) set."""
    sections: dict[str, dict[str, Any]] = {"model": {}, "features": {}, "lgbm": {}}
    for name, value in params.items():
        p = SEARCH_SPACE[name]
        sections[p.section][p.key] = p.to_config(value)
    lgbm = sections.pop("lgbm")
    if lgbm:
        sections["model"]["lgbm_params"] = {**base.model.lgbm_params, **lgbm}
    return base.replace(**sections)


def suggest_config(trial: optuna.Trial, base: Config) -> Config:
    """The configuration a trial evaluates: ``base`` with every :data:`SEARCH_SPACE` setting drawn.

    Parameters
    ----------
    trial : optuna.Trial
        Draws the values (in :data:`SEARCH_SPACE` order, so a seeded sampler reproduces them).
    base : Config
        Everything not searched: data, horizons, evaluation settings, seeds.

    Returns
    -------
    Config
    """
    return apply_params(base, {name: p.suggest(trial, name) for name, p in SEARCH_SPACE.items()})


def default_params(base: Config) -> dict[str, Any]:
    """``base``'s own values of the searched settings that lie in the search space."""
    values = {name: p.read(base) for name, p in SEARCH_SPACE.items()}
    return {name: v for name, v in values.items() if SEARCH_SPACE[name].contains(v)}


class TrialSeededTPESampler(optuna.samplers.TPESampler):
    """TPE whose random draws for trial *n* depend only on ``(seed, n)``.

    A plain seeded sampler repeats the same draws in every worker (two workers would
    evaluate the same start-up configurations) and after every restart. Reseeding from
    the trial number keeps one worker reproducible and gives each trial of a shared
    study its own draws. (Reseeds TPESampler's private ``_rng`` and ``_random_sampler``;
    ``tests/test_tune.py`` checks both properties against the installed Optuna.)
    """

    def __init__(self, seed: int) -> None:
        super().__init__(seed=seed)
        self._base_seed = seed

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        seed = int(np.random.SeedSequence([self._base_seed, trial.number]).generate_state(1)[0])
        self._rng.rng.seed(seed)
        self._random_sampler = optuna.samplers.RandomSampler(seed=seed)
        super().before_trial(study, trial)


# -- the data: tuning period and hold-out ------------------------------------------------------
@dataclass(frozen=True)
class TuningData:
    """The raw panel split in time.

    Attributes
    ----------
    full : pd.DataFrame
        Everything (used only for the final hold-out scores).
    tuning : pd.DataFrame
        Observations before ``holdout_start``: all the objective ever sees.
    holdout_start : pd.Timestamp or None
        First business day of the hold-out (None: no hold-out).
    fingerprint : str
        Content hash of ``full``.
    """

    full: pd.DataFrame
    tuning: pd.DataFrame
    holdout_start: pd.Timestamp | None
    fingerprint: str


def min_holdout_days(cfg: Config) -> int:
    """Shortest hold-out that leaves realised targets to score: twice the longest horizon, 126 at least."""
    return max(126, 2 * max(cfg.model.horizons))


def split_holdout(panel: pd.DataFrame, cfg: Config, holdout_days: int) -> TuningData:
    """Cut the last ``holdout_days`` business days off ``panel`` as the hold-out.

    Raises
    ------
    ConfigError
        When the hold-out is too short to score or leaves too little history to tune on.
    """
    fingerprint = panel_fingerprint(panel)
    if holdout_days == 0:
        return TuningData(panel, panel, None, fingerprint)
    if holdout_days < min_holdout_days(cfg):
        raise ConfigError(f"`--holdout-days` must be 0 or at least {min_holdout_days(cfg)} business days "
                          f"(126, or twice the longest horizon). Got {holdout_days}.")
    design = make_template(cfg).make_design(panel)
    start = len(design.index) - holdout_days
    needed = cfg.evaluation.initial_train + max(cfg.model.horizons) + 1
    if start - design.first_complete() < needed:
        raise ConfigError(
            f"`--holdout-days {holdout_days}` leaves {max(0, start - design.first_complete())} business days with "
            f"complete features to tune on; the walk-forward needs {needed} (lower --holdout-days or --initial-train)"
        )
    split = design.index[start]
    return TuningData(panel, panel.loc[panel.index < split], split, fingerprint)


# -- the objective -----------------------------------------------------------------------------
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
    """Mean over horizons of the Spearman IC on rows with a realised target (no skill, 0, where undefined)."""
    ics = []
    for h in horizons:
        f = pred[forecast_name(h)].to_numpy(dtype=float)
        y = targets[target_name(h)].reindex(pred.index).to_numpy(dtype=float)
        ok = np.isfinite(f) & np.isfinite(y)
        ic = spearman_ic(f[ok], y[ok])
        ics.append(ic if np.isfinite(ic) else 0.0)
    return float(np.mean(ics))


def walk_forward_scores(cfg: Config, panel: pd.DataFrame, score_from: pd.Timestamp | None = None) -> Iterator[FoldScore]:
    """Run the light walk-forward of ``cfg`` on ``panel`` fold by fold (model only, no baselines).

    Same folds, refits, HMM warm starts and purge as
    :func:`training.evaluate.run_walk_forward`, so the last ``cum_ic`` equals
    :func:`training.gate.gate_score` of its score table wherever every IC is defined
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

    Yields
    ------
    FoldScore
    """
    template = make_template(cfg)
    ev = cfg.evaluation
    horizons = tuple(cfg.model.horizons)
    design = template.make_design(panel, min_rows=ev.initial_train + max(horizons) + 1)
    first = 0 if score_from is None else int(design.index.searchsorted(score_from))
    folds = walk_forward_folds(len(design.index), design.first_complete(), ev.initial_train, ev.step, ev.window)
    if folds[-1].test_end <= first:
        raise DataError(f"no walk-forward test dates on or after {score_from}")
    parts: list[pd.DataFrame] = []
    previous = None
    for k, fold in enumerate(folds, start=1):
        pipe = clone(template).fit_design(design, fold.cutoff, fold.train_start,
                                          regime_init=previous.regime_ if previous is not None else None)
        previous = pipe
        pred = pipe.predict_design(design).reindex(design.index[max(fold.cutoff, first) : fold.test_end])
        parts.append(pred)
        yield FoldScore(k, len(folds), mean_ic(pred, design.targets, horizons),
                        mean_ic(pd.concat(parts), design.targets, horizons))


class TuneReporter:
    """Receives progress from a tuning worker. Default: silent; the CLI's progress bars have the same methods."""

    def trial_started(self, number: int) -> None:
        """A trial begins."""

    def fold(self, done: int, total: int) -> None:
        """A walk-forward fold of the current trial finished."""

    def trial_finished(self, trial: FrozenTrial, best: FrozenTrial | None) -> None:
        """A trial of this worker finished (complete, pruned or failed)."""

    def stage(self, name: str) -> None:
        """A closing stage begins (hold-out evaluation, artifacts)."""


def worker_id() -> str:
    """``host:pid`` of this process."""
    return f"{socket.gethostname()}:{os.getpid()}"


class WalkForwardObjective:
    """A trial's value: the mean walk-forward IC of its configuration on the tuning period.

    The cumulative IC is reported after every fold so the pruner can stop a trial that
    is already below the median of earlier trials at the same fold.

    Parameters
    ----------
    base : Config
        Settings not searched (see :func:`suggest_config`).
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
        cfg = suggest_config(trial, self.base)
        trial.set_user_attr("config", cfg.to_dict())
        trial.set_user_attr("worker", worker_id())
        self.reporter.trial_started(trial.number)
        fold_ics: list[float] = []
        try:
            for score in walk_forward_scores(cfg, self.panel):
                fold_ics.append(score.fold_ic)
                trial.report(score.cum_ic, score.done - 1)
                self.reporter.fold(score.done, score.total)
                if score.done < score.total and trial.should_prune():  # a finished trial keeps its value
                    raise optuna.TrialPruned(f"cumulative IC {score.cum_ic:+.4f} after fold {score.done} of {score.total}")
        except RegimeError as exc:
            trial.set_user_attr("fail_reason", str(exc))
            raise
        finally:
            trial.set_user_attr("fold_ic", fold_ics)
        return score.cum_ic


# -- storage and study -------------------------------------------------------------------------
def describe_storage(storage: str | None) -> str:
    """The storage as it may be shown and logged (database passwords hidden)."""
    if storage is None or "://" not in storage:
        return str(Path(storage) if storage else DEFAULT_JOURNAL)
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(storage).render_as_string(hide_password=True)
    except ArgumentError:
        raise ConfigError(f"`--storage` is neither a journal file path nor a database URL. Got '{storage}'.") from None


def open_storage(storage: str | None, create: bool = True, heartbeat_interval: int = HEARTBEAT_INTERVAL,
                 grace_period: int = GRACE_PERIOD) -> BaseStorage:
    """The Optuna storage behind ``--storage``.

    Parameters
    ----------
    storage : str or None
        A journal file path (default ``mlruns/optuna-journal.log``: the workers of one
        machine) or a database URL such as ``postgresql://user:pw@host/optuna`` (many
        machines). Database trials send a heartbeat; a trial whose worker died is marked
        FAIL after ``grace_period`` seconds and retried once.
    create : bool
        Create a missing journal file (False: a missing file is a :class:`ConfigError`).
    heartbeat_interval, grace_period : int
        Seconds, for database storages.

    Raises
    ------
    ConfigError
        For a malformed URL, a missing database driver or an unreachable database.
    """
    shown = describe_storage(storage)
    if storage is None or "://" not in storage:
        path = Path(shown)
        if not create and not path.is_file():
            raise ConfigError(f"no tuning journal at {path}: run `regime tune` first or pass --storage")
        path.parent.mkdir(parents=True, exist_ok=True)
        return optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(path)))
    from sqlalchemy.exc import IntegrityError, SQLAlchemyError

    with warnings.catch_warnings():  # heartbeats and the retry callback are experimental in Optuna
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        retry = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=1)
        try:
            for attempt in range(3):
                try:
                    return optuna.storages.RDBStorage(
                        storage, heartbeat_interval=heartbeat_interval, grace_period=grace_period,
                        heartbeat_stale_trial_callback=retry,
                    )
                except IntegrityError:  # workers creating the tables of a new database at once
                    if attempt == 2:
                        raise
                    time.sleep(1.0 + attempt)
        except ImportError as exc:
            driver = getattr(exc.__cause__, "name", None) or "its driver"
            raise ConfigError(f"cannot open tuning storage {shown}: {driver} is not installed "
                              "(PostgreSQL needs `pip install 'psycopg[binary]'`)") from None
        except (SQLAlchemyError, ValueError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConfigError(f"cannot open tuning storage {shown}: {first}") from None


def open_study(name: str, storage: BaseStorage, seed: int, n_warmup_steps: int) -> tuple[optuna.Study, bool]:
    """Create study ``name`` or join it; returns (study, created by this call).

    Seeded :class:`TrialSeededTPESampler`; :class:`~optuna.pruners.MedianPruner` that
    waits for 5 finished trials and ``n_warmup_steps`` folds of each trial.
    """
    sampler = TrialSeededTPESampler(seed)
    pruner = optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=n_warmup_steps)
    try:
        study = optuna.create_study(study_name=name, storage=storage, sampler=sampler, pruner=pruner,
                                    direction="maximize")
        return study, True
    except optuna.exceptions.DuplicatedStudyError:
        study = optuna.load_study(study_name=name, storage=storage, sampler=sampler, pruner=pruner)
    if study.direction != optuna.study.StudyDirection.MAXIMIZE:
        raise ConfigError(f"study '{name}' minimises; it was not created by `regime tune` (use another --study)")
    return study, False


def study_setup(base: Config, data: TuningData) -> dict[str, Any]:
    """What every worker of a study must share: the data, the hold-out and the settings not searched."""
    sections = {k: v for k, v in base.to_dict().items() if k in ("features", "model", "evaluation")}
    return json.loads(json.dumps({
        "data_fingerprint": data.fingerprint,
        "holdout_start": data.holdout_start.date().isoformat() if data.holdout_start is not None else None,
        "base": sections,
    }))


def join_setup(study: optuna.Study, setup: dict[str, Any]) -> None:
    """Record ``setup`` on a new study, or check a joined study was tuned on the same one.

    Raises
    ------
    ConfigError
        When the study's workers used other data, another hold-out or other settings.
    """
    known = study.user_attrs.get("setup")
    if known is None:
        study.set_user_attr("setup", setup)
        return
    diff = sorted(k for k in setup if known.get(k) != setup[k])
    if diff:
        raise ConfigError(
            f"study '{study.study_name}' was tuned with other {' and '.join(d.replace('_', ' ') for d in diff)} "
            "(every worker needs the same data, hold-out and settings); use another --study"
        )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        pass
    return True


def fail_orphaned_trials(study: optuna.Study) -> list[int]:
    """Mark FAIL the RUNNING trials whose worker was a process of this host that no longer exists.

    Journal storages have no heartbeat: a worker killed mid-trial leaves its trial
    RUNNING. Every worker calls this when it starts.
    """
    host = socket.gethostname()
    failed = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        worker_host, _, pid = str(t.user_attrs.get("worker", "")).rpartition(":")
        if worker_host == host and pid.isdigit() and not _alive(int(pid)):
            study.tell(t.number, state=TrialState.FAIL)
            failed.append(t.number)
    if failed:
        logger.warning("marked trials %s FAIL: their worker process is gone", failed)
    return failed


def best_trial(study: optuna.Study) -> FrozenTrial | None:
    """The best complete trial, or None before the first one."""
    try:
        return study.best_trial
    except ValueError:
        return None


# -- MLflow ------------------------------------------------------------------------------------
@contextmanager
def local_store_lock(tracking_uri: str) -> Iterator[None]:
    """Hold an exclusive file lock beside a local sqlite MLflow store (no-op for other stores).

    MLflow creates and migrates a new sqlite store's tables on first use, and two
    workers doing so at once fail; the first use is serialised with this lock.
    """
    if not tracking_uri.startswith("sqlite:///"):
        yield
        return
    import fcntl

    with open(tracking_uri.removeprefix("sqlite:///") + ".lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


class MlflowTrialLogger:
    """Optuna callback: one MLflow run per finished trial, nested under the worker's run.

    Logs the trial's parameters, its value (``score``, complete trials only), the cumulative
    IC (``cum_ic``) and the IC of each fold (``fold_ic``) by fold step, its state and its
    configuration (``config.json``).
    """

    def __init__(self, experiment_id: str, parent_run_id: str, study_name: str) -> None:
        self.experiment_id = experiment_id
        self.parent_run_id = parent_run_id
        self.study_name = study_name

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        from mlflow import MlflowClient
        from mlflow.entities import Metric, Param as MlflowParam, RunTag

        client = MlflowClient()
        start = int(trial.datetime_start.timestamp() * 1000) if trial.datetime_start else None
        end = int(trial.datetime_complete.timestamp() * 1000) if trial.datetime_complete else int(time.time() * 1000)
        tags = {"mlflow.parentRunId": self.parent_run_id, "optuna.study": self.study_name,
                "optuna.trial": str(trial.number), "optuna.state": trial.state.name,
                "optuna.worker": str(trial.user_attrs.get("worker", ""))}
        if "fail_reason" in trial.user_attrs:
            tags["optuna.fail_reason"] = str(trial.user_attrs["fail_reason"])[:5000]
        run = client.create_run(self.experiment_id, start_time=start, tags=tags, run_name=f"trial-{trial.number}")
        metrics = [Metric("cum_ic", float(v), end, int(step)) for step, v in sorted(trial.intermediate_values.items())]
        metrics += [Metric("fold_ic", float(v), end, k) for k, v in enumerate(trial.user_attrs.get("fold_ic", []))]
        if trial.state == TrialState.COMPLETE:
            metrics.append(Metric("score", float(trial.value), end, 0))
        if trial.duration is not None:
            metrics.append(Metric("duration_s", trial.duration.total_seconds(), end, 0))
        client.log_batch(run.info.run_id, metrics=metrics,
                         params=[MlflowParam(k, str(v)) for k, v in trial.params.items()],
                         tags=[RunTag(k, v) for k, v in tags.items() if not k.startswith("mlflow.")])
        if "config" in trial.user_attrs:
            client.log_dict(run.info.run_id, trial.user_attrs["config"], "config.json")
        client.set_terminated(run.info.run_id, "FAILED" if trial.state == TrialState.FAIL else "FINISHED", end)


def log_study_artifacts(run_id: str, study: optuna.Study, summary: dict[str, Any]) -> None:
    """Best trial (JSON), all trials (CSV), optimisation history and parameter importances (PNG, JSON)."""
    import matplotlib
    import matplotlib.pyplot as plt
    from mlflow import MlflowClient
    from optuna.visualization import matplotlib as optuna_plots

    client = MlflowClient()
    client.log_dict(run_id, summary, "study/best_trial.json")
    with tempfile.TemporaryDirectory() as tmp:
        study.trials_dataframe().to_csv(Path(tmp) / "trials.csv", index=False)
        client.log_artifact(run_id, str(Path(tmp) / "trials.csv"), "study")
    plots = {"optimization_history": lambda: optuna_plots.plot_optimization_history(study)}
    if len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))) >= 2:
        evaluator = optuna.importance.FanovaImportanceEvaluator(seed=0)
        client.log_dict(run_id, optuna.importance.get_param_importances(study, evaluator=evaluator),
                        "study/param_importances.json")
        plots["param_importances"] = lambda: optuna_plots.plot_param_importances(study, evaluator=evaluator)
    # Optuna's matplotlib plots are experimental and switch the global style: keep both local
    with warnings.catch_warnings(), matplotlib.rc_context():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        for name, plot in plots.items():
            ax = plot()
            client.log_figure(run_id, ax.figure, f"study/{name}.png", save_kwargs={"dpi": 110, "bbox_inches": "tight"})
            plt.close(ax.figure)


# -- the worker --------------------------------------------------------------------------------
@dataclass(frozen=True)
class TuneSettings:
    """Options of a tuning worker.

    Attributes
    ----------
    study : str
        Study name; workers with the same name and storage share it.
    storage : str or None
        Journal file path or database URL (see :func:`open_storage`).
    trials : int or None
        Trials this worker runs (None: until ``timeout`` or Ctrl-C).
    timeout : float or None
        Seconds after which this worker starts no new trial.
    holdout_days : int
        Final business days kept out of tuning (0: none).
    seed : int
        Sampler seed.
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
        """This worker's finished trials per minute of optimisation."""
        return 60.0 * self.worker_trials / self.elapsed_s if self.elapsed_s > 0 else float("nan")


def holdout_score(study: optuna.Study, trial: FrozenTrial, data: TuningData) -> float | None:
    """Mean IC on the hold-out of ``trial``'s configuration (cached in the study for other workers)."""
    if data.holdout_start is None:
        return None
    key = str(trial.number)
    cached = study.user_attrs.get("holdout_ic", {})
    if key in cached:
        return float(cached[key])
    *_, last = walk_forward_scores(Config.from_dict(trial.user_attrs["config"]), data.full, data.holdout_start)
    study.set_user_attr("holdout_ic", {**study.user_attrs.get("holdout_ic", {}), key: last.cum_ic})
    return last.cum_ic


def trial_summary(trial: FrozenTrial, holdout: float | None) -> dict[str, Any]:
    """Number, value, parameters, hold-out score and configuration of a trial (JSON-ready)."""
    return {"number": trial.number, "value": trial.value, "holdout_ic": holdout, "params": trial.params,
            "config": trial.user_attrs.get("config")}


def default_trial(study: optuna.Study) -> FrozenTrial | None:
    """The complete trial of the base configuration, if any."""
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        if t.user_attrs.get("role") == "default":
            return t
    return None


def tuning_base(cfg: Config) -> Config:
    """``cfg`` with the light evaluation used for tuning: model only, no bootstrap."""
    return cfg.replace(evaluation={"baselines": False, "n_bootstrap": 0})


def prepare_study(base: Config, settings: TuneSettings, data: TuningData) -> optuna.Study:
    """Open the storage, create or join the study and check it was tuned on the same setup.

    A new study gets the base configuration as its first trial; joining a journal study
    first fails the trials of this host's dead workers.
    """
    storage = open_storage(settings.storage)
    n_folds = len(walk_forward_folds(*_fold_geometry(base, data.tuning)))
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

    from training.tracking import configure_tracking, ensure_experiment

    reporter = reporter or TuneReporter()
    base = tuning_base(cfg)
    data = split_holdout(load_panel(cfg.data), base, settings.holdout_days)
    study = prepare_study(base, settings, data)
    with local_store_lock(configure_tracking(cfg.tracking.tracking_uri)):
        experiment_id = ensure_experiment(cfg.tracking.experiment)
    finished: list[FrozenTrial] = []

    def on_trial(study: optuna.Study, trial: FrozenTrial) -> None:
        finished.append(trial)
        reporter.trial_finished(trial, best_trial(study))

    tags = {"optuna.study": settings.study, "optuna.storage": describe_storage(settings.storage),
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
            _state_counts(study), len(finished), time.perf_counter() - t0, run.info.run_id, interrupted,
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


def _fold_geometry(cfg: Config, panel: pd.DataFrame) -> tuple[int, int, int, int, str]:
    """Arguments of :func:`walk_forward_folds` for ``cfg`` on ``panel`` (to count folds)."""
    ev = cfg.evaluation
    design = make_template(cfg).make_design(panel, min_rows=ev.initial_train + max(cfg.model.horizons) + 1)
    return len(design.index), design.first_complete(), ev.initial_train, ev.step, ev.window


def _state_counts(study: optuna.Study) -> dict[str, int]:
    counts: dict[str, int] = {}
    for t in study.get_trials(deepcopy=False):
        counts[t.state.name] = counts.get(t.state.name, 0) + 1
    return counts


# -- using the result --------------------------------------------------------------------------
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

    Raises
    ------
    ConfigError
        For another ``params`` value, an unknown study or a study without a complete trial.
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
