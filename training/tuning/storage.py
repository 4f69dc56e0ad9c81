"""Where tuning studies live: journal files or databases, shared by many workers.

A journal file serves the workers of one machine; a database URL (PostgreSQL) serves many
machines. Every worker records itself on its trials as ``host:pid`` (:func:`worker_id`),
so a journal worker can fail the trials of dead workers of its host.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import optuna
from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial, TrialState

from features.config import DataConfig
from features.errors import ConfigError
from training.config import Config, EvalConfig
from training.tuning.space import TrialSeededTPESampler

if TYPE_CHECKING:
    from training.tuning.period import TuningData

logger = logging.getLogger(__name__)

DEFAULT_STUDY = "btc-regime"
DEFAULT_JOURNAL = Path("mlruns") / "optuna-journal.log"
HEARTBEAT_INTERVAL = 30
GRACE_PERIOD = 120


def worker_id() -> str:
    """This process as a tuning worker.

    Returns
    -------
    str
        ``host:pid``.
    """
    return f"{socket.gethostname()}:{os.getpid()}"


def describe_storage(storage: str | None) -> str:
    """The storage as it may be shown and logged (database passwords hidden).

    Parameters
    ----------
    storage : str or None
        ``--storage``: a journal file path, a database URL or None (the default journal).

    Returns
    -------
    str

    Raises
    ------
    ConfigError
        For a string with ``://`` that is not a database URL.
    """
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

    Returns
    -------
    optuna.storages.BaseStorage
        A ``JournalStorage`` or an ``RDBStorage``.

    Raises
    ------
    ConfigError
        For a missing journal (``create=False``), a malformed URL, a missing database
        driver or an unreachable database.
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
    """Create study ``name`` or join it.

    Parameters
    ----------
    name : str
        Study name.
    storage : optuna.storages.BaseStorage
        From :func:`open_storage`.
    seed : int
        Seed of the :class:`~training.tuning.space.TrialSeededTPESampler`.
    n_warmup_steps : int
        Folds of each trial before the :class:`~optuna.pruners.MedianPruner` may stop it
        (it also waits for 5 finished trials).

    Returns
    -------
    study : optuna.Study
    created : bool
        Whether this call created the study.

    Raises
    ------
    ConfigError
        When an existing study of that name minimises (not a ``regime tune`` study).
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
    """What every worker of a study must share, and what the study was tuned on.

    Parameters
    ----------
    base : Config
        The worker's base configuration.
    data : TuningData
        The worker's data split.

    Returns
    -------
    dict of str -> Any
        JSON-ready: ``data_fingerprint``, ``sealed_start`` and ``base`` (the features,
        model and evaluation sections), which every worker must share, and ``data``: the
        data settings (source, folder, start, end, demo seed), the design's first and last
        business day, the raw panel's first and last date and ``seen_to``, the last date
        the objective could see. ``regime train --params best`` checks its data against these.
    """
    sections = {k: v for k, v in base.to_dict().items() if k in ("features", "model", "evaluation")}
    d = base.data
    return json.loads(json.dumps({
        "data_fingerprint": data.fingerprint,
        "sealed_start": data.sealed_start.date().isoformat() if data.sealed_start is not None else None,
        "base": sections,
        "data": {"source": d.source, "data_dir": d.data_dir, "cache_dir": d.cache_dir, "sources_file": d.sources_file,
                 "start": d.start, "end": d.end, "seed": d.seed, "first": data.first, "last": data.last,
                 "panel_first": data.full.index.min().date().isoformat(),
                 "panel_last": data.full.index.max().date().isoformat(), "seen_to": data.seen_to},
    }))


#: Keys of :func:`study_setup` that describe the data rather than define the study (a worker may
#: name the same data folder by another path).
DESCRIPTIVE_SETUP = ("data",)


