"""One rule for reading dates, wherever they come from: csv files, model input, options, config.

A date is the calendar day *as written*: ``2024-01-02``, ``2024-01-02 16:00``,
``2024-01-02T00:00:00Z`` and ``2024-01-02T00:00:00+05:00`` are all 2024-01-02. The time of
day and a UTC offset are dropped, not converted: a vendor labels a daily value by its day
in its own time zone, and converting ``2024-01-02T00:00:00+05:00`` to UTC would move the
value onto the previous day (and onto another row's date). Every date in the product is
therefore a time-zone-naive midnight, and dates from different sources compare.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import cache

import numpy as np
import pandas as pd

from features.errors import ConfigError

#: An ISO date-time followed by a UTC offset (``Z``, ``UTC``, ``+05:00``, ``-0330``, ``+05``).
_WITH_OFFSET = re.compile(
    r"^(?P<stamp>\d{4}-?\d{2}-?\d{2}[T ]\d{1,2}(?::?\d{2}){0,2}(?:[.,]\d+)?)\s*(?:Z|UTC|[+-]\d{2}(?::?\d{2})?)$",
    re.IGNORECASE,
)


#: A whole calendar day at the start of a date: ``2024-01-02`` or ``20240102`` (then an optional time of day).
_DAY = re.compile(r"^(?:\d{4}-\d{2}-\d{2}|\d{8})(?:$|[T ])")


def day_spelling(text: str) -> str | None:
    """How the day of a date is written: ``YYYY-MM-DD``, ``YYYYMMDD``, or None when it is no whole day.

    ``2021-08`` (a month) or ``2021`` (a year) is no whole day: pandas would read them as the
    first of the month or year, a date nobody wrote.
    """
    found = _DAY.match(text.strip())
    if found is None:
        return None
    return "YYYY-MM-DD" if "-" in found.group(0)[:10] else "YYYYMMDD"


def _as_text(value: object) -> object:
    if isinstance(value, (dt.date, pd.Timestamp)):
        return value.isoformat()
    return value if value is None or isinstance(value, str) else str(value)


#: Days the fast path of :func:`parse_dates` reads itself; text naming a day outside goes through
#: pandas (which knows what it refuses, such as year 0).
_PLAIN_RANGE = (np.datetime64("1678-01-01"), np.datetime64("2261-12-31"))


def _plain_days(values: np.ndarray) -> np.ndarray | None:
    """The days of ``values`` (``datetime64[D]``) when each is written ``YYYY-MM-DD`` and nothing else; else None.

    Checked on the characters' codes at once, not value by value: such text needs none of
    :func:`parse_dates`' clean-up (spaces, times of day, offsets, partial dates). An impossible
    day (``2024-02-30``) or one outside :data:`_PLAIN_RANGE` leaves it to the general path.
    """
    try:
        text = np.asarray(values, dtype=str)  # what _as_text would write for each value, too
    except (TypeError, ValueError):  # pragma: no cover - str() of a value failed: the general path says which
        return None
    if not len(text) or text.dtype.itemsize != 10 * np.dtype("U1").itemsize:
        return None
    codes = text.view(np.uint32).reshape(len(text), 10)
    digits = codes[:, [0, 1, 2, 3, 5, 6, 8, 9]]
    if not (((digits >= ord("0")) & (digits <= ord("9"))).all() and (codes[:, [4, 7]] == ord("-")).all()):
        return None
    try:
        days = np.asarray(values, dtype=object).astype("datetime64[D]")
    except ValueError:  # an impossible day: pandas' NaT and the caller's message
        return None
    return days if _PLAIN_RANGE[0] <= days.min() and days.max() <= _PLAIN_RANGE[1] else None


def plain_days(values: list | pd.Series | pd.Index) -> bool:
    """Whether every value is text of the form ``YYYY-MM-DD`` exactly, naming a real day.

    Such dates need no spelling check per row (:func:`day_spelling`): a csv file of them is
    written alike by construction.
    """
    return _plain_days(np.asarray(values, dtype=object)) is not None


@cache
def _text_date_dtype() -> np.dtype:
    """The dtype pandas gives dates parsed from text (microseconds in pandas 3): the fast path's too."""
    return pd.to_datetime(pd.Series(["2000-01-01"]), format="ISO8601").dtype


def parse_dates(values: pd.Series | pd.Index | list) -> pd.DatetimeIndex:
    """Calendar days of ``values`` by the rule of this module; ``NaT`` where a value is no date.

    Parameters
    ----------
    values : Series, Index or list
        ISO strings (with or without a time of day and UTC offset), ``datetime`` objects
        or a datetime column (time-zone aware or not).

    Returns
    -------
    pd.DatetimeIndex
        Time-zone-naive midnights, same length and order as ``values``; ``NaT`` also for text
        that names no whole day (``2021-08``, see :func:`day_spelling`).
    """
    s = pd.Series(values).reset_index(drop=True)
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        s = s.dt.tz_localize(None)  # the wall-clock date as written, not the UTC date
    if not pd.api.types.is_datetime64_any_dtype(s.dtype) and (plain := _plain_days(s.to_numpy())) is not None:
        s = pd.Series(plain.astype(_text_date_dtype()), name=s.name)
    elif not pd.api.types.is_datetime64_any_dtype(s.dtype):
        text = s if pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty") else s.map(_as_text, na_action="ignore")
        text = text.astype(object).str.strip()
        text = text.where(text.str.match(_DAY).astype(object).fillna(True).astype(bool))  # NaT where no whole day
        timed = text.str.len() > 10  # only a date-time can carry an offset
        if timed.any():
            text[timed] = text[timed].str.replace(_WITH_OFFSET, r"\g<stamp>", regex=True)
        s = pd.to_datetime(text, format="ISO8601", errors="coerce")
        if isinstance(s.dtype, pd.DatetimeTZDtype):  # pragma: no cover - offsets are stripped above
            s = s.dt.tz_localize(None)
    return pd.DatetimeIndex(s).normalize()


def parse_date(value: object, name: str) -> pd.Timestamp:
    """One calendar day (an option or config value), or a :class:`ConfigError` naming ``name``.

    Examples: ``parse_date("2024-03-15", "--date")``; ``parse_date("2024-03-15T00:00Z", "start")``
    gives 2024-03-15 like every other date in the product.
    """
    parsed = parse_dates([value])[0] if value is not None and str(value).strip() else pd.NaT
    if pd.isna(parsed):
        raise ConfigError(f"`{name}` must be a date (YYYY-MM-DD). Got '{value}'.")
    return pd.Timestamp(parsed)
