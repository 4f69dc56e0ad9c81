"""FRED (Federal Reserve Bank of St. Louis) observations.

Without an API key the public CSV download is used
(``fredgraph.csv?id=DGS10``: header ``observation_date,DGS10``, older files ``DATE,DGS10``,
``.`` or an empty cell for a missing day). With ``FRED_API_KEY`` in the environment the
JSON API (``series/observations``) is used instead. Either way the values are FRED's
latest vintage: revisions of e.g. M2SL are not point-in-time (see ``docs/data.md``).
"""

from __future__ import annotations

import csv
import json
from urllib.parse import urlencode

import numpy as np
import pandas as pd

from features.csv_source import MISSING_MARKERS
from features.providers.base import ProviderError

CSV_URL = "https://fred.stlouisfed.org/graph/fredgraph.csv"
API_URL = "https://api.stlouisfed.org/fred/series/observations"


def observations_url(symbol: str, start: pd.Timestamp, api_key: str | None = None) -> str:
    """URL of all observations of ``symbol`` from ``start`` on.

    Parameters
    ----------
    symbol : str
        FRED series id, e.g. ``DGS10``.
    start : pd.Timestamp
        First observation date requested.
    api_key : str, optional
        FRED API key; selects the JSON API instead of the keyless CSV download.

    Returns
    -------
    str
        The request URL (contains the key when given: redact before logging).
    """
    day = pd.Timestamp(start).strftime("%Y-%m-%d")
    if api_key:
        query = {"series_id": symbol, "observation_start": day, "file_type": "json", "api_key": api_key}
        return f"{API_URL}?{urlencode(query)}"
    return f"{CSV_URL}?{urlencode({'id': symbol, 'cosd': day})}"


def parse_observations(text: str, symbol: str) -> pd.Series:
    """Parse a FRED CSV download or JSON API response (detected from the first character).

    Parameters
    ----------
    text : str
        Response body.
    symbol : str
        FRED series id, used to check the CSV header and in messages.

    Returns
    -------
    pd.Series
        Float values on a ``DatetimeIndex`` named ``date``; missing markers are dropped.

    Raises
    ------
    ProviderError
        An HTML page or error object instead of data, a wrong header, unparsable rows.
    """
    body = text.lstrip("\ufeff").strip()
    dates, raw = _parse_json(body, symbol) if body.startswith("{") else _parse_csv(body, symbol)
    idx = pd.to_datetime(pd.Series(dates, dtype=object), format="%Y-%m-%d", errors="coerce")
    if idx.isna().any():
        bad = dates[int(np.flatnonzero(idx.isna().to_numpy())[0])]
        raise ProviderError(f"FRED '{symbol}': cannot parse date '{bad}'")
    values = pd.to_numeric(pd.Series([None if v in MISSING_MARKERS else v for v in raw], dtype=object),
                           errors="coerce")
    unparsed = [v for v, x in zip(raw, values, strict=True) if v not in MISSING_MARKERS and pd.isna(x)]
    if unparsed:
        raise ProviderError(f"FRED '{symbol}': cannot parse value '{unparsed[0]}'")
    s = pd.Series(values.to_numpy(dtype=float), index=pd.DatetimeIndex(idx, name="date"), name=symbol)
    return s.dropna()


def _parse_csv(body: str, symbol: str) -> tuple[list[str], list[str]]:
    rows = list(csv.reader(body.splitlines()))
    header = [h.strip() for h in rows[0]] if rows else []
    if len(header) != 2 or header[0].lower() not in ("observation_date", "date") or header[1].upper() != symbol.upper():
        raise ProviderError(f"FRED '{symbol}': expected a CSV with header 'observation_date,{symbol}', "
                            f"got {body[:80]!r}")
    body_rows = [r for r in rows[1:] if r]
    if any(len(r) != 2 for r in body_rows):
        raise ProviderError(f"FRED '{symbol}': CSV rows must have 2 fields")
    return [r[0].strip() for r in body_rows], [r[1].strip() for r in body_rows]


def _parse_json(body: str, symbol: str) -> tuple[list[str], list[str]]:
    try:
        payload = json.loads(body)
    except ValueError:
        raise ProviderError(f"FRED '{symbol}': response is not valid JSON") from None
    if "observations" not in payload:
        raise ProviderError(f"FRED '{symbol}': {payload.get('error_message', 'no observations in the response')}")
    obs = payload["observations"]
    try:
        return [str(o["date"]) for o in obs], [str(o["value"]).strip() for o in obs]
    except (KeyError, TypeError):
        raise ProviderError(f"FRED '{symbol}': malformed observation in the JSON response") from None
