"""``regime ui``: MLflow's UI on the project's store, and the address of the training runs in the "Model training" view."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import run_cli
from training.tracking.ui_server import runs_address, server_command

VIEW = "?workflowType=machine_learning"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_address_opens_the_training_runs_view():
    assert runs_address("http://127.0.0.1:5000", "3") == f"http://127.0.0.1:5000/#/experiments/3/runs{VIEW}"
    assert runs_address("http://h:1/", None) == f"http://h:1/#/experiments{VIEW}"


def test_the_server_serves_the_store_with_artifacts_under_mlruns(tmp_path):
    cmd = server_command("sqlite:///mlruns/mlflow.db", "127.0.0.1", 5001)
    assert cmd[1:7] == ["server", "--backend-store-uri", "sqlite:///mlruns/mlflow.db", "--host", "127.0.0.1", "--port"]
    assert cmd[cmd.index("--default-artifact-root") + 1] == (Path("mlruns") / "artifacts").resolve().as_uri()
    assert "--no-serve-artifacts" in cmd  # no ./mlartifacts folder
    assert "--default-artifact-root" not in server_command("postgresql://u@db/mlflow", "127.0.0.1", 5001)


@pytest.fixture
def store_with_experiment(mlflow_store) -> str:
    from training.tracking.store import configure_tracking, ensure_experiment

    configure_tracking(mlflow_store)
    return ensure_experiment("btc-regime")


def test_ui_prints_the_address_of_the_experiments_training_runs(store_with_experiment, monkeypatch, capsys):
    started = {}
    monkeypatch.setattr("training.tracking.ui_server.start_server",
                        lambda cmd, base, show_output=False: started.update(cmd=cmd, base=base) or "server")
    monkeypatch.setattr("training.tracking.ui_server.serve_until_stopped", lambda server: None)
    code, out, err = run_cli(["ui", "--port", str(port := _free_port())], monkeypatch, capsys)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].endswith(f": http://127.0.0.1:{port}/#/experiments/{store_with_experiment}/runs{VIEW}"), lines[0]
    assert lines[0].startswith("MLflow UI on sqlite:///") and lines[1:] == ["Serving until Ctrl-C.", "Stopped."]
    assert started["base"] == f"http://127.0.0.1:{port}" and "--port" in started["cmd"]


def test_ui_refuses_a_missing_store_and_a_taken_port(store_with_experiment, tmp_path, monkeypatch, capsys):
    code, _, err = run_cli(["ui", "--tracking-uri", f"sqlite:///{tmp_path}/none/mlflow.db"], monkeypatch, capsys)
    assert code == 2 and err.strip() == (f"error: no MLflow store at {tmp_path}/none/mlflow.db; `regime train` creates "
                                         "one here, or pass --tracking-uri")
    assert not (tmp_path / "none").exists()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        code, _, err = run_cli(["ui", "--port", str(taken.getsockname()[1])], monkeypatch, capsys)
    assert code == 2 and "pick another with --port" in err, err


@pytest.mark.slow
def test_ui_serves_until_stopped(store_with_experiment, tmp_path):
    """A real `regime ui`: the printed address answers, SIGTERM stops the MLflow server too."""
    exe = Path(sys.executable).with_name("regime")
    port = _free_port()
    proc = subprocess.Popen([str(exe), "ui", "--port", str(port)], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=os.environ.copy())
    try:
        first = proc.stdout.readline()
        address = first.rsplit(": ", 1)[1].strip()
        assert address == f"http://127.0.0.1:{port}/#/experiments/{store_with_experiment}/runs{VIEW}", first
        with urllib.request.urlopen(address, timeout=10) as page:
            assert page.status == 200 and b"<html" in page.read().lower()
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and out.strip().endswith("Stopped."), err
    with socket.socket() as sock:
        # The server is gone: nothing listens on the port. SO_REUSEADDR lets the bind past the
        # connections the page request left in TIME_WAIT (a race), never past a listening socket.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
    assert not (tmp_path / "mlartifacts").exists()
