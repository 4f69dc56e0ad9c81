"""Reading what earlier runs logged."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from features.errors import ModelError


@contextmanager
def downloaded(run_id: str | None, artifact: str, artifact_uri: str | None = None) -> Iterator[Path]:
    """A local copy of a run's artifact (file or folder; or of ``artifact_uri``), deleted afterwards.

    MLflow's ``download_artifacts`` without a destination leaves a new temporary folder behind
    on every call (thousands on a machine that runs the commands often); this one goes.
    """
    import mlflow

    with tempfile.TemporaryDirectory(prefix="regime-artifact-") as dst:
        if artifact_uri is not None:
            yield Path(mlflow.artifacts.download_artifacts(artifact_uri=artifact_uri, dst_path=dst))
        else:
            yield Path(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=artifact, dst_path=dst))


def read_run_csv(run_id: str, artifact: str) -> pd.DataFrame:
    """A CSV artifact of an MLflow run (empty frame for an empty file), or :class:`ModelError` if missing."""
    from mlflow.exceptions import MlflowException

    try:
        with downloaded(run_id, artifact) as path:
            try:
                return pd.read_csv(path)
            except pd.errors.EmptyDataError:  # e.g. no Diebold-Mariano rows without baselines
                return pd.DataFrame()
    except (MlflowException, OSError) as exc:
        raise ModelError(f"run {run_id} has no artifact {artifact}: {str(exc).splitlines()[0]}") from None


def read_run_figures(run_id: str) -> tuple[dict[str, float], tuple[str, str] | None]:
    """A training run's figures (``evaluation/metrics.json``) and its sealed window (tags ``sealed.start/end``).

    Runs logged before the figures file existed give an empty dict; runs without a sealed
    segment give None for the window.
    """
    import json

    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        with downloaded(run_id, "evaluation/metrics.json") as path:
            figures = {k: float(v) for k, v in json.loads(path.read_text(encoding="utf-8")).items()}
    except (MlflowException, OSError, ValueError, TypeError):
        figures = {}
    try:
        tags = mlflow.get_run(run_id).data.tags
    except MlflowException:
        tags = {}
    start, end = tags.get("sealed.start", "none"), tags.get("sealed.end", "none")
    return figures, (start, end) if "none" not in (start, end) else None
