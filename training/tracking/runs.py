"""Reading what earlier runs logged."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from features.errors import ModelError


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


def read_run_figures(run_id: str) -> tuple[dict[str, float], tuple[str, str] | None]:
    """A training run's figures (``evaluation/metrics.json``) and its sealed window (tags ``sealed.start/end``).

    Runs logged before the figures file existed give an empty dict; runs without a sealed
    segment give None for the window.
    """
    import json

    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        path = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="evaluation/metrics.json")
        figures = {k: float(v) for k, v in json.loads(Path(path).read_text(encoding="utf-8")).items()}
    except (MlflowException, OSError, ValueError, TypeError):
        figures = {}
    try:
        tags = mlflow.get_run(run_id).data.tags
    except MlflowException:
        tags = {}
    start, end = tags.get("sealed.start", "none"), tags.get("sealed.end", "none")
    return figures, (start, end) if "none" not in (start, end) else None
