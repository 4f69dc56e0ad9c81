"""From a raw panel to everything a model needs: aligned data, features, HMM inputs, targets."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from features.align import align_point_in_time
from features.builder import build_features
from features.config import FeatureConfig
from features.errors import DataError
from features.observations import regime_observations
from features.series import CORE_SERIES
from features.target import forward_log_returns
from features.validation import validate_panel


@dataclass(frozen=True)
class Design:
    """Point-in-time inputs on one business-day calendar.

    Attributes
    ----------
    aligned : pd.DataFrame
        Raw series as known at each business-day close.
    features : pd.DataFrame
        Forecaster features (no regime probabilities yet).
    regime_obs : pd.DataFrame
        What the HMM observes.
    targets : pd.DataFrame
        Forward BTC log returns, one column per horizon (NaN where not yet known).
    """

    aligned: pd.DataFrame
    features: pd.DataFrame
    regime_obs: pd.DataFrame
    targets: pd.DataFrame

    @property
    def index(self) -> pd.DatetimeIndex:
        return self.features.index  # type: ignore[return-value]

    @cached_property
    def _regime_start(self) -> int:
        ok = ~np.isnan(self.regime_obs.to_numpy(dtype=float)).any(axis=1)
        return int(ok.argmax()) if ok.any() else len(ok)

    @cached_property
    def _first_complete(self) -> int:
        core = [c.startswith(("ret_btc_", "lead_")) for c in self.features.columns]
        ok = ~np.isnan(self.regime_obs.to_numpy(dtype=float)).any(axis=1)
        ok &= ~np.isnan(self.features.to_numpy(dtype=float)[:, core]).any(axis=1)
        return int(ok.argmax()) if ok.any() else len(ok)

    def regime_start(self) -> int:
        """Position of the first row with every HMM input known: where the regime filter starts."""
        return self._regime_start

    def first_complete(self) -> int:
        """Position of the first row where the core features and HMM inputs are all known."""
        return self._first_complete


def build_design(
    panel: pd.DataFrame,
    cfg: FeatureConfig,
    horizons: tuple[int, ...],
    min_rows: int = 1,
    tail: int | None = None,
) -> Design:
    """Validate a raw panel and build its :class:`Design`.

    Parameters
    ----------
    panel : pd.DataFrame
        Raw panel (DatetimeIndex of observation dates, series-id columns).
    cfg : FeatureConfig
        Feature windows.
    horizons : tuple of int
        Forecast horizons in business days.
    min_rows : int
        Minimum number of rows with complete features; fewer is a :class:`DataError`.
    tail : int, optional
        Only the last ``tail`` rows need forecaster features (a warm daily update): they
        are computed from the last ``tail + cfg.warmup`` rows, which hold every value
        their windows read. The HMM inputs and targets still cover the whole history.
    """
    panel = validate_panel(panel, CORE_SERIES)
    aligned = align_point_in_time(panel)
    design = Design(
        aligned=aligned,
        features=build_features(aligned, cfg, rows=tail),
        regime_obs=regime_observations(aligned, cfg),
        targets=forward_log_returns(aligned["btc_usd"], horizons),
    )
    usable = len(design.index) - design.first_complete()
    if usable < min_rows:
        raise DataError(
            f"too little history: {usable} business days with complete features, need at least "
            f"{min_rows} (the feature windows consume the first {cfg.warmup} days)"
        )
    return design
