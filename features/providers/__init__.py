"""Market-data providers (Yahoo Finance, FRED): download one series over a window.

Providers reach the network only through a ``fetch_text(url) -> str`` callable, so the
parsers run on stored payloads in tests (``tests/fixtures/live``).
"""

from __future__ import annotations

import pandas as pd

from features.providers import fred, yahoo
from features.providers.base import Fetcher, NetworkError, ProviderError
from features.providers.http import redact
from features.providers.mapping import (
    DEFAULT_SOURCES,
    PROVIDERS,
    SourceSpec,
    load_sources,
)

__all__ = [
    "DEFAULT_SOURCES", "PROVIDERS", "Fetcher", "NetworkError", "ProviderError", "SourceSpec",
    "fetch_series", "load_sources",
]


def fetch_series(
    source: SourceSpec, start: pd.Timestamp, now: pd.Timestamp, fetch_text: Fetcher, fred_api_key: str | None = None
) -> tuple[pd.Series, str]:
    """Download ``source`` from ``start`` up to ``now``.

    Parameters
    ----------
    source : SourceSpec
        Provider and symbol.
    start : pd.Timestamp
        First date wanted (naive, UTC).
    now : pd.Timestamp
        Current instant (tz-aware UTC); Yahoo bars of unfinished sessions are dropped.
    fetch_text : Fetcher
        HTTP GET returning the body text.
    fred_api_key : str, optional
        Use FRED's JSON API with this key instead of the keyless CSV download.

    Returns
    -------
    values : pd.Series
        Unvalidated raw values (possibly empty when nothing new was published).
    url : str
        The request URL with any API key redacted, for the cache record.

    Raises
    ------
    ProviderError
        From the fetcher (``NetworkError`` when offline) or the parser.
    """
    if source.provider == "yahoo":
        url = yahoo.chart_url(source.symbol, start, now)
        return yahoo.parse_chart(fetch_text(url), source.symbol, now), url
    if source.provider == "fred":
        url = fred.observations_url(source.symbol, start, fred_api_key)
        return fred.parse_observations(fetch_text(url), source.symbol), redact(url)
    raise ProviderError(f"unknown provider '{source.provider}' for series '{source.series_id}'")
