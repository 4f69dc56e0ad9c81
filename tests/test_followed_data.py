"""Commands that read data themselves follow the champion's data, and their first line says so.

``leadlag``, ``regimes``, ``tune`` and ``data show`` read what the champion was trained on unless
``--source``/``--data-dir`` (or a config's ``[data]``) say otherwise; with no model registered
they read the synthetic demo market, labelled as such. The champion here is a stub: a registered
pyfunc carrying only the record a trained model stores (its config and data range), which is
all these commands read.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import log_stub_model, run_cli
from training.cli.common import followed_data

MODEL = "models:/btc-forward-return@champion"
FOLLOWS = f"; the training source of {MODEL} (fitted on 2017-06-01 → 2022-12-30), read to its latest date"
DEMO = "Data: synthetic demo market (seed 7; planted regimes, not real prices), "


@pytest.fixture
def csv_champion(mlflow_store, csv_folder, tmp_path) -> Path:
    """A store whose champion was trained on ``csv_folder``; returns the folder."""
    import mlflow

    model_uri = log_stub_model(mlflow_store, {"source": "csv", "data_dir": str(csv_folder)}, tmp_path)
    version = mlflow.register_model(model_uri, "btc-forward-return")
    mlflow.MlflowClient().set_registered_model_alias("btc-forward-return", "champion", version.version)
    return csv_folder


def _first_line(args: list[str], monkeypatch, capsys) -> str:
    code, out, err = run_cli(args, monkeypatch, capsys)
    assert code == 0, err
    return out.splitlines()[0]


def test_leadlag_without_options_follows_the_champion(csv_champion, tmp_path, monkeypatch, capsys):
    line = _first_line(["leadlag", "--fit-hmm", "--metal", "silver", "--max-lag", "21", "--shifts", "0",
                        "--output-dir", str(tmp_path / "ll")], monkeypatch, capsys)
    assert line.startswith(f"Data: csv files in {csv_champion}, 2017-01-01 → 2022-12-31") and line.endswith(FOLLOWS), line


def test_data_show_without_options_shows_the_champions_data(csv_champion, monkeypatch, capsys):
    line = _first_line(["data", "show"], monkeypatch, capsys)
    assert line.startswith(f"Data: csv files in {csv_champion}, ") and line.endswith(FOLLOWS), line


def test_an_option_still_chooses_other_data(csv_champion, monkeypatch, capsys):
    line = _first_line(["data", "show", "--source", "demo"], monkeypatch, capsys)
    assert line.startswith(DEMO) and line.endswith("; chosen by --source"), line


def test_with_no_model_the_demo_labelled_synthetic_and_no_store_created(mlflow_store, tmp_path, monkeypatch, capsys):
    line = _first_line(["data", "show"], monkeypatch, capsys)
    assert line.startswith(DEMO), line
    assert f"; no model is registered (no {MODEL} in {mlflow_store}): the demo until `regime train` registers one" in line
    assert not (tmp_path / "mlflow.db").exists()


def test_tune_and_regimes_start_from_the_champions_settings(csv_champion):
    overrides, note = followed_data(None, None)
    assert overrides["source"] == "csv" and overrides["data_dir"] == str(csv_champion)
    assert overrides["start"] == "2017-01-01" and overrides["end"] is None
    assert note == FOLLOWS.removeprefix("; ")
    assert followed_data(None, None, told_by="--config") == ({}, "chosen by --config")
    assert followed_data("demo", None) == ({"source": "demo"}, "chosen by --source")


def test_regimes_without_options_compares_on_the_champions_data(csv_champion, monkeypatch, capsys):
    line = _first_line(["regimes", "--n-states", "2", "--covariance", "diag", "--sealed-days", "252", "--no-log"],
                       monkeypatch, capsys)
    assert line.startswith(f"Data: csv files in {csv_champion}, 2017-01-01 → ") and FOLLOWS + "; regime models" in line, line
