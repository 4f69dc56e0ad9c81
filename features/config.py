"""Typed settings of the feature builder (one section of the job's config)."""

from __future__ import annotations

from dataclasses import dataclass

from features.errors import ConfigError
from features.observations import REGIME_OBSERVATIONS, observation_lookback

#: Fixed windows of :mod:`features.builder` (``vix_chg_21``, ``ret_sp500_21``; ``sgr_chg_63``,
#: ``liq_walcl_63``; ``liq_m2_252``): the warm-up must cover them whatever the settings.
FIXED_WINDOWS: tuple[int, ...] = (21, 63, 252)


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
        "metals", "metals_63", "metals_vs_btc", "metals_vs_btc_63", "dollar", "real_yield", "breakeven",
        "liquidity", "vix", "equity",
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
        """Business days of history consumed before the first row where every feature is known.

        The longest look-back of any feature: returns, volatility, z-scores and drawdowns,
        the lead terms (a 63-day return ``lag`` days ago), the HMM's smoothed changes and
        the fixed windows of the liquidity and fear features (:data:`FIXED_WINDOWS`).
        """
        return max(max(self.return_windows), self.vol_window, self.zscore_window, 63 + max(self.lead_lags),
                   self.regime_window, *FIXED_WINDOWS)

    @property
    def regime_lookback(self) -> int:
        """Business days of history consumed before the first complete regime observation
        (the longest move plus the trailing z-score window; see :mod:`features.observations`)."""
        return observation_lookback(self.regime_observations, self.regime_window, self.regime_zscore_window)


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
    accept_implausible : tuple of str
        Series ids whose implausible values, moves or stale stretches are accepted on
        purpose (warned about instead of refused; see :mod:`features.plausibility`).
    bridge_gaps : tuple of str
        Series ids whose holes longer than their normal spacing are bridged on purpose (their
        last value carried across, with a warning) instead of refused (:mod:`features.gaps`).
    """

    source: str = "demo"
    data_dir: str | None = None
    cache_dir: str | None = None
    sources_file: str | None = None
    start: str | None = "2013-01-01"
    end: str | None = None
    seed: int = 7
    accept_implausible: tuple[str, ...] = ()
    bridge_gaps: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.source not in ("demo", "csv", "live"):
            raise ConfigError(f"`source` must be one of demo, csv, live. Got '{self.source}'.")
        if not 0 <= self.seed < 2**32:
            raise ConfigError(f"`seed` must be from 0 to 2**32 - 1. Got {self.seed}.")
        if self.source == "csv" and not self.data_dir:
            raise ConfigError("`--data-dir` is required with `--source csv`.")
        from features.dates import parse_date
        from features.series import CATALOG

        bounds = {name: parse_date(getattr(self, name), name) for name in ("start", "end") if getattr(self, name) is not None}
        if len(bounds) == 2 and bounds["start"] > bounds["end"]:
            raise ConfigError(f"`start` ({self.start}) is after `end` ({self.end}).")
        for name in ("accept_implausible", "bridge_gaps"):
            object.__setattr__(self, name, tuple(getattr(self, name)))  # a list from JSON or TOML
            unknown = [s for s in getattr(self, name) if s not in CATALOG]
            if unknown:
                raise ConfigError(f"`{name}`: unknown series {', '.join(map(str, unknown))} "
                                  f"(known: {', '.join(CATALOG)}).")
