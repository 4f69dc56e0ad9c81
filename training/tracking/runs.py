"""Reading what earlier runs logged."""

from __future__ import annotations

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
