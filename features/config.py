"""Typed settings of the feature builder (one section of the job's config)."""

from __future__ import annotations

from dataclasses import dataclass

from features.errors import ConfigError
from features.observations import REGIME_OBSERVATIONS


@dataclass(frozen=True)
class FeatureConfig:
    """Windows (in business days) used by the feature builder.

    Attributes
    ----------
    return_windows : tuple of int
        Trailing windows for log returns and yield changes.
    vol_window : int
        Window of realized volatility.
    lead_lags : tuple of int
        Lags at which the 63-day metal returns enter as lead terms: the thesis says BTC
        follows metals' *earlier* strength, so ``lead_silver_63_lag21`` is silver's
        63-day return as it stood 21 business days ago.
    zscore_window : int
        Trailing window for slow z-scores (silver/gold ratio) and drawdowns.
    regime_window : int
        Window of the smoothed changes the HMM observes (returns, yield changes).
    regime_observations : tuple of str
        What the regime model observes (names of ``features.builder.REGIME_OBSERVATIONS``;
        those whose series a data set lacks are left out).
    regime_zscore_window : int
        Trailing window (business days) of the z-score each regime observation is expressed
        in; 0 keeps the raw moves. See :func:`features.observations.regime_observations`.
    """

    return_windows: tuple[int, ...] = (5, 21, 63)
    vol_window: int = 21
    lead_lags: tuple[int, ...] = (21, 42)
    zscore_window: int = 252
    regime_window: int = 21
    regime_observations: tuple[str, ...] = (
        "gold", "silver", "dollar", "real_yield", "breakeven", "vix", "equity", "liquidity", "metals_vs_btc",
    )
    regime_zscore_window: int = 252

    def __post_init__(self) -> None:
        for name in ("return_windows", "lead_lags"):
            vals = getattr(self, name)
            if not vals or any(int(v) < 1 for v in vals):
                raise ConfigError(f"`{name}` must be positive integers. Got {vals}.")
        for name in ("vol_window", "zscore_window", "regime_window"):
            if int(getattr(self, name)) < 2:
                raise ConfigError(f"`{name}` must be an integer >= 2. Got {getattr(self, name)}.")
        if int(self.regime_zscore_window) != 0 and int(self.regime_zscore_window) < 21:
            raise ConfigError(f"`regime_zscore_window` must be 0 or at least 21 business days. Got {self.regime_zscore_window}.")
        unknown = [o for o in self.regime_observations if o not in REGIME_OBSERVATIONS]
        if unknown or not self.regime_observations or len(set(self.regime_observations)) < len(self.regime_observations):
            raise ConfigError(
                f"`regime_observations` must be distinct names among {', '.join(REGIME_OBSERVATIONS)}. "
                f"Got {self.regime_observations}."
            )

    @property
    def warmup(self) -> int:
        """Business days of history consumed before the first complete feature row."""
        return max(max(self.return_windows), 63 + max(self.lead_lags), self.zscore_window)


@dataclass(frozen=True)
class DataConfig:
    """Where the raw panel comes from.

    Attributes
    ----------
    source : {"demo", "csv", "live"}
        ``demo`` is the bundled synthetic market (no network), ``csv`` a folder of
        ``<series_id>.csv`` files, ``live`` the cached Yahoo/FRED download.
    data_dir : str or None
        Folder for ``csv``.
    cache_dir : str or None
        Cache folder of ``live`` (default ``$REGIME_CACHE_DIR``, else the user cache folder).
    sources_file : str or None
        TOML file overriding or adding live series (default ``$REGIME_SOURCES_FILE``).
    start, end : str or None
        Optional ISO dates bounding the panel (``start`` is where feature warm-up begins).
    seed : int
        Seed of the demo market.
    """

    source: str = "demo"
    data_dir: str | None = None
    cache_dir: str | None = None
    sources_file: str | None = None
    start: str | None = "2013-01-01"
    end: str | None = None
    seed: int = 7

    def __post_init__(self) -> None:
        if self.source not in ("demo", "csv", "live"):
            raise ConfigError(f"`source` must be one of demo, csv, live. Got '{self.source}'.")
        if self.source == "csv" and not self.data_dir:
            raise ConfigError("`--data-dir` is required with `--source csv`.")
        for name in ("start", "end"):
            value = getattr(self, name)
            if value is not None:
                try:
                    import pandas as pd

                    pd.Timestamp(value)
                except (ValueError, TypeError):
                    raise ConfigError(f"`{name}` must be an ISO date (YYYY-MM-DD). Got '{value}'.") from None
