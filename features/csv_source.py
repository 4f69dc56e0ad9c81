"""Read (and write) a folder of ``<series_id>.csv`` files with columns ``date,value``.

This is exactly the format of ``../shared/data``, of the live-data cache and of
``regime data export``. Missing-value markers that data
vendors use (an empty cell, ``.`` as in FRED downloads, ``NaN``) are dropped; anything
else that is not a number is an error naming the file and line.
"""

from __future__ import annotations

import csv
import errno
import os
from pathlib import Path

import numpy as np
import pandas as pd

from features.dates import day_spelling, parse_dates, plain_days
from features.errors import DataError
from features.validation import validate_series

MISSING_MARKERS = frozenset({"", ".", "nan", "NaN", "NA", "null"})


def read_series_csv(path: Path, series_id: str | None = None, today: pd.Timestamp | None = None) -> pd.Series:
    """Read and validate one ``date,value`` file.

    Parameters
    ----------
    path : Path
        The file. Its stem is the series id unless ``series_id`` is given.
    series_id : str, optional
        Override for the series id.
    today : pd.Timestamp, optional
        Passed to :func:`features.validation.validate_series`.

    Raises
    ------
    DataError
        Missing or unreadable file, wrong header, unparsable dates or numbers, and
        everything :func:`~features.validation.validate_series` rejects.
    """
    series_id = series_id or path.stem
    check_is_file(path, series_id)
    try:
        text = path.read_text(encoding="utf-8-sig")  # drops a byte order mark (Excel's "CSV UTF-8")
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a text CSV file (cannot decode as UTF-8)") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror})") from None
    if "\x00" in text:
        raise DataError(f"{path}: not a text CSV file (contains binary data)")
    rows = list(csv.reader(text.splitlines()))
    if not rows:
        raise DataError(f"{path}: empty file; expected a header 'date,value'")
    header = [h.strip().lower() for h in rows[0]]
    if header != ["date", "value"]:
        raise DataError(f"{path}: header must be 'date,value', got '{','.join(rows[0])}'")
    body = [row for row in rows[1:] if row]  # blank lines are no rows
    if not body:
        raise DataError(f"{path}: no data rows below the header")
    if any(len(row) != 2 for row in body):
        lineno, row = next((n, r) for n, r in enumerate(rows[1:], start=2) if r and len(r) != 2)
        raise DataError(f"{path}, line {lineno}: expected 2 fields, got {len(row)}")
    raw_dates, raw_values = (list(column) for column in zip(*body))
    raw_dates = [d.strip() for d in raw_dates]
    dates = parse_dates(raw_dates)  # the calendar day as written (time of day and UTC offset dropped)
    bad = dates.isna().nonzero()[0]
    if len(bad):
        i = int(bad[0])
        raise DataError(f"{path}, line {_line_number(rows, i)}: cannot parse date '{raw_dates[i]}' (expected a whole "
                        "day, YYYY-MM-DD)")
    spellings = [] if plain_days(raw_dates) else [day_spelling(d) for d in raw_dates]
    other = next((i for i, sp in enumerate(spellings) if sp != spellings[0]), None)
    if other is not None:
        raise DataError(f"{path}, line {_line_number(rows, other)}: date '{raw_dates[other]}' is written "
                        f"{spellings[other]}, line {_line_number(rows, 0)} '{raw_dates[0]}' {spellings[0]}; write "
                        "every date of a file alike (YYYY-MM-DD)")
    values, bad = parse_numbers(pd.Series(raw_values, dtype=object))
    if len(bad):
        i = int(bad[0])
        raise DataError(f"{path}, line {_line_number(rows, i)}: cannot parse number '{raw_values[i].strip()}'")
    series = pd.Series(values, index=dates)
    return validate_series(series, series_id, origin=str(path), today=today)


def _line_number(rows: list[list[str]], i: int) -> int:
    """Line in the file of the ``i``-th data row (blank lines are no rows; the header is line 1)."""
    return [n for n, row in enumerate(rows[1:], start=2) if row][i]


