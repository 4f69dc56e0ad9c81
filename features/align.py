"""Put raw series of mixed calendars on one point-in-time business-day calendar.

Decision time is the end of each US business day, after the BTC UTC close. Each
value enters the calendar on the first business day it is public (see
``features.series``): market closes the same day, the Fed's H.15 yields one Fed business
day later, the H.10 broad dollar index five, WALCL two calendar days after its Wednesday,
M2SL about two months after its reference month starts. Values are then carried forward,
never backward.

Publication lags of Fed releases count *Fed* business days (weekdays that are not US
federal holidays): the Board does not publish on holidays, so a Friday yield before a
Monday holiday is public on Tuesday, not on the holiday. The panel's own calendar stays
Mon-Fri (holidays are rows with carried values, docs/decisions.md).
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
from pandas.tseries.holiday import USFederalHolidayCalendar

from features.errors import DataError
from features.series import spec_for


@cache
def fed_business_days() -> np.busdaycalendar:
    """Weekdays that are not US federal holidays (pandas' ``USFederalHolidayCalendar``), 1950-2100.

    Holidays on a Saturday count on the Friday before (and Sunday ones on the Monday after),
    as the Board of Governors observes them. Built on first use, not at import.
    """
    holidays = USFederalHolidayCalendar().holidays("1950-01-01", "2100-12-31")
    return np.busdaycalendar(weekmask="1111100", holidays=holidays.to_numpy().astype("datetime64[D]"))


def add_fed_business_days(dates: pd.DatetimeIndex, n: int) -> pd.DatetimeIndex:
    """The ``n``-th Fed business day strictly after each date (``n >= 1``).

    A date that is itself a holiday or a weekend counts from the Fed business day before
    it, so the result is always the ``n``-th Fed business day following the date.
    """
    idx = pd.DatetimeIndex(dates)
    out = np.busday_offset(idx.to_numpy().astype("datetime64[D]"), int(n), roll="backward",
                           busdaycal=fed_business_days())
    return pd.DatetimeIndex(out.astype(idx.dtype), name=idx.name)


def availability_dates(series: pd.Series) -> pd.DatetimeIndex:
    """Dates on which each observation of ``series`` becomes public."""
    return publication_dates(pd.DatetimeIndex(series.index), str(series.name))


def publication_dates(dates: pd.DatetimeIndex | np.ndarray, series_id: str) -> pd.DatetimeIndex:
    """Dates on which values of ``series_id`` dated ``dates`` become public (its publication lag)."""
    spec = spec_for(series_id)
    idx = pd.DatetimeIndex(dates)
    if spec.publication_lag_days:
        idx = idx + pd.Timedelta(days=spec.publication_lag_days)
    if spec.daily_lag_bdays:
        idx = add_fed_business_days(idx, spec.daily_lag_bdays)
    return idx


def publication_days(dates: np.ndarray, series_id: str) -> np.ndarray:
    """:func:`publication_dates` on a ``datetime64`` array (the same array for a series public the day it is dated)."""
    spec = spec_for(series_id)
    if not (spec.publication_lag_days or spec.daily_lag_bdays):
        return dates
    return publication_dates(dates, series_id).to_numpy()


def business_calendar(panel: pd.DataFrame, anchor: str = "btc_usd") -> pd.DatetimeIndex:
    """Business days (Mon-Fri) from the first to the last observation of ``anchor``."""
    if anchor not in panel.columns or panel[anchor].notna().sum() == 0:
        raise DataError(f"panel has no '{anchor}' observations")
    dates = panel[anchor].dropna().index
    return pd.bdate_range(dates.min(), dates.max(), name="date")


def align_point_in_time(panel: pd.DataFrame, calendar: pd.DatetimeIndex | None = None) -> pd.DataFrame:
    """Sample every series of a raw panel as known at each business-day close.

    Parameters
    ----------
    panel : pd.DataFrame
        Raw panel: DatetimeIndex of observation (reference) dates, one column per
        series id, NaN where a series has no observation.
    calendar : pd.DatetimeIndex, optional
        Target calendar; defaults to :func:`business_calendar`.

    Returns
    -------
    pd.DataFrame
        One row per calendar date; each column holds the latest value published on or
        before that date (NaN before the first publication). Only forward-fills.
    """
    calendar = business_calendar(panel) if calendar is None else calendar
    days = calendar.to_numpy()
    if not panel.index.is_monotonic_increasing:
        panel = panel.sort_index(kind="stable")
    dates = pd.DatetimeIndex(panel.index).to_numpy()
    out = np.full((len(calendar), panel.shape[1]), np.nan)
    for j, (col, values) in enumerate(zip(panel.columns, panel.to_numpy(dtype=float).T)):
        have = ~np.isnan(values)
        public = publication_days(dates[have], str(col))  # sorted, as the observation dates are
        # The latest value published on or before each date (of several published the same day, the last).
        latest = np.searchsorted(public, days, side="right") - 1
        known = latest >= 0
        out[known, j] = values[have][latest[known]]
    return pd.DataFrame(out, index=calendar, columns=panel.columns)
