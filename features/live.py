"""The ``live`` source: Yahoo Finance and FRED series, cached on disk and refreshed incrementally.

Each series of the sources mapping (:mod:`features.providers.mapping`) is kept in the cache
(:mod:`features.cache`). A refresh downloads only from the last cached date minus a small
overlap; overlapping values are reconciled (the download wins, revisions are counted).
When the network is unreachable the cache is used and a warning says how stale it is; with
nothing cached a :class:`~features.errors.DataError` names the series and the command that
downloads it. Every series passes :func:`features.validation.validate_series`. Publication
lags are not applied here: :mod:`features.align` does that for every source.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd

from features.cache import (
    CacheCorruptError,
    CacheRecord,
    merge,
    read_cached,
    read_record,
    resolve_cache_dir,
    write_cached,
)
from features.config import DataConfig
from features.errors import DataError
from features.providers import (
    Fetcher,
    NetworkError,
    ProviderError,
    SourceSpec,
    fetch_series,
    http,
    load_sources,
)
from features.series import CORE_SERIES, spec_for
from features.validation import validate_series, warn_if_stale

logger = logging.getLogger(__name__)

#: First date requested when a series is not cached yet.
HISTORY_START = pd.Timestamp("1990-01-01")
#: ``load_live_panel`` re-downloads a series whose last fetch is older than this.
REFRESH_AFTER = pd.Timedelta(hours=12)
#: ``max_age`` that refreshes every series (``regime data fetch``).
ALWAYS = pd.Timedelta(0)
#: Calendar days re-fetched before the last cached date, so late corrections are picked up.
OVERLAP_DAYS: dict[str, int] = {"daily": 10, "weekly": 35, "monthly": 190}
FRED_KEY_ENV = "FRED_API_KEY"
SOURCES_ENV = "REGIME_SOURCES_FILE"
FETCH_HINT = "run `regime data fetch --source live` when online"

Status = Literal["downloaded", "updated", "fresh", "cached"]
#: ``on_progress(series_id, done, total)``, called before each series.
ProgressCallback = Callable[[str, int, int], None]


@dataclass(frozen=True)
class SeriesUpdate:
    """Outcome of refreshing one series.

    Attributes
    ----------
    source : SourceSpec
        Provider and symbol.
    status : {"downloaded", "updated", "fresh", "cached"}
        Full download, incremental update, cache recent enough (no request), or cache
        used because the download failed.
    values : pd.Series
        The series now in the cache.
    record : CacheRecord
        Its provenance record.
    new_rows, revised : int
        Observations added, and overlapping observations whose value changed.
    failure : ProviderError or None
        Why the download failed (status ``cached``).
    """

    source: SourceSpec
    status: Status
    values: pd.Series
    record: CacheRecord
    new_rows: int = 0
    revised: int = 0
    failure: ProviderError | None = None


class SeriesUnavailable(DataError):
    """A series could not be downloaded and has no usable cache; ``cause`` is the download error."""

    def __init__(self, message: str, cause: ProviderError) -> None:
        super().__init__(message)
        self.cause = cause


def utc_now() -> pd.Timestamp:
    """The current instant, tz-aware UTC."""
    return pd.Timestamp.now(tz="UTC")


def utc_today(now: pd.Timestamp) -> pd.Timestamp:
    """The naive UTC calendar date of ``now`` (the limit for future dates)."""
    return now.tz_convert("UTC").tz_localize(None).normalize()


def describe_age(record: CacheRecord, values: pd.Series, now: pd.Timestamp) -> str:
    """Human-readable staleness of a cached series, e.g. for the offline warning."""
    hours = (now - record.fetched).total_seconds() / 3600
    fetched = f"{hours:.0f} hours ago" if hours < 48 else f"{hours / 24:.0f} days ago"
    last = pd.Timestamp(values.index.max())
    return (f"fetched {record.fetched:%Y-%m-%d %H:%M} UTC ({fetched}), last observation "
            f"{last:%Y-%m-%d} ({(utc_today(now) - last).days} days old)")


def _read_cache(root: Path, source: SourceSpec, today: pd.Timestamp) -> tuple[pd.Series | None, CacheRecord | None, str | None]:
    """Cached values and record, plus why they cannot be used (``None`` when usable or absent)."""
    try:
        values, record = read_cached(root, source.series_id, today), read_record(root, source.series_id)
    except CacheCorruptError as exc:
        return None, None, str(exc)
    if values is None:
        return None, None, None
    if record is None:
        return values, None, f"cache file for '{source.series_id}' in {root} has no record {source.series_id}.json"
    if (record.provider, record.symbol) != (source.provider, source.symbol):
        return values, record, (f"cache for '{source.series_id}' holds {record.provider}:{record.symbol}, "
                                f"but the sources ask for {source.label}")
    return values, record, None


def update_series(
    source: SourceSpec,
    root: Path,
    fetch_text: Fetcher,
    now: pd.Timestamp,
    max_age: pd.Timedelta = ALWAYS,
    skip_network: bool = False,
    full: bool = False,
    fred_api_key: str | None = None,
) -> SeriesUpdate:
    """Bring one cached series up to date.

    Parameters
    ----------
    source : SourceSpec
        What to fetch.
    root : Path
        Cache folder.
    fetch_text : Fetcher
        HTTP GET.
    now : pd.Timestamp
        Current instant (tz-aware UTC).
    max_age : pd.Timedelta
        A cache fetched less than this long ago is returned without a request.
    skip_network : bool
        Do not try to download (the network is known to be down): use the cache.
    full : bool
        Ignore the cache and download the whole history.
    fred_api_key : str, optional
        Key of FRED's JSON API.

    Returns
    -------
    SeriesUpdate

    Raises
    ------
    DataError
        The download failed and there is no usable cache (missing, corrupt or from another
        source), or the data fails validation.
    """
    sid, today = source.series_id, utc_today(now)
    cached, record, problem = _read_cache(root, source, today)
    if problem:
        logger.warning("%s; downloading it again", problem)
    usable = cached is not None and record is not None and problem is None
    if usable and not full and now - record.fetched < max_age:
        return SeriesUpdate(source, "fresh", cached, record)
    incremental = usable and not full
    start = cached.index.max() - pd.Timedelta(days=OVERLAP_DAYS[spec_for(sid).frequency]) if incremental else HISTORY_START
    try:
        if skip_network:
            raise NetworkError("network unreachable")
        fetched, url = fetch_series(source, start, now, fetch_text, fred_api_key)
    except ProviderError as exc:
        if usable:
            logger.warning("series '%s' (%s): download failed (%s); using the cache, %s",
                           sid, source.label, exc, describe_age(record, cached, now))
            return SeriesUpdate(source, "cached", cached, record, failure=exc)
        reason = problem or f"not cached in {root}"
        raise SeriesUnavailable(
            f"series '{sid}' ({source.label}): {reason}, and the download failed ({exc}); {FETCH_HINT}", exc
        ) from None
    if not fetched.empty:
        fetched = validate_series(fetched, sid, origin=source.label, today=today)
    merged, revised = merge(cached if incremental else None, fetched)
    merged = validate_series(merged, sid, origin=source.label, today=today)
    new_rows = len(merged) - (len(cached) if incremental else 0)
    record = CacheRecord(sid, source.provider, source.symbol, url, now.isoformat(),
                         f"{merged.index[0]:%Y-%m-%d}", f"{merged.index[-1]:%Y-%m-%d}", len(merged))
    write_cached(root, merged, record)
    status: Status = "updated" if incremental else "downloaded"
    logger.info("series '%s' (%s): %s, %d new rows, %d revised, last %s",
                sid, source.label, status, new_rows, revised, record.last)
    return SeriesUpdate(source, status, merged, record, new_rows, revised)


def update_all(
    sources: Mapping[str, SourceSpec],
    root: Path,
    fetch_text: Fetcher | None = None,
    now: pd.Timestamp | None = None,
    max_age: pd.Timedelta = ALWAYS,
    full: bool = False,
    on_progress: ProgressCallback | None = None,
) -> tuple[dict[str, SeriesUpdate], dict[str, DataError]]:
    """Refresh every series of ``sources``; after a network failure the rest use the cache.

    Parameters
    ----------
    sources : Mapping of str to SourceSpec
        Series to refresh.
    root : Path
        Cache folder.
    fetch_text : Fetcher, optional
        HTTP GET; defaults to :func:`features.providers.http.fetch_text`.
    now : pd.Timestamp, optional
        Current instant (tz-aware UTC); defaults to the clock.
    max_age, full
        See :func:`update_series`.
    on_progress : callable, optional
        ``on_progress(series_id, done, total)`` before each series.

    Returns
    -------
    updates : dict of str to SeriesUpdate
        Series that are available (fresh, updated or from the cache).
    errors : dict of str to DataError
        Series that are not, with the reason.
    """
    fetch_text = fetch_text or http.fetch_text
    now = utc_now() if now is None else now
    api_key = os.environ.get(FRED_KEY_ENV) or None
    updates: dict[str, SeriesUpdate] = {}
    errors: dict[str, DataError] = {}
    offline = False
    for i, (sid, source) in enumerate(sources.items()):
        if on_progress:
            on_progress(sid, i, len(sources))
        try:
            updates[sid] = update_series(source, root, fetch_text, now, max_age, offline, full, api_key)
            cause = updates[sid].failure
        except SeriesUnavailable as exc:
            errors[sid], cause = exc, exc.cause
        except DataError as exc:
            errors[sid], cause = exc, None
        if not offline and isinstance(cause, NetworkError):
            offline = True
            logger.warning("network unreachable (%s): the remaining series come from the cache", cause)
    if on_progress:
        on_progress("", len(sources), len(sources))
    return updates, errors



@dataclass(frozen=True)
class CacheEntry:
    """What the cache holds for one series, read without any network access.

    Attributes
    ----------
    source : SourceSpec
        The configured source of the series.
    values : pd.Series or None
        Cached values, ``None`` if not cached or unreadable.
    record : CacheRecord or None
        Provenance record.
    problem : str or None
        Why the cache cannot be used (corrupt, no record, another source), else ``None``.
    """

    source: SourceSpec
    values: pd.Series | None
    record: CacheRecord | None
    problem: str | None

    @property
    def usable(self) -> bool:
        """Whether the cached values can be used."""
        return self.values is not None and self.problem is None


def resolve_sources(sources_file: str | Path | None = None) -> dict[str, SourceSpec]:
    """The sources mapping: defaults updated by ``sources_file``, else by ``$REGIME_SOURCES_FILE``."""
    path = sources_file or os.environ.get(SOURCES_ENV) or None
    return load_sources(Path(path) if path else None)


def read_cache_entries(root: Path, sources: Mapping[str, SourceSpec], today: pd.Timestamp) -> list[CacheEntry]:
    """Read every configured series from the cache (no network), in the mapping's order."""
    return [CacheEntry(src, *_read_cache(root, src, today)) for src in sources.values()]


