"""The MLflow store: where runs and models go.

The default store is ``sqlite:///mlruns/mlflow.db`` with artifacts under
``mlruns/artifacts`` (relative to the working directory); ``MLFLOW_TRACKING_URI`` or
``TrackingConfig.tracking_uri`` override it. Nothing here runs at import time.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from features.errors import ConfigError, StoreError
from training.tracking.server import check_server

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


#: URI schemes MLflow can keep runs and models in (a ``+driver`` suffix, ``postgresql+psycopg2``, is allowed).
SCHEMES = ("", "file", "sqlite", "http", "https", "postgresql", "mysql", "mssql", "databricks", "databricks-uc", "uc")
#: Free space a writing command needs beside a local store (a training writes about 5 MB: run, plots, model).
MIN_FREE_BYTES = 10 * 2**20
#: Seconds to wait for another process's write lock on a local store before saying it is busy.
BUSY_SECONDS = 3.0


def _named(explicit: str | None) -> str:
    """Where the store's URI came from, for messages."""
    if explicit:
        return "`--tracking-uri`"
    return "$MLFLOW_TRACKING_URI" if os.environ.get("MLFLOW_TRACKING_URI") else "the default store"


def check_scheme(uri: str, name: str) -> None:
    """Refuse a store URI whose scheme MLflow cannot keep runs in (``foo://bar``): a :class:`ConfigError` naming
    where it came from (``name``: the key, option or variable)."""
    scheme = uri.split("://", 1)[0].split("+", 1)[0].lower() if "://" in uri else ""
    if scheme not in SCHEMES:
        raise ConfigError(f"{name} {uri}: MLflow cannot keep runs in a '{scheme}://' "
                         "store; use sqlite:///path/mlflow.db, a folder, an http(s):// tracking server or a "
                         "database URL (postgresql://...)")


def check_store(uri: str | None = None, write: bool = True) -> str:
    """Check a store before any work: a one-line :class:`StoreError` naming it if it cannot serve.

    Refused: a URI scheme MLflow cannot store in; for a local ``sqlite:///`` store, a path
    under a regular file, a database that is a folder, not a database or damaged (SQLite's
    ``quick_check``), busy (another process holds a write lock for longer than
    :data:`BUSY_SECONDS`); for reading (``write=False``) a store that does not exist or is
    empty (0 bytes); for writing, a location without write permission (a read-only file
    system). A tracking server must answer (:func:`training.tracking.server.check_server`);
    other stores (PostgreSQL) are left to MLflow. Returns the URI.
    """
    given = uri
    uri = resolve_tracking_uri(uri)
    check_scheme(uri, _named(given))
    db = sqlite_path(uri)
    if db is None:
        if uri.startswith(("http://", "https://")):
            check_server(uri)
        return uri
    existing = next((p for p in (db, *db.parents) if p.exists()), Path("."))
    if existing != db and not existing.is_dir():
        raise StoreError(f"MLflow store {uri}: {existing} is a regular file, not a folder; "
                         "pick another place with --tracking-uri or MLFLOW_TRACKING_URI")
    if db.is_dir():
        raise StoreError(f"MLflow store {uri}: {db} is a folder, not a database file")
    if not write and (not db.exists() or db.stat().st_size == 0):
        what = "does not exist" if not db.exists() else "is empty (0 bytes: no runs, no models)"
        raise StoreError(f"MLflow store {uri}: {db} {what}; train a model first (`regime train`), "
                         "or point --tracking-uri at the store that holds it")
    if db.exists():
        problem = _database_problem(db)
        if problem == BUSY:
            raise StoreError(f"MLflow store {uri} is busy: another process holds a write lock on {db} (waited "
                             f"{BUSY_SECONDS:.0f} s); nothing was changed. Try again when it is done; the store is "
                             "not damaged")
        if problem:
            raise StoreError(f"MLflow store {uri} is damaged ({problem}); nothing was changed. Restore "
                             f"{db} from a backup, or use another store (--tracking-uri)")
    if write:
        target = db if db.exists() else existing
        if not os.access(target, os.W_OK) or (db.exists() and not os.access(db.parent, os.W_OK)):
            raise StoreError(f"MLflow store {uri} is read-only ({target}); training writes runs and models "
                             "there: use a writable store (--tracking-uri)")
        free = shutil.disk_usage(existing).free
        if free < MIN_FREE_BYTES:
            raise StoreError(f"MLflow store {uri}: the disk is full ({free / 2**20:.1f} MB free where {existing} is; "
                             f"a training writes about {MIN_FREE_BYTES // 2**20 // 2} MB); nothing was changed. Free "
                             "some space, or use another store (--tracking-uri)")
    return uri


#: What :func:`_database_problem` returns for a database locked by another process.
BUSY = "busy"


def _database_problem(db: Path) -> str | None:
    """Why ``db`` is not a healthy SQLite database (None when it is; :data:`BUSY` when locked). Opens it read-only."""
    if db.stat().st_size == 0:
        return None  # an empty file is an empty database: training creates MLflow's tables in it
    try:
        conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_SECONDS)
    except sqlite3.Error as exc:
        return str(exc)
    try:
        rows = conn.execute("PRAGMA quick_check(1)").fetchall()
    except sqlite3.OperationalError as exc:
        return BUSY if "locked" in str(exc) or "busy" in str(exc) else str(exc)
    except sqlite3.DatabaseError as exc:
        return str(exc)
    finally:
        conn.close()
    return None if rows == [("ok",)] else str(rows[0][0])


def configure_tracking(uri: str | None = None, write: bool = True) -> str:
    """Point MLflow at the store (checked by :func:`check_store`).

    With ``write=True`` (training) a local store is created if missing, and tidied first:
    runs left RUNNING by processes that no longer exist are marked KILLED
    (:func:`training.tracking.stale_runs.close_dead_runs`, which says so). With
    ``write=False`` (predict, explain, now) the store must exist and is only read: nothing
    is created, migrated or closed in it, so a read-only or full store serves.
    """
    import mlflow

    uri = check_store(uri, write)
    db = sqlite_path(uri)
    if db is not None and write:
        db.parent.mkdir(parents=True, exist_ok=True)
        _initialise_sqlite_store(uri)
    mlflow.set_tracking_uri(uri)
    if write:
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
