"""The MLflow store: where runs and models go.

The default store is ``sqlite:///mlruns/mlflow.db`` with artifacts under
``mlruns/artifacts`` (relative to the working directory); ``MLFLOW_TRACKING_URI`` or
``TrackingConfig.tracking_uri`` override it. Nothing here runs at import time.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from features.errors import StoreError

if TYPE_CHECKING:  # pragma: no cover
    from training.config import TrackingConfig

logger = logging.getLogger(__name__)

DEFAULT_STORE = Path("mlruns")


def resolve_tracking_uri(explicit: str | None = None) -> str:
    """Tracking URI: explicit, else ``$MLFLOW_TRACKING_URI``, else the local sqlite store."""
    if explicit:
        return explicit
    env = os.environ.get("MLFLOW_TRACKING_URI")
    if env:
        return env
    return f"sqlite:///{(DEFAULT_STORE / 'mlflow.db').as_posix()}"


def sqlite_path(uri: str) -> Path | None:
    """The database file of a local ``sqlite:///`` store (None for other stores)."""
    return Path(uri.removeprefix("sqlite:///")) if uri.startswith("sqlite:///") else None


def check_store(uri: str | None = None, write: bool = True) -> str:
    """Check a local store before any work: a one-line :class:`StoreError` naming it if it cannot serve.

    Refused: a path under a regular file, a database that is a folder, not a database or
    damaged (SQLite's ``quick_check``), and, when ``write``, a location without write
    permission (a read-only file system). Other stores (a tracking server, PostgreSQL) are
    left to MLflow. Returns the URI.
    """
    uri = resolve_tracking_uri(uri)
    db = sqlite_path(uri)
    if db is None:
        return uri
    existing = next((p for p in (db, *db.parents) if p.exists()), Path("."))
    if existing != db and not existing.is_dir():
        raise StoreError(f"MLflow store {uri}: {existing} is a regular file, not a folder; "
                         "pick another place with --tracking-uri or MLFLOW_TRACKING_URI")
    if db.exists():
        if db.is_dir():
            raise StoreError(f"MLflow store {uri}: {db} is a folder, not a database file")
        problem = _database_problem(db)
        if problem:
            raise StoreError(f"MLflow store {uri} is damaged ({problem}); nothing was changed. Restore "
                             f"{db} from a backup, or use another store (--tracking-uri)")
    if write:
        target = db if db.exists() else existing
        if not os.access(target, os.W_OK) or (db.exists() and not os.access(db.parent, os.W_OK)):
            raise StoreError(f"MLflow store {uri} is read-only ({target}); training writes runs and models "
                             "there: use a writable store (--tracking-uri)")
    return uri


def _database_problem(db: Path) -> str | None:
    """Why ``db`` is not a healthy SQLite database (None when it is). Opens it read-only."""
    if db.stat().st_size == 0:
        return None  # an empty file is an empty database: MLflow creates its tables in it
    try:
        conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        return str(exc)
    try:
        rows = conn.execute("PRAGMA quick_check(1)").fetchall()
    except sqlite3.DatabaseError as exc:
        return str(exc)
    finally:
        conn.close()
    return None if rows == [("ok",)] else str(rows[0][0])


def configure_tracking(uri: str | None = None, write: bool = True) -> str:
    """Point MLflow at the store (checked by :func:`check_store`).

    A local store is created if missing. With ``write=False`` (predict, explain) an
    existing store is only read, so a read-only store serves. A store written to is tidied
    first: runs left RUNNING by processes that no longer exist are marked KILLED
    (:func:`training.tracking.stale_runs.close_dead_runs`, which says so); commands that
    only read leave that to the next one that writes.
    """
    import mlflow

    uri = check_store(uri, write)
    db = sqlite_path(uri)
    if db is not None and (write or not db.exists()):
        db.parent.mkdir(parents=True, exist_ok=True)
        _initialise_sqlite_store(uri)
    mlflow.set_tracking_uri(uri)
    if write and (db is None or os.access(db, os.W_OK)):  # a read is not a write, not even to close runs
        from training.tracking.stale_runs import close_dead_runs

        close_dead_runs()
    return uri


def check_training_store(tracking: TrackingConfig) -> str:
    """Everything a training job needs from its store, checked before the work; returns the URI.

    The store must be writable (:func:`check_store`), and when the job may be compared with the
    champion (registering, not ``force_promote``), the champion's files must be there: the
    gate cannot judge against a model it cannot load, so a broken champion is refused with
    how to recover. A new store is not created here.
    """
    from training.tracking.registry import missing_model_files

    uri = check_store(tracking.tracking_uri, write=True)
    db = sqlite_path(uri)
    if db is not None and not db.exists():
        return uri
    configure_tracking(uri)  # also closes runs of dead processes
    if tracking.register and not tracking.force_promote:
        missing = missing_model_files(f"models:/{tracking.model_name}@champion")
        if missing:
            raise StoreError(f"the champion cannot be loaded: {missing}; nothing was changed")
    return uri


def _initialise_sqlite_store(uri: str) -> None:
    """Create or upgrade the schema of a local sqlite store under an exclusive file lock.

    MLflow creates and migrates the tables the first time a process opens a store, without a
    lock: processes doing that at once fail ('table ... already exists', half-applied alembic
    steps). The lock file sits beside the database; without ``fcntl`` (Windows) it is skipped.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        return
    from mlflow import MlflowClient

    db = Path(uri.removeprefix("sqlite:///"))
    with open(db.with_name(db.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            MlflowClient(tracking_uri=uri, registry_uri=uri).search_registered_models(max_results=1)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def artifact_location(tracking_uri: str) -> str | None:
    """Artifacts of a local sqlite store live beside its database (``mlruns/artifacts`` by default).

    Remote stores (a tracking server) choose their own artifact location: None.
    """
    if tracking_uri.startswith("sqlite:///"):
        db = Path(tracking_uri.removeprefix("sqlite:///"))  # relative, or absolute for sqlite:////
        return (db.resolve().parent / "artifacts").as_uri()
    return None


#: The experiment tag MLflow's UI reads to choose its view; this value opens the classic
#: training-runs view (runs table, metrics, models) instead of the GenAI one (traces, prompts).
EXPERIMENT_KIND = {"mlflow.experimentKind": "custom_model_development"}


def ensure_experiment(name: str) -> str:
    """Experiment id of ``name``, created with artifacts beside a local sqlite store.

    The experiment is tagged as classic model development (:data:`EXPERIMENT_KIND`), also
    when it already existed without the tag.
    """
    import mlflow

    exp = mlflow.get_experiment_by_name(name)
    if exp is None:
        location = artifact_location(mlflow.get_tracking_uri())
        try:
            return mlflow.create_experiment(name, artifact_location=location, tags=EXPERIMENT_KIND)
        except Exception:  # another job created it first
            exp = mlflow.get_experiment_by_name(name)
            if exp is None:
                raise
    for key, value in EXPERIMENT_KIND.items():
        if exp.tags.get(key) != value:
            mlflow.MlflowClient().set_experiment_tag(exp.experiment_id, key, value)
    return exp.experiment_id
