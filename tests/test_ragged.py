"""Ragged data (features.ragged): series that end before the others are named, every command answers as of
the last date on which every series it needs is current, and no value is carried past the end of its series."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pytest

from features.config import DataConfig, FeatureConfig
from features.design import build_design
from features.errors import DataError
from features.ragged import MAX_EARLY_DAYS, current_through, ragged_end
from features.series import CORE_SERIES
from features.sources import load_panel
from tests.conftest import run_cli, write_csv_folder
from training.config import Config

if TYPE_CHECKING:
    from training.jobs.train import TrainResult

EARLY = ("gold_usd", "silver_usd", "dxy", "vix")
FAST = ["--initial-train", "504", "--step", "252", "--n-bootstrap", "0", "--no-baselines", "--force-promote"]


def _end_early(panel: pd.DataFrame, series: tuple[str, ...], last: pd.Timestamp) -> pd.DataFrame:
    out = panel.copy()
    out.loc[out.index > last, list(series)] = np.nan
    return out


@pytest.fixture(scope="module")
def common() -> pd.Timestamp:
    """90 business days before the last day of the small demo panel (2022-12-30)."""
    return pd.Timestamp("2022-12-30") - pd.offsets.BDay(90)


@pytest.fixture
def ragged_folder(tmp_path: Path, small_panel: pd.DataFrame, common: pd.Timestamp) -> Path:
    """The small demo panel as csv files, gold, silver, the dollar index and VIX ending 90 business days early."""
    return write_csv_folder(_end_early(small_panel, EARLY, common), tmp_path / "ragged")


def _csv(folder: Path, **kw) -> DataConfig:
    return DataConfig(source="csv", data_dir=str(folder), start=None, **kw)


def _assert_names_all(text: str, common: pd.Timestamp) -> None:
    assert "4 series end early" in text and "more)" not in text, text
    for sid in EARLY:
        assert f"{sid} on {common:%Y-%m-%d}" in text, text
    assert f"Using the data up to {common:%Y-%m-%d}" in text, text


def test_a_ragged_folder_is_cut_to_the_common_date_naming_every_early_series(ragged_folder, common, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="features.sources"):
        panel = load_panel(_csv(ragged_folder))
    assert panel.index[-1] == common
    assert panel.loc[common, list(CORE_SERIES)].notna().all()  # every needed series has its value of that day
    _assert_names_all(caplog.text, common)


def test_no_value_is_carried_past_the_end_of_its_series(ragged_folder, tmp_path, common) -> None:
    """Changing every value after the common date changes no feature up to it, and no row after it is produced."""
    changed = load_panel(_csv(ragged_folder), check=False)
    after = changed.index > common
    changed.loc[after] = changed.loc[after] * 1.5 + np.where(changed.columns.str.startswith(("dgs", "dfii", "t10")), 1, 0)
    other = write_csv_folder(changed, tmp_path / "changed")
    designs = [build_design(load_panel(_csv(folder)), FeatureConfig(), (5,)) for folder in (ragged_folder, other)]
    for d in designs:
        assert d.index[-1] == common and d.aligned.index[-1] == common
    pd.testing.assert_frame_equal(designs[0].features, designs[1].features)
    pd.testing.assert_frame_equal(designs[0].regime_obs, designs[1].regime_obs)


def test_end_cuts_before_any_check(ragged_folder, common, caplog) -> None:
    """An --end before the gap is an ordinary, current panel: nothing ends early, nothing is said."""
    end = common - pd.offsets.BDay(30)
    with caplog.at_level(logging.WARNING, logger="features.sources"):
        panel = load_panel(_csv(ragged_folder, end=f"{end:%Y-%m-%d}"))
    assert panel.index[-1] == end and "end early" not in caplog.text


def test_a_needed_series_ending_years_early_is_an_error_naming_it(tmp_path, small_panel, common) -> None:
    folder = write_csv_folder(_end_early(_end_early(small_panel, ("vix",), pd.Timestamp("2018-06-29")),
                                         ("dxy",), common), tmp_path / "dead")
    with pytest.raises(DataError) as info:
        load_panel(_csv(folder))
    message = str(info.value)
    assert f"series 'vix' ({folder / 'vix.csv'}) ends on 2018-06-29" in message and "dead feed" in message
    assert "--end 2018-06-29" in message and "'dxy'" not in message and "\n" not in message


def test_a_needed_series_is_cut_to_up_to_a_year_beyond_its_staleness_limit(small_panel) -> None:
    last = pd.Timestamp("2022-12-30")
    for days, refused in ((5 + MAX_EARLY_DAYS - 3, False), (5 + MAX_EARLY_DAYS + 3, True)):
        panel = _end_early(small_panel, ("dxy",), last - pd.Timedelta(days=days))
        if refused:
            with pytest.raises(DataError, match="series 'dxy'"):
                ragged_end(panel, CORE_SERIES)
        else:
            assert ragged_end(panel, CORE_SERIES).common <= last - pd.Timedelta(days=days)


def test_a_series_not_needed_is_left_out_and_a_needed_one_cuts(small_panel, common) -> None:
    """An optional series that ends early is left out of a training (the core series set the date); a model
    trained with it needs it, so there it cuts like a core series."""
    panel = _end_early(small_panel, ("sp500",), common)
    training = ragged_end(panel, CORE_SERIES)
    assert training.common is None and [e.series_id for e in training.left_out] == ["sp500"]
    assert "sp500" not in training.apply(panel) and training.apply(panel).index[-1] == panel.index[-1]
    assert "left out, not needed and not current on 2022-12-31: sp500 (ends on" in training.notice()
    model = ragged_end(panel, list(panel.columns))
    assert model.common == common and not model.left_out and model.apply(panel).index[-1] == common


def test_an_optional_series_ending_with_the_core_ones_is_kept(small_panel, common) -> None:
    """The optional series is judged on the common date of the needed ones, not on the latest date."""
    edge = ragged_end(_end_early(small_panel, (*EARLY, "sp500"), common), CORE_SERIES)
    assert edge.common == common and not edge.left_out


@pytest.mark.parametrize("series, last, through", [
    ("gold_usd", "2024-08-30", "2024-09-01"),   # a Friday close: current over the weekend (Monday is Labor Day)
    ("dgs10", "2024-08-30", "2024-09-03"),      # H.15: Tuesday's value is out Wednesday, so Friday's is current Tuesday
    ("usd_broad", "2024-08-26", "2024-09-03"),  # H.10: five Fed business days
    ("walcl", "2024-08-28", "2024-09-05"),      # a Wednesday, usable Friday, the next one usable Friday week
    ("m2sl", "2024-06-01", "2024-08-29"),       # July's M2 is taken as public on 2024-08-30
])
def test_current_through_follows_the_publication_lags(series, last, through) -> None:
    assert current_through(series, pd.Timestamp(last)) == pd.Timestamp(through)


def test_series_within_their_staleness_limit_cut_nothing(small_panel) -> None:
    """A weekend, a yield not published yet and last week's WALCL are current: no cut, no notice."""
    panel = small_panel.copy()
    panel.loc["2022-12-30", ["dgs10", "dfii10", "t10yie"]] = np.nan
    panel.loc["2022-12-29":, "walcl"] = np.nan
    edge = ragged_end(panel, list(panel.columns))
    assert edge.common is None and not edge.left_out and edge.notice() is None