def join_setup(study: optuna.Study, setup: dict[str, Any]) -> None:
    """Record ``setup`` on a new study, or check a joined study was tuned on the same one.

    Parameters
    ----------
    study : optuna.Study
        The study being joined.
    setup : dict of str -> Any
        From :func:`study_setup`.

    Raises
    ------
    ConfigError
        When the study's workers used other data, another sealed segment or other settings.
    """
    known = study.user_attrs.get("setup")
    if known is None:
        study.set_user_attr("setup", setup)
        return
    diff = sorted(k for k in setup if k not in DESCRIPTIVE_SETUP and known.get(k) != setup[k])
    if diff:
        raise ConfigError(
            f"study '{study.study_name}' was tuned with other {' and '.join(d.replace('_', ' ') for d in diff)} "
            "(every worker needs the same data, sealed segment and settings); use another --study"
        )


def train_args(data: dict[str, Any], evaluation: dict[str, Any] | None = None) -> list[str]:
    """``regime train`` options that select ``data`` (a study's record) and its non-default walk-forward.

    Parameters
    ----------
    data : dict
        ``source``, ``data_dir``, ``cache_dir``, ``sources_file``, ``start``, ``end``,
        ``seed`` and ``panel_last`` (the panel's last observation, pinned as ``--end`` when
        no end was given, so the command still selects the same data after the folder grows).
    evaluation : dict, optional
        Walk-forward settings; those that differ from the defaults are added.

    Returns
    -------
    list of str
    """
    args = ["--source", str(data["source"])]
    if data.get("data_dir"):
        args += ["--data-dir", str(data["data_dir"])]
    for key, opt in (("cache_dir", "--cache-dir"), ("sources_file", "--sources-file")):
        if data.get(key):
            args += [opt, str(data[key])]
    if data["source"] == "demo" and data.get("seed", DataConfig().seed) != DataConfig().seed:
        args += ["--seed", str(data["seed"])]
    if data.get("start"):
        args += ["--start", str(data["start"])]
    end = data.get("end") or data.get("panel_last")
    if end:
        args += ["--end", str(end)]
    defaults = EvalConfig()
    for key in ("initial_train", "step", "window", "sealed_days"):
        value = (evaluation or {}).get(key, getattr(defaults, key))
        if value != getattr(defaults, key):
            args += [f"--{key.replace('_', '-')}", str(value)]
    return args


def train_command(study: str, storage: str, setup: dict[str, Any]) -> str:
    """The ``regime train --params best`` command that trains on the data a study was tuned on.

    Parameters
    ----------
    study : str
        Study name.
    storage : str
        The storage as shown (:func:`describe_storage`).
    setup : dict
        The study's setup (:func:`study_setup`).

    Returns
    -------
    str
        With ``--study``/``--storage`` when not the defaults, the data options of
        :func:`train_args` and the study's non-default walk-forward settings.
    """
    args = ["regime", "train", "--params", "best"]
    if study != DEFAULT_STUDY:
        args += ["--study", study]
    if storage != str(DEFAULT_JOURNAL):
        args += ["--storage", f"'{storage}'"]
    return " ".join(args + train_args(setup["data"], setup.get("base", {}).get("evaluation")))


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
    RUNNING. Every journal worker calls this when it starts.

    Parameters
    ----------
    study : optuna.Study
        The joined study.

    Returns
    -------
    list of int
        Numbers of the trials marked FAIL.
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
    """The best complete trial of ``study``.

    Parameters
    ----------
    study : optuna.Study

    Returns
    -------
    optuna.trial.FrozenTrial or None
        None before the first complete trial.
    """
    try:
        return study.best_trial
    except ValueError:
        return None


def default_trial(study: optuna.Study) -> FrozenTrial | None:
    """The complete trial of the base configuration (``role=default``).

    Parameters
    ----------
    study : optuna.Study

    Returns
    -------
    optuna.trial.FrozenTrial or None
        None while it has not completed (or when the defaults lie outside the search space).
    """
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        if t.user_attrs.get("role") == "default":
            return t
    return None


def state_counts(study: optuna.Study) -> dict[str, int]:
    """Trials of the whole study by state.

    Parameters
    ----------
    study : optuna.Study

    Returns
    -------
    dict of str -> int
        Keyed by state name (``COMPLETE``, ``PRUNED``, ...).
    """
    counts: dict[str, int] = {}
    for t in study.get_trials(deepcopy=False):
        counts[t.state.name] = counts.get(t.state.name, 0) + 1
    return counts