def parse_numbers(raw: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Floats of ``raw`` and the positions of cells that are neither a number nor a missing marker.

    Missing markers (:data:`MISSING_MARKERS`, ``None``, NaN) become NaN. The same rule serves
    csv files and the model's input, so text in a number column is refused everywhere.
    """
    raw = pd.Series(raw).reset_index(drop=True)
    if pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype):
        return raw.to_numpy(dtype=float), np.empty(0, dtype=int)
    if pd.api.types.infer_dtype(raw, skipna=False) == "string":  # text only (a csv file): no booleans, no None
        text = raw.astype(object).str.strip()
        boolean = np.zeros(len(text), dtype=bool)
    else:
        text = raw.map(lambda v: v.strip() if isinstance(v, str) else v)
        boolean = text.map(lambda v: isinstance(v, (bool, np.bool_))).to_numpy()
    missing = (text.isna() | text.isin(MISSING_MARKERS)).to_numpy()
    values = pd.to_numeric(text.where(~missing & ~boolean), errors="coerce").to_numpy(dtype=float)
    return values, (np.isnan(values) & ~missing).nonzero()[0]


def check_is_file(path: Path, series_id: str) -> None:
    """Raise a :class:`DataError` saying what ``path`` is when it is not a readable regular file.

    Tells a missing file from a directory, a broken symbolic link and a symbolic-link loop
    in its place, so the fix is obvious from the message.
    """
    try:
        path.stat()
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise DataError(f"{path} (series '{series_id}') is a symbolic link loop, not a file") from None
        if path.is_symlink():
            raise DataError(f"{path} (series '{series_id}') is a broken symbolic link "
                            f"(to {os.readlink(path)}, which does not exist)") from None
        if exc.errno == errno.ENOENT:
            raise DataError(f"missing file {path} (series '{series_id}')") from None
        raise DataError(f"{path} (series '{series_id}'): cannot read ({exc.strerror})") from None
    if path.is_dir():
        raise DataError(f"{path} (series '{series_id}') is a directory; expected a date,value CSV file")
    if not path.is_file():
        raise DataError(f"{path} (series '{series_id}') is not a regular file; expected a date,value CSV file")


def read_csv_folder(
    data_dir: Path, series_ids: tuple[str, ...], optional: tuple[str, ...] = ()
) -> pd.DataFrame:
    """Read a panel from a folder: required ``series_ids`` plus ``optional`` ones if present.

    An optional series is present when its file name exists at all: a directory or a broken
    link under that name is an error, not a silently dropped series.

    Returns
    -------
    pd.DataFrame
        Raw panel: the union of all observation dates (index ``date``), one column per
        series, NaN where a series has no observation that day.
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        what = "is not a folder" if data_dir.exists() else "does not exist"
        raise DataError(f"data folder {data_dir} {what}")
    columns = {sid: read_series_csv(data_dir / f"{sid}.csv", sid) for sid in series_ids}
    for sid in optional:  # present = any directory entry of that name, even a broken link (which is an error)
        if os.path.lexists(data_dir / f"{sid}.csv"):
            columns[sid] = read_series_csv(data_dir / f"{sid}.csv", sid)
    panel = pd.concat(columns, axis=1, sort=True)
    panel.index.name = "date"
    return panel


def format_series_csv(values: pd.Series) -> str:
    """Render a series in the ``date,value`` format that :func:`read_series_csv` reads.

    Parameters
    ----------
    values : pd.Series
        Float values on a ``DatetimeIndex``; missing values are left out.

    Returns
    -------
    str
        Header line and one ``YYYY-MM-DD,value`` line per observation; floats are written
        in their shortest round-trip form, so reading the text back gives the same values.
    """
    s = values.dropna()
    lines = [f"{d:%Y-%m-%d},{float(v)!r}" for d, v in zip(s.index, s.to_numpy(), strict=True)]
    return "date,value\n" + "".join(line + "\n" for line in lines)
