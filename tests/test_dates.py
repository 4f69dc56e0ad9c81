"""features.dates: one rule for every date, from files, model input, options and config."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from features.dates import parse_date, parse_dates
from features.errors import ConfigError


@pytest.mark.parametrize("text", [
    "2024-01-02", "2024-01-02 16:00", "2024-01-02T00:00:00", "2024-01-02T00:00:00Z", "2024-01-02T00:00:00+05:00",
    "2024-01-02T23:30:00-03:30", "2024-01-02T00:00:00.000+0100", "2024-01-02T09:00Z", " 2024-01-02 ", "20240102",
])
def test_every_spelling_of_a_day_is_that_day(text: str) -> None:
    """The day as written: the time of day and a UTC offset are dropped, never converted."""
    assert parse_dates([text])[0] == pd.Timestamp("2024-01-02")


def test_mixed_offsets_in_one_column_are_one_calendar() -> None:
    got = parse_dates(["2024-01-02", "2024-01-03T00:00:00+05:00", "2024-01-04T00:00:00Z", "2024-01-05T00:00:00-08:00"])
    assert got.tz is None and list(got) == list(pd.bdate_range("2024-01-02", "2024-01-05"))


def test_datetime_columns_and_objects_follow_the_same_rule() -> None:
    aware = pd.Series(pd.to_datetime(["2024-01-02T00:00:00+05:00", "2024-01-03T00:00:00+05:00"]))
    assert list(parse_dates(aware)) == [pd.Timestamp("2024-01-02"), pd.Timestamp("2024-01-03")]
    assert parse_dates([dt.datetime(2024, 1, 2, 23, tzinfo=dt.timezone.utc)])[0] == pd.Timestamp("2024-01-02")
    assert parse_dates([dt.date(2024, 1, 2)])[0] == pd.Timestamp("2024-01-02")


@pytest.mark.parametrize("bad", ["yesterday", "2024-13-45", "", None, "2024-01-02 +05:00 garbage", 45000])
def test_what_is_not_a_date_is_nat_here_and_an_error_naming_the_option_there(bad) -> None:
    assert parse_dates([bad]).isna().all()
    with pytest.raises(ConfigError, match="`--start` must be a date"):
        parse_date(bad, "--start")


def test_dates_compare_with_the_data_whatever_the_spelling() -> None:
    """The original failure: a tz-aware bound against naive data ('Invalid comparison')."""
    index = pd.bdate_range("2024-01-01", "2024-01-31")
    frame = pd.DataFrame({"x": range(len(index))}, index=index)
    assert len(frame.loc[parse_date("2024-01-15T00:00:00Z", "--start"):]) == len(frame.loc["2024-01-15":])


def test_plain_days_read_at_once_equal_the_general_rule() -> None:
    """Text written exactly YYYY-MM-DD is read without the general clean-up; it gives what the general path gives
    (a trailing space sends the same days through it), and impossible or far days still become NaT there."""
    days = ["2024-01-02", "2023-12-29", "2024-02-29", "1999-12-31"]
    fast = parse_dates(pd.Series(days, name="date"))
    pd.testing.assert_index_equal(fast, parse_dates(pd.Series([d + " " for d in days], name="date")), exact=True)
    for odd in ("2023-02-29", "2024-13-01"):
        assert parse_dates([odd, "2024-01-02"]).isna().tolist() == [True, False]
    for far in ("0000-01-01", "1600-01-03", "2300-01-02"):
        pd.testing.assert_index_equal(parse_dates([far, "2024-01-02"]), parse_dates([far + " ", "2024-01-02"]),
                                      exact=True)


def test_plain_days_need_no_spelling_check() -> None:
    """``plain_days``: every value written exactly YYYY-MM-DD and a real day (csv files skip the per-row check)."""
    from features.dates import plain_days

    assert plain_days(["2024-01-02", "1999-12-31"])
    assert not plain_days(["2024-01-02", "2024-01-02 "]) and not plain_days(["2024-01-02", None])
    assert not plain_days(["20240102"]) and not plain_days(["2024-02-30"]) and not plain_days([])
