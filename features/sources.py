"""Data sources: each returns one raw panel (dates x series ids)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from features.config import DataConfig
from features.csv_source import read_csv_folder
from features.dates import parse_date
from features.demo import generate_demo_market
from features.errors import DataError
from features.gaps import check_gaps
from features.plausibility import check_plausibility
from features.ragged import ragged_end
from features.series import CORE_SERIES, OPTIONAL_SERIES

logger = logging.getLogger(__name__)


def load_panel(cfg: DataConfig, check: bool = True, needs: Iterable[str] = CORE_SERIES) -> pd.DataFrame:
    """Load the raw panel described by ``cfg``, clipped to ``[start, end]`` and to the common date.

    Parameters
    ----------
    cfg : DataConfig
        Source and window. ``end`` cuts the data before any check.
    check : bool
        Cut a ragged end (:mod:`features.ragged`: every series needed current on the last
        date, series not needed that are not current left out, a warning naming each), refuse
        holes inside a series (:func:`features.gaps.check_gaps`, with ``cfg.bridge_gaps``) and
        refuse an implausible panel (:func:`features.plausibility.check_plausibility`, with
        ``cfg.accept_implausible``); ``False`` only for inspecting data (``regime data show``).
    needs : iterable of str
        Series the caller needs: the core series (training, analyses), or a model's input
        series (commands on a trained model).

    Raises
    ------
    DataError
        When the source cannot deliver the core series, the window is empty, a needed series
        ended long before the others, a series has a hole or the data are implausible.
    """
    if cfg.source == "demo":
        panel = generate_demo_market(seed=cfg.seed).panel
    elif cfg.source == "csv":
        panel = read_csv_folder(Path(cfg.data_dir or "."), CORE_SERIES, OPTIONAL_SERIES)
    elif cfg.source == "live":
        from features.live import load_live_panel  # optional dependency path

        panel = load_live_panel(cfg)
    else:  # pragma: no cover - DataConfig validates this
        raise DataError(f"unknown source {cfg.source}")
    start, end = (parse_date(v, name) if v is not None else None for name, v in (("start", cfg.start), ("end", cfg.end)))
    panel = panel.loc[start:end]
    if panel.empty:
        raise DataError(f"no data between {cfg.start or 'the start'} and {cfg.end or 'the end'}")
    if check:
        origins = _origins(cfg, panel)
        edge = ragged_end(panel, needs, origins)
        if notice := edge.notice():
            logger.warning("%s", notice)
        panel = edge.apply(panel)
        check_gaps(panel, cfg.bridge_gaps, origins)
        check_plausibility(panel, cfg.accept_implausible, origins)
    return panel


def _origins(cfg: DataConfig, panel: pd.DataFrame) -> dict[str, str] | str:
    """Where each series of a loaded panel came from, for messages."""
    if cfg.source == "csv":
        return {str(c): str(Path(cfg.data_dir or ".") / f"{c}.csv") for c in panel.columns}
    return "demo market" if cfg.source == "demo" else "live cache"
