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
    """A three-year hole in a daily series: reading one file has no gap limit (the panel's check does, see
    test_meaning.py), and validate_series with max_gap_days names the series, the file and where the gap ends."""
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


# === Round two (issue 14): implausible data, dates, config types, store faults, output paths, the served model.
# Each case ends in one line naming the cause, or is accepted as documented; nothing already stored (champion,
# registry, runs, files of the store) changes. docs/reliability.md counts these cases.

FAST = ["--initial-train", "504", "--step", "252", "--n-bootstrap", "0", "--no-baselines",
        "--start", "2017-01-01", "--end", "2022-12-31"]


def _digest(root: Path) -> dict[str, str]:
    """Content hash of every file of a store (the database and the artifacts)."""
    import hashlib

    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.suffix in ("", ".db", ".json", ".joblib", ".yaml",
                                                                                 ".txt", ".py", ".csv", ".png")}


@pytest.fixture
def unchanged(use_store: Store) -> Any:
    """Asserts after the test that the store's registry, runs and files are exactly as before."""
    from tests.test_failure_safety import registry_state, run_statuses

    before = (registry_state(use_store), run_statuses(use_store), _digest(use_store.root))
    yield use_store
    assert (registry_state(use_store), run_statuses(use_store), _digest(use_store.root)) == before


def _edit_csv(folder: Path, series: str, edit: Any) -> None:
    """Rewrite ``<series>.csv`` as ``edit(frame)`` (both columns read as text)."""
    path = folder / f"{series}.csv"
    edit(pd.read_csv(path, dtype=str)).to_csv(path, index=False)


def _scale(day: str, factor: float) -> Any:
    return lambda f: f.assign(value=f["value"].mask(f.date == day, str(float(f.loc[f.date == day, "value"].iloc[0]) * factor)))


def _value(where: Any, value: Any) -> Any:
    return lambda f: f.assign(value=f["value"].mask(where(f), value))


def _dates(spell: Any) -> Any:
    return lambda f: f.assign(date=f["date"].map(spell))


# --- implausible data --------------------------------------------------------------------------------------

IMPLAUSIBLE = {  # case: (series, edit of its csv file, what the line must say)
    "btc-1000x": ("btc_usd", _scale("2020-03-02", 1000), ["btc_usd", "implausible move on 2020-03-02", "--accept-implausible btc_usd"]),
    "gold-1e308": ("gold_usd", _value(lambda f: f.date == "2020-03-03", "1e308"),
                   ["gold_usd.csv", "implausible value 1e+308 on 2020-03-03"]),
    "btc-stops-5y-early": ("btc_usd", lambda f: f[f.date <= "2017-12-31"], ["btc_usd", "ends on 2017-12-31"]),
    "vix-constant": ("vix", lambda f: f.assign(value="20.0"), ["vix", "constant", "regime model cannot use it"]),
    "dxy-stale-feed": ("dxy", lambda f: _value(lambda g: g.date.between("2019-01-01", "2019-06-30"),
                                               f.loc[f.date >= "2019-01-01", "value"].iloc[0])(f),
                       ["dxy", "the same value", "a stale feed"]),
    "vix-one-day-x10": ("vix", _scale("2021-06-01", 10), ["vix", "implausible move on 2021-06-01", "volatility indices"]),
}


