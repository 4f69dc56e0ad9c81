"""On-disk cache of downloaded series: one ``date,value`` CSV and one JSON record per series.

Layout (``<root>`` is ``--cache-dir``, else ``$REGIME_CACHE_DIR``, else the platform's
user cache folder, e.g. ``~/.cache/btc-regime``)::

    <root>/btc_usd.csv    date,value rows, the same format as ``--source csv``
    <root>/btc_usd.json   where and when it was fetched (provider, symbol, url, fetched_at, ...)

Files are replaced atomically (temporary file in the same folder, then ``os.replace``),
the CSV before its record, so a crash leaves either the old or the new data and at worst
an older record, which only triggers an earlier refresh.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from features.csv_source import format_series_csv, read_series_csv
from features.errors import DataError

logger = logging.getLogger(__name__)

ENV_VAR = "REGIME_CACHE_DIR"
APP_NAME = "btc-regime"


class CacheCorruptError(DataError):
    """A cache file exists but cannot be read back (truncated, edited, not ours)."""


@dataclass(frozen=True)
class CacheRecord:
    """Provenance of one cached series (the JSON sidecar).

    Attributes
    ----------
    series_id, provider, symbol : str
        What was fetched, from where.
    url : str
        Last request URL (API keys redacted).
    fetched_at : str
        ISO 8601 UTC instant of the last successful download.
    first, last : str
        First and last observation dates (ISO) in the cache file.
    rows : int
        Observations in the cache file.
    """

    series_id: str
    provider: str
    symbol: str
    url: str
    fetched_at: str
    first: str
    last: str
    rows: int

    @property
    def fetched(self) -> pd.Timestamp:
        """``fetched_at`` as a tz-aware UTC timestamp."""
        return pd.Timestamp(self.fetched_at).tz_convert("UTC")


def default_cache_dir() -> Path:
    """``$REGIME_CACHE_DIR`` if set, else the platform's per-user cache folder.

    Linux and other Unix: ``$XDG_CACHE_HOME/btc-regime`` (default ``~/.cache/btc-regime``);
    macOS: ``~/Library/Caches/btc-regime``; Windows: ``%LOCALAPPDATA%\\btc-regime\\Cache``.
    """
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
        return base / APP_NAME / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / APP_NAME
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / APP_NAME


def resolve_cache_dir(option: str | Path | None = None) -> Path:
    """The cache folder: an explicit ``option`` wins over :func:`default_cache_dir`."""
    return Path(option).expanduser() if option else default_cache_dir()


def series_path(root: Path, series_id: str) -> Path:
    """Path of the cached ``date,value`` file of ``series_id``."""
    return Path(root) / f"{series_id}.csv"


def record_path(root: Path, series_id: str) -> Path:
    """Path of the JSON record of ``series_id``."""
    return Path(root) / f"{series_id}.json"


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old or the new content, never a mix.

    The text goes to a temporary file in the same folder, is flushed to disk, then
    replaces ``path`` with :func:`os.replace`; on any error the temporary file is removed
    and ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_cached(root: Path, series_id: str, today: pd.Timestamp | None = None) -> pd.Series | None:
    """The cached series, validated, or ``None`` when it was never fetched.

    Raises
    ------
    CacheCorruptError
        The file exists but is not a valid ``date,value`` series.
    """
    path = series_path(root, series_id)
    if not path.exists():
        return None
    try:
        return read_series_csv(path, series_id, today=today)
    except DataError as exc:
        raise CacheCorruptError(f"corrupt cache file for series '{series_id}': {exc}") from None


def read_record(root: Path, series_id: str) -> CacheRecord | None:
    """The JSON record of ``series_id``, or ``None`` when there is none.

    Raises
    ------
    CacheCorruptError
        The record is not valid JSON or lacks fields.
    """
    path = record_path(root, series_id)
    if not path.exists():
        return None
    try:
        record = CacheRecord(**json.loads(path.read_text(encoding="utf-8")))
        if pd.Timestamp(record.fetched_at).tz is None:
            raise ValueError(f"fetched_at '{record.fetched_at}' has no time zone")
    except (OSError, UnicodeDecodeError, ValueError, TypeError) as exc:
        raise CacheCorruptError(f"corrupt cache record {path}: {exc}") from None
    return record


def write_cached(root: Path, values: pd.Series, record: CacheRecord) -> None:
    """Atomically store a series and then its record.

    Raises
    ------
    DataError
        The cache folder or files cannot be written.
    """
    try:
        atomic_write_text(series_path(root, record.series_id), format_series_csv(values))
        atomic_write_text(record_path(root, record.series_id), json.dumps(asdict(record), indent=2) + "\n")
    except OSError as exc:
        raise DataError(f"cannot write the cache in {root} ({exc.strerror or exc})") from None


def merge(cached: pd.Series | None, fetched: pd.Series) -> tuple[pd.Series, int]:
    """Reconcile a download with the cache: fetched values win, cached ones fill the rest.

    Parameters
    ----------
    cached : pd.Series or None
        Series already in the cache.
    fetched : pd.Series
        Newly downloaded observations (may overlap the end of ``cached``).

    Returns
    -------
    merged : pd.Series
        Union of both, sorted by date.
    revised : int
        Overlapping dates whose value changed (provider revisions, final vs early closes).
    """
    if cached is None or cached.empty:
        return fetched.sort_index(), 0
    common = fetched.index.intersection(cached.index)
    changed = ~np.isclose(fetched.loc[common].to_numpy(), cached.loc[common].to_numpy(), rtol=1e-9, atol=0.0)
    merged = fetched.combine_first(cached).sort_index()
    merged.index.name = "date"
    return merged.rename(cached.name), int(changed.sum())
