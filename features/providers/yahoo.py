"""Yahoo Finance daily closes from the v8 chart JSON endpoint.

One bar per exchange session. A bar is dated by its session's date in the exchange's
time zone (``meta.exchangeTimezoneName``; BTC-USD trades on a UTC day, so its bar dated
D is the close of UTC day D). The bar of a session that has not ended yet (a live,
intraday price) is dropped so that the cache holds only final closes. Values are the
``close`` field (not ``adjclose``: futures, indices and the metal ETFs pay no dividends);
Yahoo stores them as float32, so they are rounded to float32's shortest decimal form.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import quote

import numpy as np
import pandas as pd

from features.providers.base import ProviderError

logger = logging.getLogger(__name__)

BASE_URL = "https://query1.finance.yahoo.com/v8/finance/chart/"


def chart_url(symbol: str, start: pd.Timestamp, end: pd.Timestamp) -> str:
    """URL of the daily chart of ``symbol`` between two instants.

    Parameters
    ----------
    symbol : str
        Yahoo symbol, e.g. ``SI=F``, ``^VIX``, ``BTC-USD``.
    start, end : pd.Timestamp
        Window; naive timestamps are taken as UTC.

    Returns
    -------
    str
        ``.../v8/finance/chart/SYMBOL?period1=..&period2=..&interval=1d``.
    """
    p1, p2 = (int(_utc(t).timestamp()) for t in (start, end))
    return f"{BASE_URL}{quote(symbol, safe='')}?period1={p1}&period2={p2}&interval=1d&includePrePost=false"


def parse_chart(text: str, symbol: str, now: pd.Timestamp) -> pd.Series:
    """Parse a chart payload into daily closes.

    Parameters
    ----------
    text : str
        Body of the chart endpoint.
    symbol : str
        Requested symbol, used in messages.
    now : pd.Timestamp
        Current instant; a bar whose trading session ends after ``now`` is dropped.

    Returns
    -------
    pd.Series
        Float closes on a ``DatetimeIndex`` of session dates; empty when Yahoo has no
        bars in the window. Null closes (days Yahoo has no price) are dropped.

    Raises
    ------
    ProviderError
        Not JSON, a Yahoo error object (unknown symbol), or a malformed result.
    """
    try:
        payload = json.loads(text)
        chart = payload["chart"]
    except (ValueError, KeyError, TypeError):
        raise ProviderError(f"Yahoo '{symbol}': response is not a chart payload: {text[:80]!r}") from None
    if chart.get("error") or not chart.get("result"):
        err = chart.get("error") or {}
        raise ProviderError(f"Yahoo '{symbol}': {err.get('code', 'no result')}: {err.get('description', '')}".rstrip(": "))
    result = chart["result"][0]
    meta = result.get("meta", {})
    stamps = result.get("timestamp") or []
    try:
        closes = result["indicators"]["quote"][0].get("close") or []
    except (KeyError, IndexError, TypeError):
        raise ProviderError(f"Yahoo '{symbol}': payload has no indicators.quote") from None
    if len(closes) != len(stamps):
        raise ProviderError(f"Yahoo '{symbol}': {len(stamps)} timestamps but {len(closes)} closes")
    if not stamps:
        return pd.Series([], index=pd.DatetimeIndex([], name="date"), dtype=float, name=symbol)
    instants = pd.to_datetime(np.asarray(stamps, dtype="int64"), unit="s", utc=True)
    keep = _finished(instants, meta, now)
    dates = _session_dates(instants, meta)
    values = np.array([np.nan if c is None else float(str(np.float32(c))) for c in closes])
    s = pd.Series(values[keep], index=dates[keep], name=symbol).dropna()
    if s.index.has_duplicates:
        logger.debug("Yahoo '%s': several bars on one date; keeping the last", symbol)
        s = s[~s.index.duplicated(keep="last")]
    return s


def _utc(t: pd.Timestamp) -> pd.Timestamp:
    t = pd.Timestamp(t)
    return t.tz_localize("UTC") if t.tz is None else t.tz_convert("UTC")


def _session_dates(instants: pd.DatetimeIndex, meta: dict) -> pd.DatetimeIndex:
    """Calendar date of each bar in the exchange's time zone (fallback: its fixed GMT offset)."""
    try:
        local = instants.tz_convert(meta["exchangeTimezoneName"]).tz_localize(None)
    except (KeyError, TypeError, ValueError, LookupError):
        local = instants.tz_localize(None) + pd.Timedelta(seconds=int(meta.get("gmtoffset", 0)))
    return pd.DatetimeIndex(local.normalize(), name="date")


def _finished(instants: pd.DatetimeIndex, meta: dict, now: pd.Timestamp) -> np.ndarray:
    """Mask of bars whose session is over: the current session's bar is dropped before its end."""
    regular = (meta.get("currentTradingPeriod") or {}).get("regular") or {}
    if "start" not in regular or "end" not in regular:
        return np.ones(len(instants), dtype=bool)
    start = pd.Timestamp(int(regular["start"]), unit="s", tz="UTC")
    end = pd.Timestamp(int(regular["end"]), unit="s", tz="UTC")
    if _utc(now) >= end:
        return np.ones(len(instants), dtype=bool)
    return np.asarray(instants < start)