@pytest.mark.parametrize("case", IMPLAUSIBLE)
def test_implausible_data_is_refused_before_training(case: str, csv_folder: Path, unchanged: Store,
                                                     monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """A well-formed file with values no market has shown: one line naming the series and the date, before any run."""
    series, edit, needles = IMPLAUSIBLE[case]
    _edit_csv(csv_folder, series, edit)
    code, _, err = run_cli(["train", "--data-dir", str(csv_folder), *FAST], monkeypatch, capsys)
    _assert_clean_error(code, err, *needles)


def test_implausible_data_is_listed_by_data_show(csv_folder: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """`regime data show` is for looking at data: it shows the table and lists each finding instead of refusing."""
    _edit_csv(csv_folder, "btc_usd", _scale("2020-03-02", 1000))
    code, out, err = run_cli(["data", "show", "--data-dir", str(csv_folder)], monkeypatch, capsys)
    assert code == 0, err
    assert "implausible btc_usd: implausible move on 2020-03-02" in " ".join(out.split())


@pytest.mark.slow
def test_implausible_data_accepted_on_purpose_is_used_with_a_warning(csv_folder: Path, unchanged: Store,
                                                                    monkeypatch: pytest.MonkeyPatch,
                                                                    capsys: pytest.CaptureFixture[str],
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    """`--accept-implausible btc_usd` turns the refusal into a warning naming the series (train passes the option the
    same way, checked below by an unknown series id)."""
    _edit_csv(csv_folder, "btc_usd", _scale("2020-03-02", 1000))
    with caplog.at_level(logging.WARNING, logger="features.plausibility"):
        code, _, err = run_cli(["predict", "--data-dir", str(csv_folder), "--accept-implausible", "btc_usd"],
                               monkeypatch, capsys)
    assert code == 0, err
    assert "series 'btc_usd'" in caplog.text and "accepted on purpose" in caplog.text
    code, _, err = run_cli(["train", "--data-dir", str(csv_folder), "--accept-implausible", "copper"], monkeypatch, capsys)
    _assert_clean_error(code, err, "`accept_implausible`: unknown series copper")


@pytest.mark.slow
def test_predict_refuses_implausible_new_data(csv_folder: Path, unchanged: Store, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    _edit_csv(csv_folder, "gold_usd", _value(lambda f: f.date == "2022-12-30", "1e308"))
    code, _, err = run_cli(["predict", "--data-dir", str(csv_folder)], monkeypatch, capsys)
    _assert_clean_error(code, err, "gold_usd", "implausible value 1e+308 on 2022-12-30")


# --- dates ---------------------------------------------------------------------------------------------------

DATE_SPELLINGS = {  # case: how every date of dxy.csv is rewritten (a function of the ISO date)
    "utc-z": lambda d: f"{d}T00:00:00Z",
    "one-row-plus-5h": None,  # only one row gets +05:00
    "offset-minus-5h": lambda d: f"{d}T00:00:00-05:00",
    "with-time-of-day": lambda d: f"{d} 16:00:00",
}


@pytest.mark.parametrize("case", DATE_SPELLINGS)
def test_timezone_aware_dates_read_as_their_day(case: str, csv_folder: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """Every spelling of a day gives the same panel as plain dates, and `data show` works on it."""
    expected = _read(csv_folder)
    spell = DATE_SPELLINGS[case]
    if spell is None:
        _edit_csv(csv_folder, "dxy", lambda f: f.assign(date=f["date"].mask(f.index == 100, f["date"] + "T00:00:00+05:00")))
    else:
        _edit_csv(csv_folder, "dxy", _dates(spell))
    pd.testing.assert_frame_equal(_read(csv_folder), expected)
    code, _, err = run_cli(["data", "show", "--data-dir", str(csv_folder)], monkeypatch, capsys)
    assert code == 0, err


@pytest.mark.slow
def test_predict_with_timezone_dates_and_bounds(csv_folder: Path, unchanged: Store, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """`regime predict` on a folder with UTC dates and with `--start/--end` carrying offsets: the same rows as plain dates."""
    plain, zoned = tmp_path / "plain.csv", tmp_path / "zoned.csv"
    code, _, err = run_cli(["predict", "--data-dir", str(csv_folder), "--start", "2022-06-01", "--end", "2022-06-30",
                            "--output", str(plain)], monkeypatch, capsys)
    assert code == 0, err
    for series in ("btc_usd", "vix"):
        _edit_csv(csv_folder, series, _dates(lambda d: f"{d}T00:00:00Z"))
    code, _, err = run_cli(["predict", "--data-dir", str(csv_folder), "--start", "2022-06-01T00:00:00Z",
                            "--end", "2022-06-30T00:00:00+05:00", "--output", str(zoned)], monkeypatch, capsys)
    assert code == 0, err
    pd.testing.assert_frame_equal(pd.read_csv(zoned), pd.read_csv(plain))


@pytest.mark.parametrize(("args", "needles"), [
    (["train", "--start", "2020-01-01", "--end", "2019-01-01"], ["`start` (2020-01-01) is after `end`"]),
    (["predict", "--start", "2024-13-01"], ["`--start` must be a date", "2024-13-01"]),
    (["explain", "--date", "2024-03-15 and more"], ["`--date` must be a date"]),
], ids=["start-after-end", "start-month-13", "date-with-garbage"])
def test_a_date_that_cannot_be_used_is_one_line(args: list[str], needles: list[str], mlflow_store: str,
                                                monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(args, monkeypatch, capsys)
    _assert_clean_error(code, err, *needles)


# --- config types ------------------------------------------------------------------------------------------------

CONFIG_FILES = {  # case: (content of the file, what the line must say)
    "register-as-string": ('[tracking]\nregister = "false"\n', "`[tracking] register` must be true or false"),
    "baselines-as-string": ('[evaluation]\nbaselines = "no"\n', "`[evaluation] baselines` must be true or false"),
    "step-as-string": ('[evaluation]\nstep = "126"\n', "`[evaluation] step` must be an integer"),
    "horizons-as-integer": ("[model]\nhorizons = 21\n", "`[model] horizons` must be a list of integers"),
    "n-states-as-float": ("[model]\nn_states = 3.0\n", "`[model] n_states` must be an integer. Got 3.0"),
    "utf-16": ("[model]\nn_states = 2\n".encode("utf-16"), "is UTF-16 text"),
    "a-directory": (None, "is a directory"),
}


@pytest.mark.parametrize("case", CONFIG_FILES)
def test_config_values_of_the_wrong_type_are_one_line(case: str, tmp_path: Path, mlflow_store: str,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    content, needle = CONFIG_FILES[case]
    path = tmp_path / "cfg.toml"
    if content is None:
        path.mkdir()
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    code, _, err = run_cli(["train", "--config", str(path)], monkeypatch, capsys)
    _assert_clean_error(code, err, str(path), needle)
    assert not (tmp_path / "mlruns").exists() or "register" not in case


# --- output paths and files that are not files --------------------------------------------------------------------

def _replace_with(kind: str, path: Path) -> None:
    path.unlink()
    if kind == "directory":
        path.mkdir()
    elif kind == "link-loop":
        path.symlink_to(path.name)
    elif kind == "broken-link":
        path.symlink_to(path.with_name("gone.csv"))


@pytest.mark.parametrize(("series", "kind", "needle"), [
    ("vix", "directory", "is a directory; expected a date,value CSV file"),
    ("vix", "link-loop", "is a symbolic link loop"),
    ("vix", "broken-link", "is a broken symbolic link (to"),
    ("walcl", "broken-link", "is a broken symbolic link (to"),  # optional: an error, not silently dropped
    ("walcl", "directory", "is a directory"),
], ids=["dir-for-vix", "loop-for-vix", "broken-link-for-vix", "broken-link-for-optional-walcl", "dir-for-optional-walcl"])
def test_something_else_in_place_of_a_csv_file_is_named(series: str, kind: str, needle: str, csv_folder: Path,
                                                        mlflow_store: str, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    _replace_with(kind, csv_folder / f"{series}.csv")
    code, _, err = run_cli(["train", "--data-dir", str(csv_folder), *FAST], monkeypatch, capsys)
    _assert_clean_error(code, err, f"{series}.csv", needle)


def test_a_data_folder_that_is_a_file(tmp_path: Path, mlflow_store: str, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "data").write_text("not a folder")
    code, _, err = run_cli(["train", "--data-dir", str(tmp_path / "data")], monkeypatch, capsys)
    _assert_clean_error(code, err, "is not a folder")


@pytest.mark.parametrize(("args", "needle"), [
    (["predict", "--output", "{tmp}"], "is a directory; give a file name"),
    (["predict", "--output", "{tmp}/afile/out.csv"], "afile is a file, not a folder"),
    (["explain", "--output-dir", "{tmp}/afile"], "is a file; expected a folder"),
    (["explain", "--output-dir", "{tmp}/afile/plots"], "which is a file; expected a folder"),
], ids=["output-is-a-dir", "output-under-a-file", "output-dir-is-a-file", "output-dir-under-a-file"])
def test_an_output_path_that_cannot_be_written_is_refused_before_the_work(
    args: list[str], needle: str, tmp_path: Path, unchanged: Store, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "afile").write_text("x")
    code, _, err = run_cli([a.format(tmp=tmp_path) for a in args], monkeypatch, capsys)
    _assert_clean_error(code, err, needle)


# --- store faults ---------------------------------------------------------------------------------------------------

def test_a_store_under_a_regular_file_is_refused_before_the_work(tmp_path: Path, csv_folder: Path,
                                                                 monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """Checked before the data are even read: the csv folder here is broken too, and the store is what is named."""
    (tmp_path / "afile").write_text("x")
    (csv_folder / "vix.csv").unlink()
    code, _, err = run_cli(["train", "--data-dir", str(csv_folder), "--tracking-uri", f"sqlite:///{tmp_path}/afile/mlflow.db"],
                           monkeypatch, capsys)
    _assert_clean_error(code, err, f"sqlite:///{tmp_path}/afile/mlflow.db", "is a regular file, not a folder")


@pytest.mark.parametrize("damage", ["truncated", "garbage", "a-folder"])
@pytest.mark.parametrize("command", ["predict", "train"])
def test_a_damaged_database_names_the_store(damage: str, command: str, store: Store, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """A copy of the champion's database, cut to a third, overwritten or replaced by a folder: one line naming the store
    (train refuses before the work); the original store is untouched."""
    db = tmp_path / "copy.db"
    data = (store.root / "mlflow.db").read_bytes()
    if damage == "truncated":
        db.write_bytes(data[: len(data) // 3])
    elif damage == "garbage":
        db.write_bytes(b"not a database" * 100)
    else:
        db.mkdir()
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli([command, "--tracking-uri", f"sqlite:///{db}"], monkeypatch, capsys)
    _assert_clean_error(code, err, f"sqlite:///{db}")


@pytest.mark.slow
def test_a_champion_whose_files_vanished_says_how_to_recover(unchanged: Store, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """predict and train say what is missing and that `--force-promote` (or another version) recovers; train refuses
    before the work. The files are moved away for the test and back afterwards."""
    models = next((unchanged.root / "artifacts").rglob("models"))
    hidden = models.with_name("hidden")
    models.rename(hidden)
    try:
        for args in (["predict"], ["train", "--config", str(unchanged.config)]):
            code, _, err = run_cli(args, monkeypatch, capsys)
            _assert_clean_error(code, err, "btc-forward-return@champion", "are missing from the store", "--force-promote")
    finally:
        hidden.rename(models)


# --- the served model: exact or refused -------------------------------------------------------------------------

def _every_7th(flat: pd.DataFrame, column: str, value: Any) -> pd.DataFrame:
    out = flat.astype({column: object})
    out.loc[out.index % 7 == 3, column] = value
    return out


SERVED_REFUSED = {  # case: (change of the request, what the one-line message must say)
    "text-in-silver": (lambda f: _every_7th(f, "silver_usd", "abc"), ["series 'silver_usd' (model input)",
                                                                      "cannot parse number 'abc' on", "more)"]),
    "bool-in-vix": (lambda f: _every_7th(f, "vix", True), ["series 'vix'", "cannot parse number 'True'"]),
    "200-rows": (lambda f: f.tail(200), ["too little history for an exact answer", "send at least", "business days"]),
    "1e308-in-gold": (lambda f: f.assign(gold_usd=f["gold_usd"].mask(f.index == len(f) - 30, 1e308)),
                      ["series 'gold_usd' (model input)", "implausible value 1e+308"]),
    "btc-1000x": (lambda f: f.assign(btc_usd=f["btc_usd"].mask(f.index == len(f) - 30, f["btc_usd"] * 1000)),
                  ["series 'btc_usd'", "implausible move"]),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", SERVED_REFUSED)
def test_the_served_model_refuses_what_it_cannot_answer_exactly(case: str, model: Any, small_panel: pd.DataFrame) -> None:
    """In-process pyfunc (the same code answers `mlflow models serve`, where the error is a 400 naming the cause)."""
    from models.pyfunc import InvalidModelInput

    change, needles = SERVED_REFUSED[case]
    with pytest.raises(InvalidModelInput) as info:
        model.predict(change(pyfunc_input(small_panel)))
    assert "\n" not in str(info.value)
    for needle in needles:
        assert needle in str(info.value), str(info.value)


@pytest.mark.slow
@pytest.mark.parametrize("case", ["numbers-as-text", "iso-with-utc", "mixed-offsets", "datetime-column"])
def test_the_served_model_reads_every_spelling_alike(case: str, model: Any, small_panel: pd.DataFrame) -> None:
    """Numbers sent as text, dates with a UTC offset (one rule: the day as written) give the same answer."""
    flat = pyfunc_input(small_panel)
    if case == "numbers-as-text":
        changed = flat.assign(vix=flat["vix"].map(lambda v: None if pd.isna(v) else repr(float(v))))
    elif case == "iso-with-utc":
        changed = flat.assign(date=flat["date"] + "T00:00:00Z")
    elif case == "mixed-offsets":
        changed = flat.assign(date=flat["date"].mask(flat.index % 2 == 0, flat["date"] + "T00:00:00+05:00"))
    else:
        changed = flat.assign(date=pd.to_datetime(flat["date"]).dt.tz_localize("America/New_York"))
    pd.testing.assert_frame_equal(model.predict(changed), model.predict(flat))


@pytest.mark.slow
def test_a_31_month_request_gets_only_rows_equal_to_the_full_history(model: Any, small_panel: pd.DataFrame) -> None:
    """The original case: 31 months of history. Every row answered equals the full-history answer exactly; the
    first rows, which would differ, are not answered."""
    full = model.predict(pyfunc_input(small_panel)).set_index("date")
    short = small_panel.loc["2020-06-01":]
    got = model.predict(pyfunc_input(short)).set_index("date")
    assert 0 < len(got) < len(full.loc["2020-06-01":])
    pd.testing.assert_frame_equal(got, full.loc[got.index], check_exact=True)


# --- store faults that need another process -----------------------------------------------------------------------

def _read_only(root: Path) -> list[str] | None:
    """A command prefix that runs its command with ``root`` read-only, or None where this machine cannot."""
    import os
    import shutil
    import subprocess

    if os.geteuid() != 0:
        return []  # the test makes the files read-only instead
    if shutil.which("unshare") is None:
        return None
    probe = subprocess.run(["unshare", "-m", "sh", "-c", f"mount --bind -o ro {root} {root}"], capture_output=True)
    return ["unshare", "-m", "sh", "-c", f'mount --bind -o ro {root} {root} && exec "$0" "$@"'] if probe.returncode == 0 else None


#: Runs the CLI several times in one interpreter (one start-up), printing each exit code and last stderr line.
CLI_SEQUENCE = """\
import contextlib, io, json, sys
from training.cli import main
results = []
for args in json.loads(sys.argv[1]):
    sys.argv, err = ["regime", *args], io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
    results.append([code, err.getvalue()])
print(json.dumps(results))
"""


@pytest.mark.slow
def test_predict_and_explain_work_from_a_read_only_store(store: Store, tmp_path: Path) -> None:
    """The store on a read-only file system (or read-only files): predict and explain work and write nothing into it;
    train says the store is read-only, before the work."""
    import json
    import os
    import stat
    import subprocess
    import sys

    prefix = _read_only(store.root)
    if prefix is None:
        pytest.skip("cannot make a read-only mount here")
    before = _digest(store.root)
    modes = {p: p.stat().st_mode for p in [store.root, *store.root.rglob("*")]}
    if not prefix:
        for p in modes:
            p.chmod(p.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    commands = [["predict", "--rows", "1"], ["explain", "--output-dir", str(tmp_path / "explain")],
                ["train", "--config", str(store.config)]]
    try:
        done = subprocess.run([*prefix, sys.executable, "-c", CLI_SEQUENCE, json.dumps(commands)], cwd=tmp_path,
                              env=store.env(), capture_output=True, text=True, timeout=300)
    finally:
        for p, mode in modes.items():
            os.chmod(p, mode)
    assert done.returncode == 0, done.stderr
    (predict, predict_err), (explain, explain_err), (train, train_err) = json.loads(done.stdout.strip().splitlines()[-1])
    assert predict == 0 and explain == 0, predict_err + explain_err
    assert train == 2 and "is read-only" in train_err.strip().splitlines()[-1]
    assert _digest(store.root) == before


#: Starts a run the way the product does, then dies without clean-up (SIGKILL to itself).
KILLED_RUN = """\
import os, signal, sys
import mlflow
from training.tracking.lifecycle import tracked_run
from training.tracking.store import configure_tracking, ensure_experiment
configure_tracking(sys.argv[1])
with tracked_run(ensure_experiment("btc-regime")) as run:
    print(run.info.run_id, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.mark.slow
def test_a_run_left_running_by_a_killed_process_is_closed_by_the_next_command(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    """A process killed with a run open leaves it RUNNING; the next command using the store marks it KILLED, says
    so, and changes nothing else. Runs of live processes are left alone."""
    import signal
    import subprocess
    import sys

    from tests.test_failure_safety import registry_state, run_statuses
    from training.tracking.lifecycle import tracked_run
    from training.tracking.store import ensure_experiment

    done = subprocess.run([sys.executable, "-c", KILLED_RUN, store.uri], capture_output=True, text=True, timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr
    run_id = done.stdout.split()[0]
    assert run_statuses(store)[run_id] == "RUNNING"
    before, runs = registry_state(store), run_statuses(store)
    with caplog.at_level(logging.WARNING, logger="training.tracking.stale_runs"):
        configure_tracking(store.uri)
        with tracked_run(ensure_experiment("btc-regime")) as alive:  # this process's own open run survives a check
            configure_tracking(store.uri)
            assert run_statuses(store)[alive.info.run_id] == "RUNNING"
    assert f"run {run_id}" in caplog.text and "marked KILLED" in caplog.text
    assert {r: s for r, s in run_statuses(store).items() if r != alive.info.run_id} == {**runs, run_id: "KILLED"}
    assert registry_state(store) == before
    assert "no longer exists" in store.client().get_run(run_id).data.tags["regime.closed"]


@pytest.mark.parametrize("can_end", [True, False], ids=["run-marked-failed", "store-full-even-for-the-status"])
def test_a_full_disk_inside_a_run_is_one_line_naming_the_store_and_the_run(
    can_end: bool, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk fills while a job writes its run (ENOSPC from an artifact copy, 'database or disk is full' from
    SQLite): one StoreError naming the store, the disk and what happened to the run, no MLflow traceback. When even
    the status cannot be written, the run stays RUNNING until the next command closes it."""
    import errno
    import sqlite3

    import mlflow

    from features.errors import StoreError
    from training.tracking.lifecycle import tracked_run
    from training.tracking.store import ensure_experiment

    uri = configure_tracking(store.uri)
    if not can_end:
        def full(*args: Any, **kwargs: Any) -> None:
            raise sqlite3.OperationalError("database or disk is full")
        monkeypatch.setattr(mlflow.MlflowClient, "set_terminated", full)
    with pytest.raises(StoreError) as info:
        with tracked_run(ensure_experiment("disk-full")) as run:
            raise OSError(errno.ENOSPC, "No space left on device", "plot.png", None, f"{tmp_path}/artifacts/plot.png")
    message = str(info.value)
    assert message.startswith(f"MLflow store {uri}: no space left on the device (writing {tmp_path}/artifacts/plot.png)")
    assert "\n" not in message and mlflow.active_run() is None
    monkeypatch.undo()
    status = mlflow.MlflowClient().get_run(run.info.run_id).info.status
    assert (status, "was marked FAILED" in message) == (("FAILED", True) if can_end else ("RUNNING", False))
