"""The line every command prints first: which data it used, and a warning when they are old.

Pure text from a :class:`~features.config.DataConfig` and the dates of the panel that was
read. Kept free of heavy imports: the CLI and the jobs' reporters both call it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from features.config import DataConfig

#: Calendar days after which the newest date of a panel counts as old for "the current state"
#: (a long weekend plus a holiday; the same limit as a daily series in ``regime data show``).
STALE_AFTER_DAYS = 5


def absolute(path: str | Path) -> Path:
    """``path`` with ``~`` expanded, absolute against the current folder and without ``..`` (links kept)."""
    return Path(os.path.abspath(Path(path).expanduser()))


def describe_source(data: DataConfig) -> str:
    """Where the panel comes from, e.g. ``csv files in /work/shared/data``.

    The demo market is labelled as synthetic so that no number computed on it can pass for
    a finding on real prices.
    """
    if data.source == "demo":
        return f"synthetic demo market (seed {data.seed}; planted regimes, not real prices)"
    if data.source == "csv":
        return f"csv files in {absolute(data.data_dir or '.')}"
    from features.cache import resolve_cache_dir

    extra = f", series from {absolute(data.sources_file)}" if data.sources_file else ""
    return f"live cache {absolute(resolve_cache_dir(data.cache_dir))} (Yahoo Finance + FRED{extra})"


def data_line(data: DataConfig, dates: pd.Index, note: str = "") -> str:
    """``Data: <source>, <first> → <last>[; <note>]``: the first line of every command."""
    span = f"{dates[0]:%Y-%m-%d} → {dates[-1]:%Y-%m-%d}" if len(dates) else "no dates"
    return f"Data: {describe_source(data)}, {span}" + (f"; {note}" if note else "")


def refresh_hint(data: DataConfig) -> str:
    """What to do to get newer data from ``data``'s source."""
    if data.source == "live":
        return "refresh it with `regime data fetch --source live`"
    if data.source == "csv":
        return f"put newer files in {absolute(data.data_dir or '.')} or pass --data-dir"
    return "the demo market always ends on its last synthetic day; use --source csv or live for real prices"


def stale_warning(data: DataConfig, last: pd.Timestamp, today: pd.Timestamp,
                  limit_days: int = STALE_AFTER_DAYS, of: str = "today") -> str | None:
    """A warning when the newest date ``last`` is more than ``limit_days`` before ``today``, else None.

    Commands that describe "now" (``regime now``, ``regime report``) show the state of the
    last date of the data; without this warning a two-year-old state reads as today's.
    ``of`` names the date ``today`` stands for (``"the --as-of date"`` when one was asked for).
    """
    import pandas as pd

    age = (pd.Timestamp(today).normalize() - pd.Timestamp(last).normalize()).days
    if age <= limit_days:
        return None
    return (f"the data end on {last:%Y-%m-%d}, {age} days before {of} ({today:%Y-%m-%d}): this is the state "
            f"of {last:%Y-%m-%d}, not of {of}; {refresh_hint(data)}")
