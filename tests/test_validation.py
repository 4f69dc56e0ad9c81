"""features.validation: every kind of bad series gets one clear message naming series and dates."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from features.errors import DataError
from features.validation import (
    max_age_days,
    tail_age_days,
    validate_columns,
    validate_panel,
    validate_series,
    warn_if_stale,
)

TODAY = pd.Timestamp("2024-06-03")


def _series(values, dates) -> pd.Series:
    return pd.Series(values, index=pd.DatetimeIndex(pd.to_datetime(dates)), dtype=float)


def test_clean_series_is_sorted_float_and_named() -> None:
    s = _series([3.0, 1.0, 2.0], ["2024-01-03", "2024-01-01", "2024-01-02"])
    out = validate_series(s, "dgs10", origin="test", today=TODAY)
    assert list(out) == [1.0, 2.0, 3.0]
    assert out.name == "dgs10" and out.index.name == "date" and out.dtype == float


def test_equal_duplicates_are_collapsed() -> None:
    s = _series([1.0, 1.0, 2.0], ["2024-01-01", "2024-01-01", "2024-01-02"])
    assert len(validate_series(s, "gold_usd", today=TODAY)) == 2


def test_duplicates_with_different_values_name_the_dates() -> None:
    s = _series([1.0, 1.5, 2.0], ["2024-01-01", "2024-01-01", "2024-01-02"])
    with pytest.raises(DataError, match=r"series 'gold_usd' \(gold\.csv\): duplicate dates with different values: 2024-01-01"):
        validate_series(s, "gold_usd", origin="gold.csv", today=TODAY)


@pytest.mark.parametrize("bad", [0.0, -3.0])
def test_non_positive_prices_are_rejected(bad: float) -> None:
    s = _series([10.0, bad, 11.0], ["2024-01-01", "2024-01-02", "2024-01-03"])
    with pytest.raises(DataError, match=r"series 'silver_usd'.*non-positive values on 2024-01-02"):
        validate_series(s, "silver_usd", today=TODAY)


def test_negative_yields_are_allowed() -> None:
    s = _series([-0.5, 0.0, 0.3], ["2012-01-02", "2012-01-03", "2012-01-04"])
    assert validate_series(s, "dfii10", today=TODAY).iloc[0] == -0.5


def test_infinite_values_are_rejected() -> None:
    s = _series([1.0, np.inf, 2.0], ["2024-01-01", "2024-01-02", "2024-01-03"])
    with pytest.raises(DataError, match=r"series 'vix'.*infinite values on 2024-01-02"):
        validate_series(s, "vix", today=TODAY)


def test_nan_values_are_dropped() -> None:
    s = _series([1.0, np.nan, 2.0], ["2024-01-01", "2024-01-02", "2024-01-03"])
    assert list(validate_series(s, "vix", today=TODAY).index.day) == [1, 3]


def test_future_dates_are_rejected() -> None:
    s = _series([1.0, 2.0], ["2024-06-03", "2024-06-05"])
    with pytest.raises(DataError, match=r"series 'btc_usd'.*dates in the future \(after 2024-06-03\): 2024-06-05"):
        validate_series(s, "btc_usd", today=TODAY)


def test_gaps_longer_than_the_limit_name_the_end_date() -> None:
    s = _series([1.0, 2.0, 3.0], ["2024-01-01", "2024-01-02", "2024-02-15"])
    with pytest.raises(DataError, match=r"series 'dxy'.*gap longer than 10 days ending 2024-02-15"):
        validate_series(s, "dxy", today=TODAY, max_gap_days=10)
    assert len(validate_series(s, "dxy", today=TODAY)) == 3


@pytest.mark.parametrize("values,dates", [([], []), ([np.nan, np.nan], ["2024-01-01", "2024-01-02"])])
def test_empty_or_all_missing_series_are_rejected(values, dates) -> None:
    with pytest.raises(DataError, match=r"series 'dgs2' \(fred:DGS2\): no observations"):
        validate_series(_series(values, dates), "dgs2", origin="fred:DGS2", today=TODAY)


def test_non_date_index_is_rejected() -> None:
    with pytest.raises(DataError, match="index must be dates"):
        validate_series(pd.Series([1.0, 2.0]), "dgs2", today=TODAY)


def test_unsorted_dates_log_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    s = _series([2.0, 1.0], ["2024-01-02", "2024-01-01"])
    with caplog.at_level(logging.WARNING, logger="features.validation"):
        validate_series(s, "dgs2", today=TODAY)
    assert "dates were not sorted" in caplog.text


def test_validate_panel_names_missing_series() -> None:
    panel = pd.DataFrame({"btc_usd": [1.0], "dxy": [np.nan]}, index=pd.DatetimeIndex(["2024-01-01"]))
    with pytest.raises(DataError, match="missing series dxy, vix"):
        validate_panel(panel, ("btc_usd", "dxy", "vix"))


def test_max_age_follows_frequency_and_publication_lag() -> None:
    assert max_age_days("btc_usd") == 5
    assert max_age_days("walcl") == 12
    assert max_age_days("m2sl") == 96


def test_stale_tail_is_reported(caplog: pytest.LogCaptureFixture) -> None:
    fresh = _series([1.0, 2.0], ["2024-05-30", "2024-05-31"])
    stale = _series([1.0, 2.0], ["2024-05-01", "2024-05-02"])
    assert tail_age_days(stale, TODAY) == 32
    assert tail_age_days(_series([], []), TODAY) is None
    with caplog.at_level(logging.WARNING, logger="features.validation"):
        assert not warn_if_stale(fresh, "dxy", today=TODAY)
        assert warn_if_stale(stale, "dxy", origin="yahoo:DX-Y.NYB", today=TODAY)
    assert len(caplog.records) == 1
    assert "series 'dxy' (yahoo:DX-Y.NYB): last observation 2024-05-02 is 32 days old" in caplog.text


def test_monthly_series_is_not_stale_within_its_release_cycle() -> None:
    m2 = _series([21000.0], ["2024-04-01"])
    assert not warn_if_stale(m2, "m2sl", today=TODAY)


def test_a_table_is_checked_like_its_series_one_by_one() -> None:
    """``validate_columns`` (a served request's table at once) gives what each column through ``validate_series``
    gives, outer-joined on dates; the first failing column is the one reported."""
    dates = pd.DatetimeIndex(["2024-01-03", "2024-01-01", "2024-01-02", "2024-01-02", "2024-01-04"])
    table = np.array([[3.0, np.nan], [1.0, 10.0], [2.0, np.nan], [2.0, np.nan], [np.nan, 12.0]])
    index, values = validate_columns(dates, table, ["gold_usd", "dgs10"], "input", today=TODAY)
    one_by_one = pd.concat({sid: validate_series(pd.Series(table[:, j], index=dates), sid, "input", today=TODAY)
                            for j, sid in enumerate(["gold_usd", "dgs10"])}, axis=1)
    pd.testing.assert_frame_equal(pd.DataFrame(values, index=index, columns=["gold_usd", "dgs10"]), one_by_one,
                                  check_exact=True, check_freq=False)
    table[3, 1] = 11.0  # dgs10 now has two values on 2024-01-02; gold_usd a non-positive price after it
    table[4, 0] = -1.0
    with pytest.raises(DataError, match=r"series 'gold_usd' \(input\): prices must be positive"):
        validate_columns(dates, table, ["gold_usd", "dgs10"], "input", today=TODAY)
    with pytest.raises(DataError, match=r"series 'dgs10' \(input\): duplicate dates with different values: 2024-01-02"):
        validate_columns(dates, table[:, [1, 0]], ["dgs10", "gold_usd"], "input", today=TODAY)
