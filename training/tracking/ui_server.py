"""MLflow's UI over the project's store: the server, and the address of the experiment's training runs.

``mlflow ui`` alone opens on the GenAI welcome page and shows an experiment's traces; the
address given here (:func:`runs_address`) opens the experiment's runs in the "Model
training" view (``?workflowType=machine_learning``). The server runs in its own process
group, so that stopping it (:func:`stop_server`) ends the workers it started and nothing else.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from features.errors import StoreError

#: The query that opens MLflow's UI in its "Model training" view (runs, models, registry).
TRAINING_VIEW = "?workflowType=machine_learning"


def runs_address(base: str, experiment_id: str | None) -> str:
    """The UI page of an experiment's training runs (the experiments list without an id).

    Parameters
    ----------
    base : str
        The server, e.g. ``http://127.0.0.1:5000``.
    experiment_id : str or None

    Returns
    -------
    str
    """
    page = f"experiments/{experiment_id}/runs" if experiment_id else "experiments"
    return f"{base.rstrip('/')}/#/{page}{TRAINING_VIEW}"


def check_port(host: str, port: int) -> None:
    """Refuse a port that is taken, before starting a server (one line naming it)."""
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise StoreError(f"cannot serve the MLflow UI on {host}:{port} ({exc.strerror or exc}); "
                             "pick another with --port") from None


def server_command(tracking_uri: str, host: str, port: int) -> list[str]:
    """``mlflow server`` over ``tracking_uri`` on ``host:port``, one worker.

    New experiments keep their artifacts beside a local sqlite store (``mlruns/artifacts``);
    artifacts are read where each run keeps them, so none is proxied (no ``./mlartifacts``).
    """
    from training.tracking.store import artifact_location

    cmd = [str(Path(sys.executable).with_name("mlflow")), "server", "--backend-store-uri", tracking_uri,
           "--host", host, "--port", str(port), "--workers", "1", "--no-serve-artifacts",
           "--allowed-hosts", f"{host}:{port}", "--cors-allowed-origins", f"http://{host}:{port}"]
    if location := artifact_location(tracking_uri):
        cmd += ["--default-artifact-root", location]
    return cmd


def start_server(command: list[str], base: str, show_output: bool = False, timeout_s: float = 120) -> subprocess.Popen:
    """Start ``command`` in its own process group and return once ``base`` answers its health check.

    Raises
    ------
    StoreError
        The server exited or did not answer within ``timeout_s`` (it is stopped).
    """
    out = None if show_output else subprocess.DEVNULL
    proc = subprocess.Popen(command, stdout=out, stderr=out, start_new_session=True)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise StoreError(f"mlflow server exited with code {proc.returncode}; `regime --verbose ui` shows why")
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=2) as response:
                if response.status == 200:
                    return proc
        except OSError:
            time.sleep(0.5)
    stop_server(proc)
    raise StoreError(f"mlflow server did not answer on {base} within {timeout_s:.0f} s")


def serve_until_stopped(proc: subprocess.Popen) -> None:
    """Wait while ``proc`` serves; on Ctrl-C or SIGTERM (or when it exits) stop it and return."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        proc.wait()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        stop_server(proc)


def stop_server(proc: subprocess.Popen) -> None:
    """End the server and the workers it started (its process group, by id)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
