"""More of the bad-input corpus: each input is either accepted as documented or refused with one
line naming the cause (exit code 2, no traceback); test_cli.py holds the first part."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from features.csv_source import read_csv_folder, read_series_csv
from features.errors import DataError, RegimeError
from features.series import CORE_SERIES, OPTIONAL_SERIES
from features.validation import validate_series
from tests.conftest import run_cli, write_csv_folder
from tests.test_cli import _assert_clean_error
from tests.test_failure_safety import Store, champion_store
from training.config import MODEL_NAME
from training.tracking.model_io import load_pyfunc
from training.tracking.store import configure_tracking


def _read(folder: Path) -> pd.DataFrame:
    """The raw panel of a csv folder, as the csv source reads it."""
    return read_csv_folder(folder, CORE_SERIES, OPTIONAL_SERIES)


def pyfunc_input(panel: pd.DataFrame) -> pd.DataFrame:
    """A raw panel as the pyfunc takes it: ISO date strings in a ``date`` column, one column per series."""
    flat = panel.reset_index()
    flat["date"] = flat["date"].dt.strftime("%Y-%m-%d")
    return flat


# --- the csv source ----------------------------------------------------------------------------


def test_unsorted_dates_are_accepted_sorted_and_logged(csv_folder: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A file whose lines are in reverse order reads as the sorted series, with a warning naming the file."""
    expected = _read(csv_folder)
    path = csv_folder / "gold_usd.csv"
    header, *body = path.read_text().splitlines()
    path.write_text("\n".join([header, *reversed(body)]) + "\n")
    with caplog.at_level(logging.WARNING, logger="features.validation"):
        got = _read(csv_folder)
    pd.testing.assert_frame_equal(got, expected)
    assert f"series 'gold_usd' ({path}): dates were not sorted" in caplog.text


def test_a_huge_gap_is_refused_by_the_gap_limit(csv_folder: Path) -> None:
    """A three-year hole in a daily series: the csv source has no gap limit (it carries the last value
    forward), and validate_series with max_gap_days names the series, the file and where the gap ends."""
    path = csv_folder / "vix.csv"
    frame = pd.read_csv(path)
    frame[~frame["date"].between("2018-01-01", "2020-12-31")].to_csv(path, index=False)
    values = read_series_csv(path)
    message = f"series 'vix' ({path}): gap longer than 31 days ending 2021-01-01"
    with pytest.raises(DataError, match=re.escape(message)):
        validate_series(values, "vix", origin=str(path), max_gap_days=31)


def test_unknown_files_in_the_folder_are_ignored(csv_folder: Path) -> None:
    """Files that are not catalogued series (another vendor's BTC, junk, notes) do not change the panel."""
    expected = _read(csv_folder)
    (csv_folder / "btc_usd_bitstamp.csv").write_text("date,value\n2020-01-02,-1\n")
    (csv_folder / "copper.csv").write_bytes(bytes(range(256)))
    (csv_folder / "README.txt").write_text("notes")
    pd.testing.assert_frame_equal(_read(csv_folder), expected)


# --- a registered model and its input ------------------------------------------------------------


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """A store whose champion was trained on the demo market 2017-2022 (horizons 5 and 21)."""
    return champion_store(tmp_path_factory.mktemp("badinput"))


@pytest.fixture(scope="module")
def model(store: Store) -> Any:
    """The champion as a pyfunc, loaded in-process."""
    configure_tracking(store.uri)
    return load_pyfunc(f"models:/{MODEL_NAME}@champion")


@pytest.fixture
def use_store(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    """Select ``store`` for the CLI as a user would ($MLFLOW_TRACKING_URI), from an empty folder."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store.uri)
    monkeypatch.chdir(tmp_path)
    return store


@pytest.mark.slow
def test_an_unknown_column_in_the_pyfunc_input_is_ignored(model: Any, small_panel: pd.DataFrame) -> None:
    """Extra columns (unknown series, text) do not change the forecasts."""
    flat = pyfunc_input(small_panel)
    pd.testing.assert_frame_equal(model.predict(flat.assign(copper="junk", lumber=1.0)), model.predict(flat))


@pytest.mark.slow
@pytest.mark.parametrize(("change", "needle"), [
    (lambda f: f.drop(columns=["walcl"]), "missing series the model was trained on: walcl"),
    (lambda f: f.tail(40), "too little history"),
], ids=["series-missing", "too-short"])
def test_a_pyfunc_input_that_does_not_fit_the_model_is_a_clear_error(
    model: Any, small_panel: pd.DataFrame, change: Any, needle: str
) -> None:
    """Without a series the model was trained on, or with fewer rows than the feature windows need,
    the pyfunc raises our one-line error (a RegimeError, which the CLI prints) naming the cause."""
    with pytest.raises(RegimeError, match=needle) as info:
        model.predict(change(pyfunc_input(small_panel)))
    assert "\n" not in str(info.value)


@pytest.mark.slow
@pytest.mark.parametrize(("drop", "rows", "needle"), [
    ("walcl.csv", None, "missing series the model was trained on: walcl"),
    (None, 100, "too little history"),
])
def test_predict_on_a_folder_that_does_not_fit_the_model(
    use_store: Store, small_panel: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], drop: str | None, rows: int | None, needle: str,
) -> None:
    """`regime predict --source csv` on a folder without a series the model needs (the core series are
    all there, so the folder itself is valid) or with only 100 days: one line, exit 2."""
    folder = write_csv_folder(small_panel.tail(rows) if rows else small_panel, tmp_path / "data")
    if drop:
        (folder / drop).unlink()
    code, _, err = run_cli(["predict", "--source", "csv", "--data-dir", str(folder)], monkeypatch, capsys)
    _assert_clean_error(code, err, needle)


# --- out-of-range options -------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(("args", "needles"), [
    (["predict", "--rows", "-1"], ["`--rows` must be >= 0", "-1"]),
    (["explain", "--top", "0"], ["`--top` must be >= 1", "0"]),
    (["explain", "--date", "not-a-date"], ["`--date` must be a date", "not-a-date"]),
    (["explain", "--date", "1990-01-01"], ["no forecast on or before 1990-01-01"]),
    (["explain", "--horizon", "7"], ["`horizon` 7 is not one of the model's horizons (5, 21)"]),
], ids=["rows-negative", "top-zero", "date-garbage", "date-before-data", "horizon-unknown"])
def test_out_of_range_options(use_store: Store, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                              args: list[str], needles: list[str]) -> None:
    """Each option outside its range is refused with one line naming the option and the value."""
    code, _, err = run_cli(args, monkeypatch, capsys)
    _assert_clean_error(code, err, *needles)
