"""features.plausibility: values no market has shown are refused with series and date; the real
history (BTC's thin 2010-2013 market included) and the demo market pass untouched."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.config import DataConfig
from features.csv_source import read_csv_folder
from features.demo import generate_demo_market
from features.errors import ConfigError, DataError
from features.plausibility import CLASS_OF, CLASSES, check_plausibility, panel_findings
from features.series import CATALOG, CORE_SERIES, OPTIONAL_SERIES
from features.sources import load_panel
from tests.conftest import write_csv_folder


@pytest.mark.realdata
def test_the_real_history_is_plausible_from_its_first_row(shared_data: Path) -> None:
    """Every file of ../shared/data, whole (BTC from 2010-07, the dollar index from 1971), has no finding."""
    panel = read_csv_folder(shared_data, CORE_SERIES, OPTIONAL_SERIES)
    assert panel.index[0] < pd.Timestamp("2010-08-01")
    assert panel_findings(panel) == []


@pytest.mark.realdata
def test_the_limits_keep_a_margin_over_the_real_history(shared_data: Path) -> None:
    """The largest real move of each series stays below 70% of its class limit: the limits are not tuned to
    the edge of the data (BTC's worst day, -49% on 2013-04-11, is far inside x4.5 / -78%)."""
    panel = read_csv_folder(shared_data, CORE_SERIES, OPTIONAL_SERIES)
    for sid in panel.columns:
        cls = CLASSES[CLASS_OF[sid]]
        s = panel[sid].dropna()
        moves = np.diff(np.log(s.to_numpy())) if cls.log_moves else np.diff(s.to_numpy())
        assert np.abs(moves).max() < 0.7 * cls.max_move, sid
        assert cls.low < s.min() and s.max() < cls.high, sid


def test_demo_markets_are_plausible() -> None:
    for seed in range(8):
        assert panel_findings(generate_demo_market(seed=seed).panel) == [], seed


def test_every_catalogued_series_has_an_asset_class() -> None:
    assert set(CLASS_OF) == set(CATALOG) and set(CLASS_OF.values()) <= set(CLASSES)


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return generate_demo_market(seed=7).panel.loc["2017-01-01":"2022-12-31"]


def _break(panel: pd.DataFrame, change) -> pd.DataFrame:
    out = panel.copy()
    change(out)
    return out


def _times(date: str, col: str, factor: float):
    def change(p: pd.DataFrame) -> None:
        p.loc[date, col] *= factor
    return change


def _set(rows, col: str, value: float):
    def change(p: pd.DataFrame) -> None:
        p.loc[rows, col] = value
    return change


def _stuck(start: str, end: str, col: str):
    def change(p: pd.DataFrame) -> None:
        p.loc[start:end, col] = p.loc[start:end, col].dropna().iloc[0]
    return change


def _constant(col: str, value: float):
    def change(p: pd.DataFrame) -> None:
        p[col] = p[col].where(p[col].isna(), value)
    return change


IMPLAUSIBLE = {  # case: (change, what the one-line message must say)
    "btc-1000x": (_times("2020-03-02", "btc_usd", 1000),
                  ["series 'btc_usd'", "implausible move on 2020-03-02", "x1.01e+03", "the limit for crypto"]),
    "gold-1e308": (_set("2020-03-03", "gold_usd", 1e308),
                   ["series 'gold_usd'", "implausible value 1e+308 on 2020-03-03", "metals"]),
    "btc-stops-early": (_set(slice("2018-01-01", None), "btc_usd", np.nan),
                        ["series 'btc_usd'", "ends on 2017-12-31", "days before the latest series"]),
    "vix-constant": (_constant("vix", 20.0), ["series 'vix'", "constant: every value is 20", "fix or remove"]),
    "silver-stuck": (_stuck("2019-05-01", "2019-07-31", "silver_usd"),
                     ["series 'silver_usd'", "the same value", "consecutive observations from 2019-05-01",
                      "a stale feed"]),
    "real-yield-jump": (_set("2019-06-03", "dfii10", 9.0),
                        ["series 'dfii10'", "implausible move on 2019-06-03", "the limit for yields is 3 points"]),
    "dollar-halves": (_times("2021-02-01", "dxy", 0.5), ["series 'dxy'", "on 2021-02-01", "-50", "dollar indices"]),
    "walcl-5x": (_times("2021-02-03", "walcl", 5), ["series 'walcl'", "on 2021-02-03", "fed balance sheet"]),
}


@pytest.mark.parametrize("case", IMPLAUSIBLE)
def test_implausible_data_is_refused_naming_series_and_date(panel, case) -> None:
    change, needles = IMPLAUSIBLE[case]
    with pytest.raises(DataError) as info:
        check_plausibility(_break(panel, change), origins="demo")
    message = str(info.value)
    assert "\n" not in message
    for needle in needles:
        assert needle in message, message


def test_an_accepted_series_is_a_visible_warning_and_a_constant_one_stays_refused(panel, caplog) -> None:
    jumped = _break(panel, _times("2020-03-02", "btc_usd", 1000))
    with caplog.at_level(logging.WARNING, logger="features.plausibility"):
        accepted = check_plausibility(jumped, accept=["btc_usd"])
    assert [f.series_id for f in accepted] == ["btc_usd"]
    assert "series 'btc_usd'" in caplog.text and "accepted on purpose" in caplog.text
    constant = _break(panel, _constant("vix", 20.0))
    with pytest.raises(DataError, match="constant"):
        check_plausibility(constant, accept=["vix"])


def test_a_long_hole_widens_the_move_limit(panel) -> None:
    """Three years without VIX observations and a x2 move across them: plausible (the limit grows with the
    square root of the elapsed time); the dollar index doubling overnight is not."""
    holed = _break(panel, _set(slice("2018-01-01", "2020-12-31"), "vix", np.nan))
    holed.loc["2021-01-04":, "vix"] *= 2
    assert panel_findings(holed) == []
    overnight = _break(panel, _times(slice("2021-01-04", None), "dxy", 2))
    assert [f.series_id for f in panel_findings(overnight)] == ["dxy"]


def test_load_panel_applies_the_checks_with_the_accepted_series(tmp_path: Path, panel) -> None:
    folder = write_csv_folder(_break(panel, _set("2020-03-03", "gold_usd", 1e308)), tmp_path / "data")
    cfg = DataConfig(source="csv", data_dir=str(folder), start=None)
    with pytest.raises(DataError, match=f"series 'gold_usd' \\({folder / 'gold_usd.csv'}\\)"):
        load_panel(cfg)
    assert load_panel(DataConfig(source="csv", data_dir=str(folder), start=None,
                                 accept_implausible=("gold_usd",))).loc["2020-03-03", "gold_usd"] == 1e308
    assert load_panel(cfg, check=False).shape == load_panel(
        DataConfig(source="csv", data_dir=str(folder), start=None, accept_implausible=["gold_usd"])).shape


def test_accepting_an_unknown_series_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown series copper"):
        DataConfig(accept_implausible=("copper",))
