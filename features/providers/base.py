"""Shared types of the market-data providers: the fetcher signature and the error."""

from __future__ import annotations

from collections.abc import Callable

from features.errors import DataError

#: ``fetch_text(url) -> str``: the only way providers reach the network (injectable in tests).
Fetcher = Callable[[str], str]


class ProviderError(DataError):
    """A provider could not deliver a series: HTTP error, unexpected payload, bad symbol."""


class NetworkError(ProviderError):
    """The provider could not be reached at all (no connection, DNS failure, timeout)."""
