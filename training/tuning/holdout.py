"""The tuning period and the hold-out: the raw panel split in time."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from features.errors import ConfigError
from training.config import Config
from training.jobs.train import make_template
from training.tracking.fingerprint import panel_fingerprint


@dataclass(frozen=True)
class TuningData:
    """The raw panel split in time.

    Attributes
    ----------
    full : pd.DataFrame
        Everything (used only for the final hold-out scores).
    tuning : pd.DataFrame
        Observations before ``holdout_start``: all the objective ever sees.
    holdout_start : pd.Timestamp or None
        First business day of the hold-out (None: no hold-out).
    fingerprint : str
        Content hash of ``full``.
    """

    full: pd.DataFrame
    tuning: pd.DataFrame
    holdout_start: pd.Timestamp | None
    fingerprint: str


def min_holdout_days(cfg: Config) -> int:
    """Shortest hold-out that leaves realised targets to score.

    Parameters
    ----------
    cfg : Config

    Returns
    -------
    int
        Twice the longest horizon, 126 business days at least.
    """
    return max(126, 2 * max(cfg.model.horizons))


def min_rows(cfg: Config) -> int:
    """Rows with complete features a walk-forward of ``cfg`` needs."""
    return cfg.evaluation.initial_train + max(cfg.model.horizons) + 1


def split_holdout(panel: pd.DataFrame, cfg: Config, holdout_days: int) -> TuningData:
    """Cut the last ``holdout_days`` business days off ``panel`` as the hold-out.

    Parameters
    ----------
    panel : pd.DataFrame
        Raw panel.
    cfg : Config
        Feature, horizon and walk-forward settings (to check what is left to tune on).
    holdout_days : int
        Business days of the hold-out; 0 for none.

    Returns
    -------
    TuningData

    Raises
    ------
    ConfigError
        When the hold-out is too short to score or leaves too little history to tune on.
    """
    fingerprint = panel_fingerprint(panel)
    if holdout_days == 0:
        return TuningData(panel, panel, None, fingerprint)
    if holdout_days < min_holdout_days(cfg):
        raise ConfigError(f"`--holdout-days` must be 0 or at least {min_holdout_days(cfg)} business days "
                          f"(126, or twice the longest horizon). Got {holdout_days}.")
    design = make_template(cfg).make_design(panel)
    start = len(design.index) - holdout_days
    needed = min_rows(cfg)
    if start - design.first_complete() < needed:
        raise ConfigError(
            f"`--holdout-days {holdout_days}` leaves {max(0, start - design.first_complete())} business days with "
            f"complete features to tune on; the walk-forward needs {needed} (lower --holdout-days or --initial-train)"
        )
    split = design.index[start]
    return TuningData(panel, panel.loc[panel.index < split], split, fingerprint)
