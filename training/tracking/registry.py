"""The model registry: versions and aliases (never stages)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)


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


def describe_version(name: str, version: str, description: str, tags: dict[str, str]) -> None:
    """Set the description (markdown, shown by the MLflow UI) and tags of ``version``.

    Parameters
    ----------
    name, version : str
        The registered model version.
    description : str
        What the gate decided and the figures behind it.
    tags : dict of str -> str
        Searchable key figures (values truncated to 5,000 characters).
    """
    from mlflow import MlflowClient

    client = MlflowClient()
    client.update_model_version(name, version, description=description)
    for key, value in tags.items():
        client.set_model_version_tag(name, version, key, str(value)[:5000])


def set_alias(name: str, alias: str, version: str) -> None:
    """Point ``name@alias`` at ``version`` (atomic in the registry)."""
    from mlflow import MlflowClient

    MlflowClient().set_registered_model_alias(name, alias, version)
