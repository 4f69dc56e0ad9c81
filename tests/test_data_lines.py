"""What the user is told: data lines, substituted dates, stale data, help texts, offline fetches, MLflow names."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from features.config import DataConfig
from features.errors import DataError, ModelError
from training.cli.common import model_data
from training.display.data_line import data_line, describe_source, stale_warning
from training.jobs.explain import explained_date

MODEL = "models:/btc-forward-return@champion"


# --- the data line ---------------------------------------------------------------------------


def test_data_line_names_source_absolute_folder_and_range(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    dates = pd.DatetimeIndex(["2013-01-02", "2024-12-31"])
    line = data_line(DataConfig(source="csv", data_dir="../data"), dates)
    assert line == f"Data: csv files in {tmp_path.parent / 'data'}, 2013-01-02 → 2024-12-31"
    demo = data_line(DataConfig(seed=11), dates, "a note")
    assert demo.startswith("Data: synthetic demo market (seed 11; planted regimes, not real prices), 2013-01-02")
    assert demo.endswith("; a note")
    assert describe_source(DataConfig(source="live", cache_dir="cache")) == \
        f"live cache {tmp_path / 'cache'} (Yahoo Finance + FRED)"


def test_stale_warning_after_five_days_with_what_to_do():
    last, cfg = pd.Timestamp("2024-12-31"), DataConfig(source="live")
    assert stale_warning(cfg, last, pd.Timestamp("2025-01-05")) is None
    text = stale_warning(cfg, last, pd.Timestamp("2026-12-01 15:00"))
    assert text.startswith("the data end on 2024-12-31, 700 days before today (2026-12-01)")
    assert "regime data fetch --source live" in text
    assert "--data-dir" in stale_warning(DataConfig(source="csv", data_dir="/d"), last, pd.Timestamp("2026-01-01"))


# --- which data a command on a model reads -----------------------------------------------------


def _info(**data) -> dict:
    return {"config": {"data": {"start": "2013-01-01", "end": None, "seed": 7, **data}},
            "data_range": ["2013-05-29", "2024-12-31"], "run_id": "r"}


def test_a_command_on_a_model_follows_its_data_and_says_so(tmp_path):
    cfg, note = model_data(_info(source="csv", data_dir=str(tmp_path)), MODEL, None, None)
    assert cfg.data_dir == str(tmp_path) and cfg.end is None and cfg.start == "2013-01-01"
    assert note == f"the training source of {MODEL} (fitted on 2013-05-29 → 2024-12-31), read to its latest date"


def test_an_override_is_named_with_what_the_model_was_trained_on(tmp_path):
    cfg, note = model_data(_info(source="csv", data_dir=str(tmp_path)), MODEL, "demo", None)
    assert cfg.source == "demo" and cfg.start == "2013-01-01"
    assert note == f"chosen by --source: {MODEL} was trained on csv files in {tmp_path}, 2013-05-29 → 2024-12-31"
    cfg, note = model_data(_info(source="demo"), MODEL, None, tmp_path)
    assert (cfg.source, cfg.data_dir) == ("csv", str(tmp_path)) and note.startswith("chosen by --data-dir: ")
    assert "synthetic demo market" in note


def test_an_old_relative_data_path_is_found_beside_the_store(tmp_path, monkeypatch):
    (tmp_path / "project" / "data").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    uri = f"sqlite:///{tmp_path}/project/mlruns/mlflow.db"
    cfg, _ = model_data(_info(source="csv", data_dir="data"), MODEL, None, None, tracking_uri=uri)
    assert cfg.data_dir == str(tmp_path / "project" / "data")
    with pytest.raises(DataError, match="the model's data folder 'gone' is a relative path found neither from here"):
        model_data(_info(source="csv", data_dir="gone"), MODEL, None, None, tracking_uri=uri)


def test_a_model_without_data_settings_is_not_given_the_demo_silently():
    with pytest.raises(ModelError, match="stores no data settings; pass --source/--data-dir"):
        model_data({"run_id": "r"}, MODEL, None, None)
    cfg, note = model_data({"run_id": "r"}, MODEL, "demo", None)
    assert cfg.source == "demo" and note == f"chosen by --source: {MODEL} stores no data settings"


# --- regime explain --date ---------------------------------------------------------------------


def test_explained_date_says_which_date_and_why():
    dates = pd.bdate_range("2024-03-01", "2024-12-31")
    assert explained_date(dates, None) == (dates[-1], None)
    assert explained_date(dates, "2024-03-15") == (pd.Timestamp("2024-03-15"), None)
    when, note = explained_date(dates, "2024-03-16")
    assert when == pd.Timestamp("2024-03-15")
    assert note == "note: 2024-03-16 is a Saturday, not a business day: explaining the business day before it, 2024-03-15"
    when, note = explained_date(dates, "2030-01-01")
    assert when == dates[-1] and note.startswith("note: the data end on 2024-12-31: explaining 2024-12-31, the latest")
    gap = dates.delete(dates.get_loc(pd.Timestamp("2024-07-04")))
    assert "has no forecast" in explained_date(gap, "2024-07-04")[1]
    with pytest.raises(DataError, match="no forecast on or before 2024-02-01"):
        explained_date(dates, "2024-02-01")


# --- help texts --------------------------------------------------------------------------------


def _commands():
    from training.cli import app

    for info in app.registered_commands:
        yield [info.name or info.callback.__name__.replace("_", "-")], info
    for group in app.registered_groups:
        for info in group.typer_instance.registered_commands:
            yield [group.name, info.name or info.callback.__name__], info


def _flat(text: str) -> str:
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


@pytest.mark.parametrize("path,info", list(_commands()), ids=lambda x: " ".join(x) if isinstance(x, list) else "")
def test_help_prints_every_sentence_whole(path, info):
    """Each option's help text and each paragraph of the command's help appear intact: no words eaten as
    rich markup (``[data]``) and no paragraph broken where the docstring was wrapped."""
    import inspect

    import typer.models
    from rich.markup import render

    from training.cli import app

    result = CliRunner().invoke(app, [*path, "--help"], terminal_width=100)
    assert result.exit_code == 0, result.output
    shown = _flat(result.output)
    assert all("\n" not in p for p in info.help.split("\n\n")), "docstring paragraphs are reflowed into one line"
    for paragraph in info.help.split("\n\n"):
        assert _flat(render(paragraph).plain) in shown
    for param in inspect.signature(info.callback).parameters.values():
        for meta in getattr(param.annotation, "__metadata__", ()):
            if isinstance(meta, typer.models.OptionInfo) and meta.help:
                assert _flat(render(meta.help).plain) in shown, meta.help
    if path == ["train"]:
        assert "TOML file with [data] [features] [model] [evaluation] [tracking] sections" in shown
    if path in (["predict"], ["explain"], ["now"], ["report"]):
        assert "by default the one the model was trained on" in shown


def test_a_usage_error_is_clicks_message_and_exit_code_2(monkeypatch, capsys):
    from tests.conftest import run_cli

    code, _, err = run_cli(["predict", "--no-such-option"], monkeypatch, capsys)
    assert code == 2 and "No such option: --no-such-option" in err and "unexpected" not in err


# --- an offline fetch ----------------------------------------------------------------------------


def test_offline_fetch_ends_in_one_summary_line(tmp_path, monkeypatch, capsys):
    from features.providers import http
    from features.providers.base import NetworkError
    from tests.conftest import run_cli

    def offline(url: str) -> str:
        raise NetworkError(f"cannot reach {url} (ConnectionError)")

    monkeypatch.setattr(http, "fetch_text", offline)
    code, out, err = run_cli(["data", "fetch", "--source", "live", "--cache-dir", str(tmp_path)], monkeypatch, capsys)
    assert code == 2
    assert out.splitlines() == [f"Data: live cache {tmp_path} (Yahoo Finance + FRED): fetching 13 series"]
    err = err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("error: no network (cannot reach query1.finance.yahoo.com): 13 of 13 series not downloaded "
                          f"(13 not cached in {tmp_path}). Check the internet connection")
    assert "regime data fetch" not in err  # it says what to do, not "run this command again"


# --- metrics and plots ---------------------------------------------------------------------------


def test_a_forecast_without_direction_has_no_hit_rate():
    from training.evaluation.metrics import hit_rate

    assert np.isnan(hit_rate(np.zeros(5), np.ones(5)))
    assert hit_rate(np.array([0.0, 1.0]), np.array([1.0, 1.0])) == 0.5


def test_waterfall_shows_the_base_line_and_every_bar():
    from models.explain import Explanation
    from training.display.plots import waterfall_figure

    dates = pd.bdate_range("2024-01-01", periods=3)
    values = pd.DataFrame({"a": [0.01, 0.02, 0.03], "b": [-0.005, 0.0, 0.01], "c": [0.002, 0.0, 0.0]}, index=dates)
    expl = Explanation(21, values, values, 0.05, 0.05 + values.sum(axis=1))
    ax = waterfall_figure(expl, dates[0], top=2).axes[0]
    lo, hi = ax.get_xlim()
    # In simple percent: the dashed base line (exp(0.05) - 1 = 5.13%) and the forecast sit inside the frame.
    levels = 100 * np.expm1([0.05, 0.05 + 0.01 - 0.005 + 0.002])
    assert lo < levels.min() and hi > levels.max()
    assert [t.get_text() for t in ax.get_yticklabels()][-1] == "1 other features"


# --- MLflow as ML users know it ------------------------------------------------------------------


def test_experiments_open_in_the_training_runs_view(tmp_path):
    import mlflow

    from training.tracking.store import configure_tracking, ensure_experiment

    configure_tracking(f"sqlite:///{tmp_path}/mlflow.db")
    new = ensure_experiment("fresh")
    old = mlflow.create_experiment("old")  # created before the tag existed
    assert ensure_experiment("old") == old
    for exp_id in (new, old):
        assert mlflow.get_experiment(exp_id).tags["mlflow.experimentKind"] == "custom_model_development"


def test_the_report_timeline_says_which_labels_it_shows(small_panel):
    from types import SimpleNamespace

    from features.align import align_point_in_time
    from training.thesis.report import _timeline_section

    aligned = align_point_in_time(small_panel)
    labels = pd.Series("calm", index=aligned.index[300:]).where(np.arange(len(aligned) - 300) % 90 < 45, "fear")
    data = SimpleNamespace(aligned=aligned, regimes=labels, trained_range=("2018-01-01", "2022-12-30"), oos_regimes=None)
    assert "the HMM was fitted on all the training data (to 2022-12-30), so labels before then are in sample" \
        in _timeline_section(data)
    data.oos_regimes = labels.loc["2020":"2021"]
    text = _timeline_section(data)
    assert "Walk-forward (out-of-sample) filtered regimes of the model&#x27;s training run, 2020-01-01 to 2021-12-31" \
        in text and "Later dates have no out-of-sample label" in text
