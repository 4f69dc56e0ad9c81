"""Logging the fitted chain as an MLflow pyfunc model, and loading it back.

Loading an MLflow model runs pickled code: load models only from stores you trust.
"""

from __future__ import annotations

import json
import pickle
import tempfile
import warnings
from pathlib import Path
from typing import Any

import joblib
import pandas as pd
import yaml

from features.errors import ModelError
from models.pipeline import RegimeForecastPipeline
from models.pyfunc import INFO_ARTIFACT, PIPELINE_ARTIFACT
from training.tracking.runs import downloaded

PACKAGE_ROOT = Path(__file__).resolve().parents[2]
CODE_PATHS = [str(PACKAGE_ROOT / p) for p in ("features", "regime", "models")]
ENTRY_FILE = str(PACKAGE_ROOT / "models" / "pyfunc_entry.py")
#: The model's own record (config, data range, horizons), stored beside the pickled chain.
INFO_FILE = "model_info.json"


def pip_requirements() -> list[str]:
    """Exact versions of what the pyfunc needs at load time (skips MLflow's slow inference)."""
    from importlib.metadata import version

    pkgs = ["mlflow", "pandas", "numpy", "scipy", "scikit-learn", "lightgbm", "hmmlearn", "joblib"]
    return [f"{p}=={version(p)}" for p in pkgs]


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
        info_path = Path(tmp) / INFO_FILE
        joblib.dump(pipeline, pipe_path)
        info_path.write_text(json.dumps(info, indent=2, default=str), encoding="utf-8")
        return mlflow.pyfunc.log_model(
            name="model",
            python_model=ENTRY_FILE,
            artifacts={PIPELINE_ARTIFACT: str(pipe_path), INFO_ARTIFACT: str(info_path)},
            code_paths=CODE_PATHS,
            pip_requirements=pip_requirements(),
            signature=ModelSignature(inputs=None, outputs=outputs, params=ParamSchema([
                ParamSpec("last", "long", 0), ParamSpec("accept_implausible", "string", [], shape=(-1,)),
                ParamSpec("bridge_gaps", "string", [], shape=(-1,))])),
        )


def load_pyfunc(model_uri: str) -> Any:
    """Load a pyfunc model, turning MLflow's errors into a one-line :class:`ModelError`.

    The model's files are copied to a private temporary folder first: MLflow writes a
    ``registered_model_meta`` file into the folder it loads from, and loading straight from
    the store would write into it (and fail on a read-only store). The folder lives until
    the process ends (the model's code is imported from it). MLflow's own check of the
    environment is replaced by :func:`training.tracking.environment.warn_if_mismatched` (the
    same warning, without MLflow's scan of every installed package).
    """
    import mlflow
    from mlflow.exceptions import MlflowException

    from training.tracking.environment import warn_if_mismatched
    from training.tracking.registry import missing_model_files

    missing = missing_model_files(model_uri)
    if missing:
        raise ModelError(f"cannot load model '{model_uri}': {missing}")
    folder = _private_folder()
    try:
        model = mlflow.pyfunc.load_model(model_uri, suppress_warnings=True, dst_path=folder)
    except MlflowException as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelError(f"cannot load model '{model_uri}': {msg}") from None
    except OSError as exc:
        raise ModelError(f"cannot load model '{model_uri}': {exc}") from None
    except (*DAMAGED, ValueError, EOFError, ImportError, AttributeError, KeyError) as exc:
        raise ModelError(f"cannot load model '{model_uri}': {damaged_file(exc)} in the store is damaged "
                         f"({type(exc).__name__}: {_first_line(exc)}); restore the store from a backup, or replace "
                         "the model: `regime train --force-promote` makes a new version champion, and "
                         "`--model-uri models:/<name>/<version>` uses another version") from None
    meta = model.metadata
    local = Path(folder)
    local = next((p.parent for p in local.rglob("MLmodel")), local)
    warn_if_mismatched(local, meta.flavors.get("python_function", {}).get("python_version"))
    return model


#: Exceptions of a model file that cannot be read: YAML (``MLmodel``) and pickle (``pipeline.joblib``).
DAMAGED: tuple[type[BaseException], ...] = (yaml.YAMLError, pickle.UnpicklingError)


def damaged_file(exc: BaseException) -> str:
    """Which of a model's files ``exc`` (raised while loading it) comes from, in words."""
    if isinstance(exc, (yaml.YAMLError, UnicodeDecodeError)):
        return "its MLmodel file"
    if isinstance(exc, json.JSONDecodeError):
        return f"its record ({INFO_FILE})"
    return "its fitted pipeline (pipeline.joblib)"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else "no detail"


def read_model_info(model_uri: str) -> dict[str, Any] | None:
    """The record a model stores (its config, data range, horizons) without loading the model.

    Only the model's JSON is read, never its pickles, so this is quick and runs no code.

    Parameters
    ----------
    model_uri : str
        E.g. ``models:/btc-forward-return@champion``.

    Returns
    -------
    dict or None
        None when no such registered model, version or alias exists.

    Raises
    ------
    ModelError
        The model exists but its record cannot be read.
    """
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        with downloaded(None, INFO_FILE, artifact_uri=f"{model_uri.rstrip('/')}/artifacts/{INFO_FILE}") as path:
            text = path.read_text(encoding="utf-8")
    except MlflowException as exc:
        absent = exc.error_code == "RESOURCE_DOES_NOT_EXIST" or "alias" in str(exc) and "not found" in str(exc)
        if absent:
            return None
        raise ModelError(f"cannot read model '{model_uri}': {str(exc).splitlines()[0]}") from None
    except OSError as exc:
        raise ModelError(f"cannot read model '{model_uri}': {exc}") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ModelError(f"cannot read model '{model_uri}': {exc}") from None


def _private_folder() -> str:
    """A new temporary folder, removed when the process exits."""
    import atexit
    import shutil

    path = tempfile.mkdtemp(prefix="regime-model-")
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def unwrap(model: Any) -> tuple[RegimeForecastPipeline, dict[str, Any]]:
    """The fitted pipeline and model info inside a loaded pyfunc model."""
    inner = model.unwrap_python_model()
    return inner.pipeline, inner.info