@pytest.mark.realdata
def test_the_real_folder_with_four_series_ending_early(shared_data, tmp_path, caplog) -> None:
    """../shared/data with gold, silver, the dollar index and VIX stopping 90 business days early."""
    folder = tmp_path / "data"
    shutil.copytree(shared_data, folder)
    last = pd.Timestamp("2024-12-31") - pd.offsets.BDay(90)
    for sid in EARLY:
        path = folder / f"{sid}.csv"
        frame = pd.read_csv(path)
        path.chmod(0o644)
        frame[pd.to_datetime(frame.date) <= last].to_csv(path, index=False)
    with caplog.at_level(logging.WARNING, logger="features.sources"):
        panel = load_panel(_csv(folder))
    assert panel.index[-1] == last and "walcl" in panel and "m2sl" in panel
    _assert_names_all(caplog.text, last)


# --- the commands -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained(tmp_path_factory, small_panel, common) -> tuple[Path, str, TrainResult]:
    """A champion trained (quick settings) on the ragged folder: (folder, store URI, the training's result)."""
    from training.jobs.train import run_training

    root = tmp_path_factory.mktemp("ragged")
    folder = write_csv_folder(_end_early(small_panel, EARLY, common), root / "data")
    uri = f"sqlite:///{root}/mlflow.db"
    cfg = Config().replace(data={"source": "csv", "data_dir": str(folder), "start": None},
                           model={"horizons": (5,), "hmm_n_init": 1, "lgbm_params": {"n_estimators": 20}},
                           evaluation={"initial_train": 504, "step": 504, "n_bootstrap": 0, "baselines": False},
                           tracking={"tracking_uri": uri, "force_promote": True})
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        return folder, uri, run_training(cfg)


