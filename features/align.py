"""Put raw series of mixed calendars on one point-in-time business-day calendar.

Decision time is the end of each US business day, after the BTC UTC close. Each
value enters the calendar on the first business day it is public (see
``features.series``): market closes the same day, FRED daily yields one business day
later, WALCL two calendar days after its Wednesday, M2SL about two months after its
reference month starts. Values are then carried forward, never backward.
"""

from __future__ import annotations

import pandas as pd
from pandas.tseries.offsets import BDay

from features.errors import DataError
from features.series import spec_for


def availability_dates(series: pd.Series) -> pd.DatetimeIndex:
    """Dates on which each observation of ``series`` becomes public."""
    spec = spec_for(str(series.name))
    idx = pd.DatetimeIndex(series.index)
    if spec.publication_lag_days:
        idx = idx + pd.Timedelta(days=spec.publication_lag_days)
    if spec.daily_lag_bdays:
        idx = idx + BDay(spec.daily_lag_bdays)
    return idx


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
    out = {}
    for col in panel.columns:
        s = panel[col].dropna()
        s = pd.Series(s.to_numpy(), index=availability_dates(s.rename(col)))
        s = s[~s.index.duplicated(keep="last")]
        out[col] = s.reindex(calendar, method="ffill")  # latest value published on or before each date
    return pd.DataFrame(out, index=calendar)
