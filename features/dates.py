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

import pandas as pd

from features.errors import ConfigError

#: An ISO date-time followed by a UTC offset (``Z``, ``UTC``, ``+05:00``, ``-0330``, ``+05``).
_WITH_OFFSET = re.compile(
    r"^(?P<stamp>\d{4}-?\d{2}-?\d{2}[T ]\d{1,2}(?::?\d{2}){0,2}(?:[.,]\d+)?)\s*(?:Z|UTC|[+-]\d{2}(?::?\d{2})?)$",
    re.IGNORECASE,
)


#: A whole calendar day at the start of a date: ``2024-01-02`` or ``20240102`` (then an optional time of day).
_DAY = re.compile(r"^(?:\d{4}-\d{2}-\d{2}|\d{8})(?:$|[T ])")

#: Lines of plain ``YYYY-MM-DD`` days and nothing else (ASCII digits), the usual case.
_PLAIN_DAYS = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?:\n[0-9]{4}-[0-9]{2}-[0-9]{2})*")


def plain_days(values: list | pd.Series | pd.Index) -> bool:
    """Whether every value is text of the form ``YYYY-MM-DD`` exactly (no time, no spaces).

    One regular-expression match over the joined values: the common case of csv files and
    model input is then read with one fixed format (:func:`parse_dates`) and needs no
    spelling check per row (:func:`day_spelling`).
    """
    if not len(values) or not all(isinstance(v, str) for v in values):
        return False
    return _PLAIN_DAYS.fullmatch("\n".join(values)) is not None


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
    if not pd.api.types.is_datetime64_any_dtype(s.dtype) and plain_days(raw := s.tolist()):
        # The usual case, read with one fixed format: the same days as below, NaT for 2024-02-30.
        return pd.DatetimeIndex(pd.to_datetime(raw, format="%Y-%m-%d", errors="coerce"))
    if not pd.api.types.is_datetime64_any_dtype(s.dtype):
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
