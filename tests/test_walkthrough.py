"""A newcomer's session, command by command: each one first says which data it used.

The commands run through the console entry point (``training.cli.main``) in-process, and once
as a real ``regime`` process from another folder; small walk-forward settings keep it quick.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import run_cli

MODEL = "models:/btc-forward-return@champion"
FAST = ["--initial-train", "504", "--step", "504", "-H", "21"]
TRAIN_FAST = [*FAST, "--n-bootstrap", "0", "--no-baselines"]
DEMO = "Data: synthetic demo market (seed 7; planted regimes, not real prices), "
FOLLOWS = re.compile(rf"; the training source of {MODEL} \(fitted on \d{{4}}-\d\d-\d\d → 2024-12-31\), "
                     r"read to its latest date$")
STALE = (pd.Timestamp.today().normalize() - pd.Timestamp("2024-12-31")).days > 5  # both data sets end 2024-12-31


def _ok(args: list[str], monkeypatch, capsys) -> list[str]:
    code, out, err = run_cli(args, monkeypatch, capsys)
    assert code == 0, f"regime {' '.join(args)}: {err}"
    return out.splitlines()


def _regime(args: list[str], cwd: Path) -> list[str]:
    """``regime ...`` as its own process (the installed console script)."""
    exe = Path(sys.executable).with_name("regime")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "training.cli.app"]
    done = subprocess.run([*cmd, *args], cwd=cwd, capture_output=True, text=True, timeout=300, env=os.environ.copy())
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


@pytest.mark.slow
def test_walkthrough_on_the_demo(mlflow_store, tmp_path, monkeypatch, capsys):
    from mlflow import MlflowClient

    lines = _ok(["train", *TRAIN_FAST, "--start", "2016-01-01"], monkeypatch, capsys)
    assert lines[0].startswith(DEMO + "2016-01-01 → 2024-12-31"), lines[0]
    assert lines[-1].startswith("Browse it: `regime ui`, then http://127.0.0.1:5000/#/experiments/")
    client = MlflowClient()
    exp = client.get_experiment_by_name("btc-regime")
    assert exp.tags["mlflow.experimentKind"] == "custom_model_development"
    (run,) = client.search_runs([exp.experiment_id])
    assert re.fullmatch(r"train-demo-\d{4}-\d\d-\d\d\.\.2024-12-31", run.info.run_name)
    assert "Trained on synthetic demo market" in run.data.tags["mlflow.note.content"]

    lines = _ok(["predict", "--rows", "1"], monkeypatch, capsys)
    assert lines[0].startswith(DEMO) and FOLLOWS.search(lines[0]), lines[0]

    lines = _ok(["explain", "--date", "2022-03-19", "--output-dir", str(tmp_path / "x")], monkeypatch, capsys)
    assert lines[0].startswith(DEMO) and FOLLOWS.search(lines[0])
    assert lines[1] == ("note: 2022-03-19 is a Saturday, not a business day: explaining the business day before it, "
                        "2022-03-18")

    lines = _ok(["now"], monkeypatch, capsys)
    assert lines[0].startswith(DEMO) and FOLLOWS.search(lines[0])
    assert lines[1].startswith("warning: the data end on 2024-12-31") == STALE

    report = tmp_path / "report.html"
    lines = _ok(["report", "-o", str(report), "--max-lag", "21", "--shifts", "0", "--no-log"], monkeypatch, capsys)
    assert lines[0].startswith(DEMO) and FOLLOWS.search(lines[0])
    text = report.read_text(encoding="utf-8")
    assert "Data: synthetic demo market (seed 7; planted regimes, not real prices)" in text
    assert "Walk-forward (out-of-sample) filtered regimes of the model&#x27;s training run" in text

    lines = _ok(["leadlag", "--metal", "silver", "--max-lag", "21", "--shifts", "0", "--output-dir",
                 str(tmp_path / "ll")], monkeypatch, capsys)  # the champion's data: the demo from 2016
    assert lines[0].startswith(DEMO + "2016-01-01 → 2024-12-31") and FOLLOWS.search(lines[0]), lines[0]

    lines = _ok(["tune", "--trials", "1", "--sealed-days", "252", *FAST,
                 "--storage", str(tmp_path / "journal.log")], monkeypatch, capsys)
    assert re.fullmatch(re.escape(DEMO) + r"2016-01-01 → 2024-12-31; the training source of .+, read to its latest "
                        r"date; tuned on dates before \S+, the sealed segment \(252 business days\) from then held out",
                        lines[0]), lines[0]

    lines = _ok(["data", "show", "--source", "demo"], monkeypatch, capsys)
    assert lines[0].startswith(DEMO)


@pytest.mark.slow
@pytest.mark.realdata
def test_walkthrough_on_real_data_from_any_folder(shared_data, mlflow_store, tmp_path, monkeypatch, capsys):
    real = f"Data: csv files in {shared_data}, "
    relative = os.path.relpath(shared_data, tmp_path)  # typed the way the README does: ../shared/data
    lines = _ok(["train", "--data-dir", relative, *TRAIN_FAST, "--start", "2019-01-01"], monkeypatch, capsys)
    assert lines[0].startswith(real + "2019-01-01 → 2024-12-31"), lines[0]

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    lines = _regime(["predict", "--rows", "1"], cwd=elsewhere)  # the model stored an absolute folder
    assert lines[0].startswith(real) and FOLLOWS.search(lines[0]), lines[0]

    lines = _ok(["explain", "--date", "2030-01-01", "--output-dir", str(tmp_path / "x")], monkeypatch, capsys)
    assert lines[0].startswith(real)
    assert lines[1] == "note: the data end on 2024-12-31: explaining 2024-12-31, the latest date, instead of 2030-01-01"

    lines = _ok(["now"], monkeypatch, capsys)
    assert lines[0].startswith(real) and FOLLOWS.search(lines[0])
    if STALE:
        assert lines[1].startswith("warning: the data end on 2024-12-31") and f"put newer files in {shared_data}" in lines[1]

    lines = _ok(["predict", "--rows", "1", "--source", "demo"], monkeypatch, capsys)
    assert lines[0].startswith(DEMO) and f"; chosen by --source: {MODEL} was trained on csv files in {shared_data}, " \
        in lines[0]

    lines = _ok(["leadlag", "--data-dir", relative, "--metal", "gold", "--max-lag", "21", "--shifts", "0",
                 "--output-dir", str(tmp_path / "ll")], monkeypatch, capsys)
    assert lines[0].startswith(real + "2013-01-01 → 2024-12-31"), lines[0]
