"""Settings whose effect would be empty on the data at hand, refused naming the key.

A window longer than the history never fills (``[features] zscore_window = 100000`` trained
and registered a model whose z-scores were expanding means), and a walk-forward that needs
more history than there is said only "too little history ... need at least 100064". Each
setting that consumes history is compared with the business days of the panel before any
work, and the first that cannot fit is named with its option, its value and what would fit.
"""

from __future__ import annotations

import pandas as pd

from features.config import FeatureConfig
from features.errors import ConfigError
from training.config import Config


def business_days(panel: pd.DataFrame) -> int:
    """Business days from the first to the last date of ``panel``."""
    return len(pd.bdate_range(panel.index.min(), panel.index.max()))


def check_settings_fit(cfg: Config, panel: pd.DataFrame) -> None:
    """Refuse feature windows longer than the data, and a walk-forward the data cannot hold.

    Parameters
    ----------
    cfg : Config
        The job's settings.
    panel : pd.DataFrame
        The raw panel the job trains on.

    Raises
    ------
    ConfigError
        Naming the key (and its option), its value, the data's length and the largest value
        that fits.
    """
    days = business_days(panel)
    span = f"the data have {days} business days ({panel.index.min():%Y-%m-%d} to {panel.index.max():%Y-%m-%d})"
    f, default = cfg.features, FeatureConfig()
    windows = {
        name: (max(value) if isinstance(value, tuple) else value,
               max(getattr(default, name)) if isinstance(value, tuple) else getattr(default, name))
        for name in ("zscore_window", "vol_window", "regime_window", "regime_zscore_window", "return_windows", "lead_lags")
        for value in [getattr(f, name)]
    }
    for name, (window, usual) in windows.items():
        if window >= days:
            raise ConfigError(f"`[features] {name}` = {window} business days is longer than the data: {span}; a "
                              f"window that never fills gives no feature. Lower it (default {usual})")
    horizon = max(cfg.model.horizons)
    consumed = max(f.warmup, f.regime_lookback)
    room = days - consumed - horizon - 1
    initial = cfg.evaluation.initial_train
    if initial > room:
        raise ConfigError(f"`[evaluation] initial_train` (--initial-train) = {initial} business days does not fit: "
                          f"{span}, of which the feature windows consume {consumed} and the longest horizon "
                          f"{horizon}; at most {max(room, 0)} fits (or use more data, e.g. an earlier --start)")