@pytest.fixture
def use(trained, monkeypatch, tmp_path) -> Path:
    folder, uri, _ = trained
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.chdir(tmp_path)
    return folder


def test_a_training_trains_to_the_common_date_and_records_it(trained, common) -> None:
    import mlflow

    _, uri, result = trained
    assert result.data_range[1] == f"{common:%Y-%m-%d}"
    assert mlflow.MlflowClient(uri).get_run(result.run_id).data.tags["data.last"] == f"{common:%Y-%m-%d}"


@pytest.mark.slow
def test_regime_train_names_every_early_series(ragged_folder, common, mlflow_store, monkeypatch, capsys,
                                               caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="features.sources"):
        code, out, err = run_cli(["train", "--data-dir", str(ragged_folder), *FAST], monkeypatch, capsys)
    assert code == 0, err
    _assert_names_all(caplog.text, common)
    assert out.startswith(f"Data: csv files in {ragged_folder}, 2017-01-01 → {common:%Y-%m-%d}")


def test_predict_and_now_answer_as_of_the_common_date(use, common, monkeypatch, capsys, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="features.sources"):
        code, out, err = run_cli(["predict", "--output", "p.csv"], monkeypatch, capsys)
    assert code == 0, err
    _assert_names_all(caplog.text, common)
    assert pd.read_csv("p.csv").date.iloc[-1] == f"{common:%Y-%m-%d}"
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="features.sources"):
        code, out, err = run_cli(["now"], monkeypatch, capsys)
    assert code == 0, err
    _assert_names_all(caplog.text, common)
    assert f"{common:%Y-%m-%d}: regime" in out


def test_end_and_as_of_before_the_gap(use, common, monkeypatch, capsys, caplog) -> None:
    end = f"{common - pd.offsets.BDay(20):%Y-%m-%d}"
    with caplog.at_level(logging.WARNING, logger="features.sources"):
        code, out, err = run_cli(["predict", "--end", end, "--output", "p.csv"], monkeypatch, capsys)
        assert code == 0, err
        assert pd.read_csv("p.csv").date.iloc[-1] == end and f"read to {end}" in out
        code, out, err = run_cli(["now", "--as-of", end], monkeypatch, capsys)
        assert code == 0, err
    assert f"{end}: regime" in out and "end early" not in caplog.text
    code, _, err = run_cli(["now", "--as-of", "not-a-date"], monkeypatch, capsys)
    assert code == 2 and "`--as-of` must be a date" in err
