"""A team's deployment: one MLflow tracking server on PostgreSQL (artifacts served by it), every
command run from its own working directory as on separate machines (no shared file but the
server), promotions serialised by a PostgreSQL advisory lock, tuning workers sharing one study.

Needs the server and the database of `.ci/mlflow_server.sh` and `.ci/postgres.sh` (`.ci/run`
starts both); skips with a message where either is missing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import requests
from mlflow import MlflowClient

from tests.test_bad_inputs import pyfunc_input
from tests.test_concurrency import QUICK_TOML
from tests.test_failure_safety import BIN, REGIME, finish, spawn, stderr_of
from tests.test_serving import START_UP_SECONDS, _free_port, _split_body
from tests.test_tune import SMALL, _printed_command
from training.promotion.lock import LOCK_URL_ENV

pytestmark = [pytest.mark.team, pytest.mark.slow]

#: Data ends of the trainings started together (business days of the demo market).
ENDS = ("2022-12-30", "2023-12-29", "2024-12-31")


@dataclass(frozen=True)
class Team:
    """The shared server and lock database, a folder per machine, and this test's own model and experiment."""

    server: str
    lock_url: str
    root: Path
    model: str

    def env(self) -> dict[str, str]:
        """What each machine sets: the tracking server and the lock database, nothing else shared."""
        return {**os.environ, "MLFLOW_TRACKING_URI": self.server, LOCK_URL_ENV: self.lock_url,
                "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}

    def machine(self, name: str) -> Path:
        """A fresh working directory holding only the quick settings, naming this test's model."""
        folder = self.root / name
        folder.mkdir()
        (folder / "quick.toml").write_text(
            f'{QUICK_TOML}\n[tracking]\nmodel_name = "{self.model}"\nexperiment = "{self.model}"\n')
        return folder

    @contextmanager
    def run(self, folder: Path, name: str, *argv: str) -> Iterator[subprocess.Popen]:
        """Run ``argv`` in ``folder`` (output in ``<name>.out``/``.err`` there)."""
        with spawn(folder, name, [*argv], self.env()) as proc:
            yield proc

    def regime(self, folder: Path, name: str, *args: str, timeout: float = 300.0) -> str:
        """Run `regime ...` in ``folder`` to its end; its stdout (the test fails with its stderr on an error)."""
        with self.run(folder, name, str(REGIME), *args) as proc:
            assert finish(proc, timeout) == 0, stderr_of(folder, name)
        return (folder / f"{name}.out").read_text()

    def client(self) -> MlflowClient:
        return MlflowClient(tracking_uri=self.server, registry_uri=self.server)


@pytest.fixture
def team(tmp_path: Path) -> Team:
    """The test tracking server and PostgreSQL; skips with the reason where either is missing."""
    server = os.environ.get("REGIME_TEST_MLFLOW_SERVER_URL")
    lock_url = os.environ.get("REGIME_TEST_POSTGRES_URL")
    if not server or not lock_url:
        pytest.skip("REGIME_TEST_MLFLOW_SERVER_URL or REGIME_TEST_POSTGRES_URL is unset: `source .ci/postgres.sh` "
                    "then `source .ci/mlflow_server.sh` start them (.ci/run does)")
    try:
        requests.get(f"{server}/health", timeout=10).raise_for_status()
    except requests.RequestException as exc:
        pytest.skip(f"the MLflow server of REGIME_TEST_MLFLOW_SERVER_URL does not answer: {exc}")
    return Team(server, lock_url, tmp_path, f"team-{uuid.uuid4().hex[:8]}")


def test_trainings_started_together_on_separate_machines_leave_one_champion_on_the_newest_data(team: Team) -> None:
    """Three trainings on data ending in 2022, 2023 and 2024 start at once from three machines. The
    lock lets one decide at a time (versions are numbered in that order): each one compares with the
    champion the previous one left, the last champion is the one on the newest data, and every other
    version's description says why it was not promoted (blocked, older data, nothing new) or which
    champion it replaced."""
    with ExitStack() as stack:
        jobs = {end: stack.enter_context(team.run(team.machine(f"m{i}"), "train", str(REGIME), "train", "--config",
                                                  "quick.toml", "--end", end)) for i, end in enumerate(ENDS)}
        codes = {end: finish(proc, 600) for end, proc in jobs.items()}
    assert codes == dict.fromkeys(ENDS, 0), [stderr_of(team.root / f"m{i}", "train") for i in range(len(ENDS))]
    client = team.client()
    versions = sorted(client.search_model_versions(f"name='{team.model}'"), key=lambda v: int(v.version))
    assert len(versions) == len(ENDS)
    champion = None
    for v in versions:
        reason = v.tags["gate.reason"]
        if v.tags["gate.decision"] == "champion":
            assert reason.startswith("no champion yet") if champion is None else f"champion v{champion}" in reason
            champion = v.version
        else:
            assert reason.startswith("not promoted: ") and v.description.startswith(f"**@challenger**: {reason}")
    assert sum(v.tags["gate.reason"].startswith("no champion yet") for v in versions) == 1
    assert {client.get_run(v.run_id).data.tags["registry.lock"] for v in versions} == {
        f"PostgreSQL advisory lock on {team.lock_url}"}
    newest = next(v for v in versions if v.tags["data.last"] == ENDS[-1])
    assert client.get_model_version_by_alias(team.model, "champion").version == newest.version == champion


def test_every_command_works_from_its_own_machine_against_the_server(team: Team, demo_market) -> None:
    """Train on one machine; predict, explain, now and report on a second; serve the champion from a
    third: nothing but the server is shared (the model's files come through its artifact proxy)."""
    out = team.regime(team.machine("trainer"), "train", "train", "--config", "quick.toml")
    assert f"Registered {team.model} version 1 as @champion" in out, out
    uri = f"models:/{team.model}@champion"
    analyst = team.machine("analyst")
    team.regime(analyst, "predict", "predict", "--model-uri", uri, "--output", "predictions.csv")
    predicted = pd.read_csv(analyst / "predictions.csv")
    assert predicted["date"].iloc[-1] == "2024-12-31"
    team.regime(analyst, "explain", "explain", "--model-uri", uri, "--date", "2024-06-14", "--output-dir", "explain")
    assert any((analyst / "explain").glob("*.png"))
    assert "2024-12-31" in team.regime(analyst, "now", "now", "--model-uri", uri)
    team.regime(analyst, "report", "report", "--model-uri", uri, "--output", "report.html")
    assert (analyst / "report.html").stat().st_size > 0

    served = team.machine("serving")
    port = _free_port()
    with team.run(served, "serve", str(BIN / "mlflow"), "models", "serve", "-m", uri, "-h", "127.0.0.1", "-p",
                  str(port), "--env-manager", "local") as proc:
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + START_UP_SECONDS
            while True:
                assert proc.poll() is None, stderr_of(served, "serve")[-3000:]
                assert time.monotonic() < deadline, f"no /ping in {START_UP_SECONDS:.0f} s"
                with suppress(requests.ConnectionError):
                    if requests.get(f"{url}/ping", timeout=2).status_code == 200:
                        break
                time.sleep(0.5)
            body = _split_body(pyfunc_input(demo_market.panel.loc["2023-01-01":]))
            response = requests.post(f"{url}/invocations", data=body, headers={"Content-Type": "application/json"},
                                     timeout=120)
        finally:  # the server's process group: MLflow's CLI and its uvicorn child
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
    assert response.status_code == 200, response.text
    answer = pd.DataFrame(response.json()["predictions"]).set_index("date")
    local = predicted.set_index("date")
    forecasts = [c for c in answer.columns if c.startswith("forecast_")]
    assert forecasts and answer.index[-1] == "2024-12-31"
    pd.testing.assert_series_equal(answer.loc["2024-12-31", forecasts].astype(float),
                                   local.loc["2024-12-31", forecasts].astype(float), atol=1e-9, check_names=False)


def test_tuning_workers_on_three_machines_share_one_study_and_a_fourth_trains_the_winner(team: Team) -> None:
    """Three `regime tune` workers (two trials each) share one PostgreSQL study and log their trials to
    the server; `regime train --params best --storage <the study>` on a fourth machine trains the winner."""
    study, experiment = f"{team.model}-study", f"{team.model}-tuning"
    args = ["tune", "--trials", "2", *SMALL, "--storage", team.lock_url, "--study", study, "--experiment", experiment]
    with ExitStack() as stack:
        workers = {f"w{i}": stack.enter_context(team.run(team.machine(f"w{i}"), "tune", str(REGIME), *args))
                   for i in range(3)}
        codes = {name: finish(proc, 600) for name, proc in workers.items()}
    assert codes == dict.fromkeys(workers, 0), [stderr_of(team.root / name, "tune") for name in workers]
    client = team.client()
    runs = client.search_runs([client.get_experiment_by_name(experiment).experiment_id])
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert len(parents) == 3 and len(runs) - len(parents) == 6
    assert all(r.info.status == "FINISHED" for r in runs)

    command = _printed_command((team.root / "w0" / "tune.out").read_text())
    assert "--storage" in command and "--study" in command
    out = team.regime(team.machine("trainer"), "train", *command, "--config", "quick.toml", "--n-bootstrap", "0",
                      "--no-baselines")
    assert f"Registered {team.model} version 1 as @" in out, out
    version = client.get_model_version(team.model, "1")
    trial = client.get_run(version.run_id).data.tags["tuning.trial"]
    best = [r for r in runs if r.data.tags.get("optuna.trial") == trial]
    assert version.tags["tuning.study"] == study and len(best) == 1


def test_a_server_that_does_not_answer_is_one_line_before_the_work(tmp_path: Path) -> None:
    """`train` and `predict` against a tracking server that is down: one line naming it, at once,
    instead of MLflow's minutes of retries; nothing is written anywhere."""
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"http://127.0.0.1:{_free_port()}"}
    for command in (["train"], ["predict"]):
        start = time.monotonic()
        done = subprocess.run([str(REGIME), *command], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 2 and time.monotonic() - start < 60
        assert done.stderr.strip().splitlines() == [
            f"error: MLflow tracking server {env['MLFLOW_TRACKING_URI']} does not answer (connection failed); nothing "
            "was changed. Start it, or check MLFLOW_TRACKING_URI"]
    assert list(tmp_path.iterdir()) == []
