"""The sealed final segment: the end of the history that no choice may look at.

The walk-forward forecasts the sealed segment out of sample like every other test date
(each fold is refit on data before its block), but tuning never sees it (its objective
runs on the panel cut before the segment) and the champion gate judges candidates on it.
One function says where it starts, for tuning and the gate alike.
"""

from __future__ import annotations

import pandas as pd

from features.design import Design
from features.errors import ConfigError
from training.config import Config


def min_sealed_days(cfg: Config) -> int:
    """Shortest sealed segment that leaves realised targets to score.

    Parameters
    ----------
    cfg : Config

    Returns
    -------
    int
        Twice the longest horizon, 126 business days at least.
    """
    return max(126, 2 * max(cfg.model.horizons))


def sealed_start(design: Design, cfg: Config) -> pd.Timestamp | None:
    """First business day of the sealed segment: the last ``cfg.evaluation.sealed_days`` of ``design``.

    The design's calendar runs from the first to the last BTC observation whatever the
    feature windows, so the start depends only on the data and ``sealed_days``.

    Parameters
    ----------
    design : Design
        The design of the whole history.
    cfg : Config
        ``evaluation.sealed_days`` (0: no sealed segment), ``evaluation.initial_train``
        and the horizons.

    Returns
    -------
    pd.Timestamp or None
        None without a sealed segment.

    Raises
    ------
    ConfigError
        When the segment is too short to score, or starts before the first walk-forward
        test date (it must be forecast out of sample).
    """
    days = cfg.evaluation.sealed_days
    if days == 0:
        return None
    if days < min_sealed_days(cfg):
        raise ConfigError(f"`--sealed-days` must be 0 or at least {min_sealed_days(cfg)} business days "
                          f"(126, or twice the longest horizon). Got {days}.")
    start = len(design.index) - days
    first_test = design.first_complete() + cfg.evaluation.initial_train
    if start < first_test:
        where = (f"before the first walk-forward test date {design.index[first_test].date()}"
                 if first_test < len(design.index) else "before any walk-forward test date")
        raise ConfigError(
            f"`--sealed-days {days}` starts the sealed segment on "
            f"{design.index[max(start, 0)].date()}, {where}: lower --sealed-days (0 = none) or --initial-train"
        )
    return design.index[start]
