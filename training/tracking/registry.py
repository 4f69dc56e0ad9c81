"""The model registry: versions and aliases (never stages)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
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


def missing_model_files(model_uri: str) -> str | None:
    """What is wrong when a registered model's files are gone from a local store, else None.

    Only ``models:/<name>@<alias>`` and ``models:/<name>/<version>`` URIs whose files live on
    this machine (``file://``) are checked; anything else is left to MLflow. The message
    says how to recover.
    """
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    ref = model_uri.removeprefix("models:/")
    if ref == model_uri or "/" not in ref and "@" not in ref:
        return None
    name, _, tail = ref.partition("@") if "@" in ref else ref.partition("/")
    client = MlflowClient()
    try:
        mv = client.get_model_version_by_alias(name, tail) if "@" in ref else client.get_model_version(name, tail)
        location = client.get_model_version_download_uri(name, mv.version)
    except MlflowException:
        return None  # MLflow's own message (no such model or alias) says it
    if not location.startswith("file://"):
        return None
    folder = Path(location.removeprefix("file://"))
    if (folder / "MLmodel").is_file() and (folder / "artifacts").is_dir():
        return None
    alias = f"{name}@{tail}" if "@" in ref else f"version {mv.version} of {name}"
    return (f"the files of {alias} (version {mv.version}) are missing from the store ({folder}); "
            f"restore them, or replace the model: `regime train --force-promote` makes a new version champion, "
            f"and `--model-uri models:/{name}/<version>` uses another version")


def register_model(model_uri: str, name: str, run_id: str) -> str:
    """Register ``model_uri`` under ``name``; returns the new version (waits until READY).

    MLflow prints what it does on stderr ("Registered model ... already exists. Creating a
    new version ...", "Created version ..."); those lines are held back unless the ``mlflow``
    logger is set to show INFO (``regime --verbose``): the caller reports the registration.
    """
    import mlflow
    from mlflow.utils.logging_utils import MLFLOW_LOGGING_STREAM

    chatty = logging.getLogger("mlflow").isEnabledFor(logging.INFO)
    enabled, MLFLOW_LOGGING_STREAM.enabled = MLFLOW_LOGGING_STREAM.enabled, chatty and MLFLOW_LOGGING_STREAM.enabled
    try:
        mv = mlflow.register_model(model_uri, name, tags={"run_id": run_id})
    finally:
        MLFLOW_LOGGING_STREAM.enabled = enabled
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
