"""Data sources: each returns one raw panel (dates x series ids)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from features.config import DataConfig
from features.csv_source import read_csv_folder
from features.demo import generate_demo_market
from features.errors import DataError
from features.series import CORE_SERIES, OPTIONAL_SERIES


def load_panel(cfg: DataConfig) -> pd.DataFrame:
    """Load the raw panel described by ``cfg``, clipped to ``[start, end]``.

    Raises
    ------
    DataError
        When the source cannot deliver the core series or the window is empty.
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
    panel = panel.loc[cfg.start : cfg.end]
    if panel.empty:
        raise DataError(f"no data between {cfg.start or 'the start'} and {cfg.end or 'the end'}")
    return panel
