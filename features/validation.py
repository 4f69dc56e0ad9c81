"""Validation of raw series and panels, whatever their source.

A raw series is a float ``pd.Series`` on a sorted, unique ``DatetimeIndex``. Each check
raises :class:`~features.errors.DataError` naming the series (and its origin, e.g. a file)
and the first offending dates, so a user can fix the input without reading a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import pandas as pd

from features.errors import DataError
from features.series import spec_for

logger = logging.getLogger(__name__)


def _dates(idx: pd.Index, limit: int = 3) -> str:
    shown = ", ".join(pd.Timestamp(d).strftime("%Y-%m-%d") for d in idx[:limit])
    return shown + (f" (+{len(idx) - limit} more)" if len(idx) > limit else "")


def series_where(series_id: str, origins: Mapping[str, str] | str | None = None) -> str:
    """``series 'dxy' (data/dxy.csv)``: a series and where it came from, for messages.

    ``origins`` maps series ids to their origin, or is one origin for every series.
    """
    origin = origins.get(series_id) if isinstance(origins, Mapping) else origins
    return f"series '{series_id}'" + (f" ({origin})" if origin else "")


def validate_series(
    values: pd.Series,
    series_id: str,
    origin: str | None = None,
    today: pd.Timestamp | None = None,
    max_gap_days: int | None = None,
) -> pd.Series:
    """Check one raw series and return it cleaned (sorted, float, no missing values).

    Parameters
    ----------
    values : pd.Series
        Observations indexed by date. May be unsorted; NaN marks a missing value.
    series_id : str
        Series id, used for the positivity rule and in messages.
    origin : str, optional
        Where the series came from (a file path, a provider), used in messages.
    today : pd.Timestamp, optional
        Dates after ``today`` are an error (a value cannot be published in the future).
        Defaults to the current date.
    max_gap_days : int, optional
        When given, a gap between consecutive observations longer than this many
        calendar days is an error.

    Returns
    -------
    pd.Series
        Sorted float series without missing values, named ``series_id``.

    Raises
    ------
    DataError
        Duplicate dates with different values, non-finite or non-positive values
        where the series must be positive, future dates, no observations, long gaps.
    """
    where = series_where(series_id, origin)
    if not isinstance(values.index, pd.DatetimeIndex):
        raise DataError(f"{where}: index must be dates, got {type(values.index).__name__}")
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    dates, table = validate_columns(values.index, numbers[:, None], [series_id], origin, today)
    s = pd.Series(table[:, 0], index=dates, name=series_id)
    if max_gap_days is not None and len(s) > 1:
        gaps = s.index.to_series().diff().dt.days
        long = gaps[gaps > max_gap_days]
        if len(long):
            raise DataError(
                f"{where}: gap longer than {max_gap_days} days ending {_dates(long.index)}"
            )
    return s


def validate_columns(
    dates: pd.DatetimeIndex,
    values: np.ndarray,
    series_ids: list[str],
    origin: Mapping[str, str] | str | None = None,
    today: pd.Timestamp | None = None,
) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """Check raw series that share one date column (a table) and return them as a clean panel.

    Each column is checked as :func:`validate_series` describes (the rules live here, for one
    series or many): dates sorted (stably, with a warning), duplicate dates collapsed when
    their values agree (a missing value differs from a number), no infinite values, at least
    one observation, positive prices where the series must be positive, no dates after
    ``today``. The first failing column, in column order, is reported.

    Parameters
    ----------
    dates : pd.DatetimeIndex
        Date of each row (may be unsorted or repeat).
    values : ndarray of shape (n_rows, n_series)
        Floats; NaN marks a missing value.
    series_ids : list of str
        Id of each column.
    origin : mapping or str, optional
        Where each series (mapping) or every series (str) came from, for messages.
    today : pd.Timestamp, optional
        Dates after it are an error; defaults to the current date.

    Returns
    -------
    dates : pd.DatetimeIndex
        Sorted unique dates (named ``date``) on which at least one series has a value.
    values : ndarray of shape (n_dates, n_series)
        The values on those dates (NaN where a series has none).

    Raises
    ------
    DataError
        For the first series that fails a check, naming it and the first offending dates.
    """
    index = pd.DatetimeIndex(dates)
    dates = index.to_numpy()  # datetime64: the checks below on arrays
    values = np.asarray(values, dtype=float).reshape(len(dates), len(series_ids))
    if not index.is_monotonic_increasing:
        for sid in series_ids:
            logger.warning("%s: dates were not sorted; sorting them", series_where(sid, origin))
        order = np.argsort(dates, kind="stable")  # NaT last, as sort_index puts it
        dates, values = dates[order], values[order]
    repeated = dates[1:] == dates[:-1]  # row i + 1 repeats row i's date
    conflicts: list[np.ndarray | None] = [None] * len(series_ids)
    if repeated.any():
        missing = np.isnan(values)
        # Dates with two values: some neighbour in their run differs (two missing values agree).
        differs = repeated[:, None] & (values[1:] != values[:-1]) & ~(missing[1:] & missing[:-1])
        for j in np.flatnonzero(differs.any(axis=0)):
            conflicts[j] = np.unique(dates[1:][differs[:, j]])
        keep = np.concatenate([[True], ~repeated])  # the first row of each date
        dates, values = dates[keep], values[keep]
    infinite = np.isinf(values)
    present = ~np.isnan(values)
    must_be_positive = np.array([spec_for(sid).must_be_positive for sid in series_ids], dtype=bool)
    with np.errstate(invalid="ignore"):
        non_positive = present & (values <= 0) & must_be_positive
    today = pd.Timestamp.today().normalize() if today is None else pd.Timestamp(today)
    future = present & (dates > today.to_datetime64())[:, None]
    conflicting = np.array([c is not None for c in conflicts], dtype=bool)
    failing = conflicting | infinite.any(axis=0) | ~present.any(axis=0) | non_positive.any(axis=0) | future.any(axis=0)
    for j in np.flatnonzero(failing):
        where = series_where(series_ids[j], origin)
        if conflicts[j] is not None:
            raise DataError(f"{where}: duplicate dates with different values: {_dates(conflicts[j])}")
        if infinite[:, j].any():
            raise DataError(f"{where}: infinite values on {_dates(dates[infinite[:, j]])}")
        if not present[:, j].any():
            raise DataError(f"{where}: no observations (empty or all values missing)")
        if non_positive[:, j].any():
            raise DataError(f"{where}: prices must be positive; non-positive values on "
                            f"{_dates(dates[non_positive[:, j]])}")
        raise DataError(f"{where}: dates in the future (after {today:%Y-%m-%d}): {_dates(dates[future[:, j]])}")
    rows = present.any(axis=1)
    return pd.DatetimeIndex(dates[rows], name="date"), values[rows]


def validate_panel(panel: pd.DataFrame, required: tuple[str, ...], origin: str = "panel") -> pd.DataFrame:
    """Check that a raw panel has a date index and every required series with data.

    Returns the panel with its columns restricted to known, present series, sorted by date.
    """
    if not isinstance(panel.index, pd.DatetimeIndex):
        raise DataError(f"{origin}: expected a DatetimeIndex of dates")
    present = dict(zip(panel.columns, panel.notna().to_numpy().any(axis=0)))
    missing = [c for c in required if not present.get(c, False)]
    if missing:
        raise DataError(f"{origin}: missing series {', '.join(missing)}")
    return panel if panel.index.is_monotonic_increasing else panel.sort_index()


#: Calendar days a series' last observation may age before it is stale, by frequency
#: (weekends and holidays for daily series, the release cadence for the others); the
#: series' ``publication_lag_days`` is added on top.
MAX_AGE_DAYS: dict[str, int] = {"daily": 5, "weekly": 10, "monthly": 36}


def max_age_days(series_id: str) -> int:
    """Calendar days after which the last observation of ``series_id`` counts as stale.

    Examples: 5 for daily series, 12 for WALCL (weekly, published 2 days later),
    96 for M2SL (monthly, published about 60 days after its reference date).
    """
    spec = spec_for(series_id)
    return MAX_AGE_DAYS[spec.frequency] + spec.publication_lag_days


def tail_age_days(values: pd.Series, today: pd.Timestamp | None = None) -> int | None:
    """Calendar days from the last observation of ``values`` to ``today`` (``None`` if empty)."""
    s = values.dropna()
    if s.empty:
        return None
    today = pd.Timestamp.today().normalize() if today is None else pd.Timestamp(today)
    return int((today - pd.Timestamp(s.index.max())).days)


def warn_if_stale(
    values: pd.Series, series_id: str, origin: str | None = None, today: pd.Timestamp | None = None
) -> bool:
    """Log a warning when the series ends longer ago than :func:`max_age_days` allows.

    Parameters
    ----------
    values : pd.Series
        Observations indexed by date.
    series_id : str
        Series id, for the age limit and the message.
    origin : str, optional
        Where the series came from, for the message.
    today : pd.Timestamp, optional
        Reference date; defaults to the current date.

    Returns
    -------
    bool
        Whether the series is stale.
    """
    age = tail_age_days(values, today)
    limit = max_age_days(series_id)
    if age is None or age <= limit:
        return False
    where = series_where(series_id, origin)
    last = pd.Timestamp(values.dropna().index.max())
    logger.warning("%s: last observation %s is %d days old (stale after %d days for a %s series)",
                   where, f"{last:%Y-%m-%d}", age, limit, spec_for(series_id).frequency)
    return True
