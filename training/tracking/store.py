"""The MLflow store: where runs and models go.

The default store is ``sqlite:///mlruns/mlflow.db`` with artifacts under
``mlruns/artifacts`` (relative to the working directory); ``MLFLOW_TRACKING_URI`` or
``TrackingConfig.tracking_uri`` override it. Nothing here runs at import time.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

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


def configure_tracking(uri: str | None = None) -> str:
    """Point MLflow at the store, creating ``mlruns/`` for the default local store."""
    import mlflow

    uri = resolve_tracking_uri(uri)
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        _initialise_sqlite_store(uri)
    mlflow.set_tracking_uri(uri)
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
