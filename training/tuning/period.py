"""The tuning period: the raw panel cut before the sealed segment."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from features.errors import ConfigError
from training.config import Config
from training.evaluation.sealed import min_sealed_days, sealed_start
from training.jobs.train import make_template
from training.tracking.fingerprint import panel_fingerprint


@dataclass(frozen=True)
class TuningData:
    """The raw panel split in time.

    Attributes
    ----------
    full : pd.DataFrame
        Everything (used only for the final sealed-segment scores).
    tuning : pd.DataFrame
        Observations before ``sealed_start``: all the objective ever sees.
    sealed_start : pd.Timestamp or None
        First business day of the sealed segment (None: no sealed segment).
    fingerprint : str
        Content hash of ``full``.
    first, last : str
        First and last business day of the design of ``full`` (ISO dates).
    """

    full: pd.DataFrame
    tuning: pd.DataFrame
    sealed_start: pd.Timestamp | None
    fingerprint: str
    first: str
    last: str

    @property
    def seen_to(self) -> str:
        """Last date whose data the objective sees (ISO): the tuning panel's last observation."""
        return self.tuning.index.max().date().isoformat()


def min_rows(cfg: Config) -> int:
    """Rows with complete features a walk-forward of ``cfg`` needs."""
    return cfg.evaluation.initial_train + max(cfg.model.horizons) + 1


def split_tuning(panel: pd.DataFrame, cfg: Config) -> TuningData:
    """Cut the sealed segment of ``cfg`` (:func:`training.evaluation.sealed.sealed_start`) off ``panel``.

    Parameters
    ----------
    panel : pd.DataFrame
        Raw panel.
    cfg : Config
        Feature, horizon and walk-forward settings, ``evaluation.sealed_days`` among them.

    Returns
    -------
    TuningData

    Raises
    ------
    ConfigError
        When the sealed segment is too short to score or leaves too little history to tune on.
    """
    fingerprint = panel_fingerprint(panel)
    design = make_template(cfg).make_design(panel, min_rows=min_rows(cfg))
    first, last = (design.index[i].date().isoformat() for i in (design.first_complete(), -1))
    days = cfg.evaluation.sealed_days
    left = max(0, len(design.index) - days - design.first_complete())
    if days >= min_sealed_days(cfg) and left < min_rows(cfg):
        raise ConfigError(
            f"`--sealed-days {days}` leaves {left} business days with complete features to tune on; "
            f"the walk-forward needs {min_rows(cfg)} (lower --sealed-days or --initial-train)"
        )
    start = sealed_start(design, cfg)
    tuning = panel if start is None else panel.loc[panel.index < start]
    return TuningData(panel, tuning, start, fingerprint, first, last)