def to_panel(series: Mapping[str, pd.Series]) -> pd.DataFrame:
    """Raw panel from named series: union of dates (index ``date``), NaN where unobserved."""
    if not series:
        raise DataError("no series to build a panel from")
    panel = pd.concat(dict(series), axis=1, sort=True).astype(float)
    panel.index.name = "date"
    return panel


def load_live_panel(
    cfg: DataConfig,
    *,
    cache_dir: str | Path | None = None,
    sources: Mapping[str, SourceSpec] | None = None,
    fetch_text: Fetcher | None = None,
    now: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """The raw panel of the live source, refreshing series fetched more than 12 hours ago.

    Parameters
    ----------
    cfg : DataConfig
        Data settings; ``cfg.cache_dir`` and ``cfg.sources_file`` are used when the
        config has them, else ``$REGIME_CACHE_DIR`` and ``$REGIME_SOURCES_FILE``.
        ``start``/``end`` are applied by :func:`features.sources.load_panel`.
    cache_dir : str or Path, optional
        Cache folder, overriding the config and environment.
    sources : Mapping of str to SourceSpec, optional
        Sources mapping, overriding the config and environment.
    fetch_text : Fetcher, optional
        HTTP GET (tests inject one); defaults to ``requests``.
    now : pd.Timestamp, optional
        Current instant (tz-aware UTC).

    Returns
    -------
    pd.DataFrame
        Raw panel: ``DatetimeIndex`` named ``date`` of observation dates, one float column
        per available series id, NaN where a series has no observation.

    Raises
    ------
    DataError
        A core series (``features.series.CORE_SERIES``) can neither be downloaded nor read
        from the cache, or fails validation. Optional series with problems are left out
        with a warning.
    """
    root = resolve_cache_dir(cache_dir or getattr(cfg, "cache_dir", None))
    sources = dict(sources) if sources is not None else resolve_sources(getattr(cfg, "sources_file", None))
    now = utc_now() if now is None else now
    updates, errors = update_all(sources, root, fetch_text, now, max_age=REFRESH_AFTER)
    core = [sid for sid in CORE_SERIES if sid in errors]
    if len(core) == 1:
        raise errors[core[0]]
    if core:
        raise DataError(f"{len(core)} core series unavailable ({', '.join(core)}); first: {errors[core[0]]}")
    for exc in errors.values():
        logger.warning("%s (optional series left out)", exc)
    for sid, update in updates.items():
        if update.status != "cached":
            warn_if_stale(update.values, sid, origin=update.source.label, today=utc_today(now))
    return to_panel({sid: u.values for sid, u in updates.items()})
