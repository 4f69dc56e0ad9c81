"""``regime ui``: MLflow's UI over the project's store, opened on the training runs. Heavy imports stay inside."""

from __future__ import annotations

from typing import Annotated, Optional

import typer


def ui(
    port: Annotated[int, typer.Option("--port", "-p", help="Port of the UI.")] = 5000,
    host: Annotated[str, typer.Option("--host", help="Address to listen on; keep it a loopback address unless you mean to share the store.")] = "127.0.0.1",
    experiment: Annotated[Optional[str], typer.Option("--experiment", help="Experiment whose runs the printed address opens (default: the training runs, btc-regime).")] = None,
    tracking_uri: Annotated[Optional[str], typer.Option("--tracking-uri", help="MLflow store (default $MLFLOW_TRACKING_URI or sqlite:///mlruns/mlflow.db, artifacts under mlruns/).")] = None,
) -> None:
    """Serve MLflow's UI on the project's store and print the address of the experiment's training runs.

    Runs `mlflow server` on 127.0.0.1 (one worker) until Ctrl-C. The address opens the runs in the
    "Model training" view (`?workflowType=machine_learning`): runs, metrics, artifacts, models and
    the registry, not the GenAI pages `mlflow ui` opens on. A run's description links its full
    tables. Example: `regime ui --port 5001`, then open the printed address.
    """
    import logging

    from mlflow import MlflowClient

    from features.errors import ConfigError, StoreError
    from training.config import TrackingConfig
    from training.tracking.store import configure_tracking, resolve_tracking_uri, sqlite_path
    from training.tracking.ui_server import (
        check_port,
        runs_address,
        serve_until_stopped,
        server_command,
        start_server,
        stop_server,
    )

    if not 0 < port < 65536:
        raise ConfigError(f"`--port` must be from 1 to 65535. Got {port}.")
    uri = resolve_tracking_uri(tracking_uri)
    name = experiment or TrackingConfig().experiment
    db = sqlite_path(uri)
    if db is not None and not db.is_file():
        raise StoreError(f"no MLflow store at {db}; `regime train` creates one here, or pass --tracking-uri")
    configure_tracking(uri, write=False)  # a damaged store is refused in one line
    found = MlflowClient(tracking_uri=uri).get_experiment_by_name(name)
    experiment_id = found.experiment_id if found else None
    missing = "" if found else f" (no experiment '{name}' yet: the experiments list)"
    if uri.startswith(("http://", "https://")):
        typer.echo(f"The store is a tracking server; its UI: {runs_address(uri, experiment_id)}{missing}")
        return
    check_port(host, port)
    base = f"http://{host}:{port}"
    server = start_server(server_command(uri, host, port), base,
                          show_output=logging.getLogger("mlflow").isEnabledFor(logging.INFO))
    try:
        typer.echo(f"MLflow UI on {uri}, training runs of '{name}': {runs_address(base, experiment_id)}{missing}")
        typer.echo("Serving until Ctrl-C.")
    except BaseException:
        stop_server(server)
        raise
    serve_until_stopped(server)
    typer.echo("Stopped.")


def register(app: typer.Typer) -> None:
    """Add this module's command to the root ``app``."""
    app.command()(ui)
