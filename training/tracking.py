"""MLflow store, model logging and the registry (aliases, never stages).

The default store is ``sqlite:///mlruns/mlflow.db`` with artifacts under
``mlruns/artifacts`` (relative to the working directory); ``MLFLOW_TRACKING_URI`` or
``TrackingConfig.tracking_uri`` override it. Nothing here runs at import time.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import pandas as pd

from features.errors import ModelError
from models.pipeline import RegimeForecastPipeline
from models.pyfunc import INFO_ARTIFACT, PIPELINE_ARTIFACT

logger = logging.getLogger(__name__)

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
CODE_PATHS = [str(PACKAGE_ROOT / p) for p in ("features", "regime", "models")]
ENTRY_FILE = str(PACKAGE_ROOT / "models" / "pyfunc_entry.py")
DEFAULT_STORE = Path("mlruns")


def pip_requirements() -> list[str]:
    """Exact versions of what the pyfunc needs at load time (skips MLflow's slow inference)."""
    from importlib.metadata import version

    pkgs = ["mlflow", "pandas", "numpy", "scipy", "scikit-learn", "lightgbm", "hmmlearn", "joblib"]
    return [f"{p}=={version(p)}" for p in pkgs]


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


def ensure_experiment(name: str) -> str:
    """Experiment id of ``name``, created with artifacts beside a local sqlite store."""
    import mlflow

    exp = mlflow.get_experiment_by_name(name)
    if exp is not None:
        return exp.experiment_id
    location = artifact_location(mlflow.get_tracking_uri())
    try:
        return mlflow.create_experiment(name, artifact_location=location)
    except Exception:  # another job created it first
        exp = mlflow.get_experiment_by_name(name)
        if exp is None:
            raise
        return exp.experiment_id


def log_pipeline_model(
    pipeline: RegimeForecastPipeline, info: dict[str, Any], example_output: pd.DataFrame
) -> Any:
    """Log the fitted chain as a pyfunc model in the active run; returns MLflow's ModelInfo."""
    import mlflow
    from mlflow.models import ModelSignature, infer_signature
    from mlflow.types import ParamSchema, ParamSpec

    outputs = infer_signature(example_output.head(5), example_output.head(5)).outputs
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        # No input example on purpose: the input is a free-form panel validated by the model itself.
        warnings.filterwarnings("ignore", message=".*input example was not provided.*")
        pipe_path = Path(tmp) / "pipeline.joblib"
        info_path = Path(tmp) / "model_info.json"
        joblib.dump(pipeline, pipe_path)
        info_path.write_text(json.dumps(info, indent=2, default=str), encoding="utf-8")
        return mlflow.pyfunc.log_model(
            name="model",
            python_model=ENTRY_FILE,
            artifacts={PIPELINE_ARTIFACT: str(pipe_path), INFO_ARTIFACT: str(info_path)},
            code_paths=CODE_PATHS,
            pip_requirements=pip_requirements(),
            signature=ModelSignature(inputs=None, outputs=outputs, params=ParamSchema([ParamSpec("last", "long", 0)])),
        )


@dataclass(frozen=True)
class Registration:
    """Outcome of registering a model version."""

    name: str
    version: str
    alias: str
    promoted: bool
    reason: str


def current_version(name: str, alias: str) -> Any | None:
    """The model version behind ``name@alias``, or None if there is none."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    try:
        return MlflowClient().get_model_version_by_alias(name, alias)
    except MlflowException:
        return None


def register_model(model_uri: str, name: str, run_id: str) -> str:
    """Register ``model_uri`` under ``name``; returns the new version (waits until READY)."""
    import mlflow

    mv = mlflow.register_model(model_uri, name, tags={"run_id": run_id})
    return str(mv.version)


def delete_version(name: str, version: str) -> None:
    """Remove ``version`` of ``name`` (registered by a job that then failed); never raises."""
    from mlflow import MlflowClient

    try:
        MlflowClient().delete_model_version(name, version)
    except Exception:  # noqa: BLE001 - the job's own error is the one to report
        logger.warning("could not remove version %s of %s after a failed job", version, name, exc_info=True)


def set_alias(name: str, alias: str, version: str) -> None:
    """Point ``name@alias`` at ``version`` (atomic in the registry)."""
    from mlflow import MlflowClient

    MlflowClient().set_registered_model_alias(name, alias, version)


def load_pyfunc(model_uri: str) -> Any:
    """Load a pyfunc model, turning MLflow's errors into a one-line :class:`ModelError`."""
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        return mlflow.pyfunc.load_model(model_uri)
    except MlflowException as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelError(f"cannot load model '{model_uri}': {msg}") from None
    except OSError as exc:
        raise ModelError(f"cannot load model '{model_uri}': {exc}") from None


def unwrap(model: Any) -> tuple[RegimeForecastPipeline, dict[str, Any]]:
    """The fitted pipeline and model info inside a loaded pyfunc model."""
    inner = model.unwrap_python_model()
    return inner.pipeline, inner.info


def read_run_csv(run_id: str, artifact: str) -> pd.DataFrame:
    """A CSV artifact of an MLflow run (empty frame for an empty file), or :class:`ModelError` if missing."""
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        path = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=artifact)
    except (MlflowException, OSError) as exc:
        raise ModelError(f"run {run_id} has no artifact {artifact}: {str(exc).splitlines()[0]}") from None
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:  # e.g. no Diebold-Mariano rows without baselines
        return pd.DataFrame()
