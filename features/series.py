"""The catalogue of raw market series: ids, kinds and publication timing.

Series ids are the file stems of the ``date,value`` folder format (``../shared/data``).
Timing is what makes the features point-in-time: ``publication_lag_days`` (calendar
days) and ``daily_lag_bdays`` (Fed business days) say how long after its reference date a
value can be known at our decision time (the US close of a business day, after the BTC
UTC close). The lags are documented in ``docs/data.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["price", "yield", "index", "level"]
Frequency = Literal["daily", "weekly", "monthly"]


@dataclass(frozen=True)
class SeriesSpec:
    """What the product knows about one raw series.

    Attributes
    ----------
    series_id : str
        Column name in the raw panel and file stem in a csv folder.
    description : str
        Human-readable name with units.
    kind : {"price", "yield", "index", "level"}
        ``price`` and ``index`` and ``level`` values must be strictly positive;
        ``yield`` values may be zero or negative (real yields were negative 2011-2013).
    frequency : {"daily", "weekly", "monthly"}
        Native sampling of the series.
    publication_lag_days : int
        Calendar days between the reference date and the first decision time at which
        the value is public: 0 for market closes (known the same day); WALCL (Wednesday) is
        released Thursday 16:30 ET, usable Friday (2); M2SL (dated the first of the month)
        is released about four weeks after the month ends (60).
    daily_lag_bdays : int
        Lag in *Fed* business days (weekdays that are not US federal holidays, see
        :func:`features.align.add_fed_business_days`) for daily Fed releases published after
        our decision time. H.15 yields are posted at 16:15 ET on the next Fed business day
        (1). The H.10 broad dollar index is released weekly, on Mondays at 16:15 ET (Tuesday
        after a Monday holiday), with the daily values of the previous Monday-Friday: a
        Monday value is public 5 Fed business days later, a Friday value 1; 5 is the lag
        that is never early.
    """

    series_id: str
    description: str
    kind: Kind
    frequency: Frequency = "daily"
    publication_lag_days: int = 0
    daily_lag_bdays: int = 0

    @property
    def must_be_positive(self) -> bool:
        """Whether a zero or negative value is an error for this series."""
        return self.kind != "yield"


CATALOG: dict[str, SeriesSpec] = {
    s.series_id: s
    for s in (
        SeriesSpec("btc_usd", "Bitcoin, USD per BTC, daily close 00:00 UTC", "price"),
        SeriesSpec("silver_usd", "Silver COMEX front month, USD/oz", "price"),
        SeriesSpec("gold_usd", "Gold COMEX front month, USD/oz", "price"),
        SeriesSpec("dxy", "ICE US Dollar Index, points", "index"),
        SeriesSpec("usd_broad", "FRED DTWEXBGS broad dollar index (H.10, released weekly on Mondays)", "index",
                   daily_lag_bdays=5),  # a Monday value waits for the next Monday's release
        SeriesSpec("dgs10", "FRED DGS10 10y Treasury yield, %", "yield", daily_lag_bdays=1),
        SeriesSpec("dgs2", "FRED DGS2 2y Treasury yield, %", "yield", daily_lag_bdays=1),
        SeriesSpec("dfii10", "FRED DFII10 10y TIPS real yield, %", "yield", daily_lag_bdays=1),
        SeriesSpec("t10yie", "FRED T10YIE 10y breakeven inflation, %", "yield", daily_lag_bdays=1),
        SeriesSpec("vix", "CBOE VIX close, points", "index"),
        SeriesSpec("sp500", "S&P 500 index close, points", "index"),
        SeriesSpec("walcl", "FRED WALCL Fed total assets, USD mn (weekly, Wed)", "level",
                   frequency="weekly", publication_lag_days=2),
        SeriesSpec("m2sl", "FRED M2SL money stock, USD bn (monthly)", "level",
                   frequency="monthly", publication_lag_days=60),
    )
}

#: Series every model needs; the others improve it when present.
CORE_SERIES: tuple[str, ...] = (
    "btc_usd", "silver_usd", "gold_usd", "dxy", "dgs10", "dfii10", "t10yie", "vix",
)
OPTIONAL_SERIES: tuple[str, ...] = tuple(s for s in CATALOG if s not in CORE_SERIES)


def spec_for(series_id: str) -> SeriesSpec:
    """Return the spec of ``series_id``; unknown ids get a generic positive-price spec."""
    return CATALOG.get(series_id, SeriesSpec(series_id, series_id, "price"))
