"""Input that would change meaning is never accepted silently: holes inside a series (refused, or bridged on
purpose with a warning naming series and dates), dates that are no whole day or written two ways in one file,
and settings whose effect would be empty on the data (a window or walk-forward longer than the history)."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pandas as pd
import pytest

from features.config import DataConfig
from features.csv_source import read_csv_folder, read_series_csv
from features.errors import ConfigError, DataError
from features.gaps import MAX_GAP_DAYS, check_gaps
from features.series import CORE_SERIES, OPTIONAL_SERIES
from features.sources import load_panel
from tests.conftest import run_cli
from tests.test_cli import _assert_clean_error
from training.config import Config
from training.settings_fit import check_settings_fit


def _cut(folder: Path, series: str, start: str, end: str) -> Path:
    """Remove the observations of ``series`` between ``start`` and ``end`` from its file; the file."""
    path = folder / f"{series}.csv"
    frame = pd.read_csv(path, dtype=str)
    frame[~frame["date"].between(start, end)].to_csv(path, index=False)
    return path


HOLES = {  # series: (hole, the dates the message names)
    "gold_usd": (("2018-01-01", "2020-12-31"), "no values between 2017-12-29 and 2021-01-01 (1099 days; a daily series may pause 31)"),
    "btc_usd": (("2019-01-01", "2020-06-30"), "no values between 2018-12-31 and 2020-07-01 (548 days"),
    "m2sl": (("2018-01-01", "2019-12-31"), "no values between 2017-12-01 and 2020-01-01 (761 days; a monthly series may pause 95)"),
    "walcl": (("2019-03-01", "2019-06-30"), "a weekly series may pause 45"),
}


@pytest.mark.parametrize("series", HOLES)
def test_a_long_hole_is_refused_naming_series_file_and_dates(series, csv_folder):
    (start, end), needle = HOLES[series]
    path = _cut(csv_folder, series, start, end)
    with pytest.raises(DataError) as info:
        load_panel(DataConfig(source="csv", data_dir=str(csv_folder), start="2017-01-01"))
    message = str(info.value)
    assert f"series '{series}' ({path}): " in message and needle in message and f"--bridge-gaps {series}" in message
    assert "\n" not in message


def test_a_hole_bridged_on_purpose_is_a_warning_naming_the_dates(csv_folder, caplog):
    _cut(csv_folder, "gold_usd", "2018-01-01", "2020-12-31")
    with caplog.at_level(logging.WARNING, logger="features.gaps"):
        panel = load_panel(DataConfig(source="csv", data_dir=str(csv_folder), start="2017-01-01",
                                      bridge_gaps=("gold_usd",)))
    assert "series 'gold_usd'" in caplog.text and "no values between 2017-12-29 and 2021-01-01" in caplog.text
    assert "bridged on purpose" in caplog.text and panel["gold_usd"].notna().any()


@pytest.mark.parametrize(("series", "start", "end"), [
    ("vix", "2019-12-21", "2020-01-05"),      # a holiday cluster
    ("dgs10", "2019-03-01", "2019-03-20"),    # a vendor's outage of a couple of weeks
    ("walcl", "2019-03-01", "2019-03-31"),    # three weekly releases late
    ("m2sl", "2019-03-01", "2019-04-30"),     # two monthly releases missing
])
def test_ordinary_pauses_are_accepted(series, start, end, csv_folder):
    _cut(csv_folder, series, start, end)
    load_panel(DataConfig(source="csv", data_dir=str(csv_folder), start="2017-01-01"))


def test_the_real_data_have_no_hole(shared_data):
    panel = read_csv_folder(shared_data, CORE_SERIES, OPTIONAL_SERIES)
    assert check_gaps(panel) == []


def test_the_limits_are_per_frequency():
    assert MAX_GAP_DAYS == {"daily": 31, "weekly": 45, "monthly": 95}


def test_train_refuses_a_hole_before_the_work(csv_folder, mlflow_store, monkeypatch, capsys):
    _cut(csv_folder, "gold_usd", "2018-01-01", "2020-12-31")
    code, _, err = run_cli(["train", "--data-dir", str(csv_folder), "--start", "2017-01-01"], monkeypatch, capsys)
    _assert_clean_error(code, err, "series 'gold_usd'", "no values between 2017-12-29 and 2021-01-01",
                        "--bridge-gaps gold_usd")
    assert not Path(mlflow_store.removeprefix("sqlite:///")).exists()


def test_the_served_model_refuses_a_hole_too(small_panel):
    """The pyfunc runs the same check on its input (its stored and requested bridged series accepted)."""
    from models.pyfunc import InvalidModelInput, RegimeForecastModel

    model = RegimeForecastModel()
    model.info, model.pipeline = {"config": {"data": {}}}, type("P", (), {"input_series_": tuple(small_panel.columns)})()
    flat = small_panel.drop(small_panel.loc["2018-01-01":"2019-12-31"].index).reset_index()
    with pytest.raises(InvalidModelInput, match=re.escape("series 'btc_usd' (model input): no values between")):
        model.predict(None, flat)


# --- dates ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("written", "needle"), [
    ("2021-08", "cannot parse date '2021-08' (expected a whole day, YYYY-MM-DD)"),
    ("2021", "cannot parse date '2021' (expected a whole day"),
])
def test_a_date_that_is_no_whole_day_is_refused(written, needle, tmp_path):
    path = tmp_path / "gold_usd.csv"
    path.write_text(f"date,value\n2021-07-30,1800\n{written},1810\n")
    with pytest.raises(DataError, match=re.escape(f"{path}, line 3: {needle}")):
        read_series_csv(path)


def test_one_file_writes_its_dates_one_way(tmp_path):
    path = tmp_path / "gold_usd.csv"
    path.write_text("date,value\n2021-07-29,1800\n2021-07-30T00:00:00Z,1805\n20210802,1810\n")
    with pytest.raises(DataError, match=re.escape(f"{path}, line 4: date '20210802' is written YYYYMMDD, line 2 "
                                                  "'2021-07-29' YYYY-MM-DD; write every date of a file alike")):
        read_series_csv(path)


def test_a_month_is_no_date_for_an_option_either(mlflow_store, monkeypatch, capsys):
    code, _, err = run_cli(["train", "--end", "2021-08"], monkeypatch, capsys)
    _assert_clean_error(code, err, "end` must be a date (YYYY-MM-DD). Got '2021-08'.")


# --- settings whose effect would be empty -------------------------------------------------------------------------

@pytest.mark.parametrize(("change", "needle"), [
    ({"features": {"zscore_window": 100_000}}, "`[features] zscore_window` = 100000 business days is longer than the data"),
    ({"features": {"lead_lags": (21, 5000)}}, "`[features] lead_lags` = 5000 business days is longer than the data"),
    ({"evaluation": {"initial_train": 100_000}}, "`[evaluation] initial_train` (--initial-train) = 100000 business days "
                                                 "does not fit"),
])
def test_settings_longer_than_the_data_are_refused_naming_the_key(change, needle, small_panel):
    with pytest.raises(ConfigError) as info:
        check_settings_fit(Config().replace(**change), small_panel)
    assert needle in str(info.value) and "\n" not in str(info.value)


def test_the_defaults_fit_the_small_panel(small_panel):
    check_settings_fit(Config().replace(evaluation={"initial_train": 504}), small_panel)
