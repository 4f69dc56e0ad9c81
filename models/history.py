"""Which rows of a history get an exact answer: the same as the full history would give.

A forecast for day t reads the features' windows (up to :attr:`FeatureConfig.warmup
<features.config.FeatureConfig.warmup>` business days back) and the regime filter, which runs
from the first row of the history. A history that starts later than the full one gives the
same answer on day t only when

* every input series is known on each of the ``warmup`` business days before t (a series
  enters the calendar on the day it is published, so monthly M2 is known only about two
  months after the history starts), and
* the regime filter has run for the pipeline's ``regime_memory_`` rows
  (:func:`regime.memory.filter_memory`), after which it no longer depends on its start.

:func:`first_exact_row` applies both; a served model answers from that row on and refuses a
history too short for any exact row with a message saying how much history is needed
(:func:`history_needed`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from features.design import Design
from features.observations import REGIME_OBSERVATIONS
from features.series import spec_for
from features.windows import float_columns

if TYPE_CHECKING:  # pragma: no cover
    from models.pipeline import RegimeForecastPipeline

#: Calendar days between two observations at each cadence (the longest wait for the next one).
_CADENCE_DAYS = {"daily": 4, "weekly": 7, "monthly": 31}


#: Used for a pipeline fitted before ``regime_memory_`` existed: a year of business days,
#: far above anything measured (docs/reliability.md).
UNKNOWN_MEMORY = 252


def regime_memory(pipeline: RegimeForecastPipeline) -> int:
    """Rows the pipeline's regime filter needs to forget its start (0 without a regime)."""
    if getattr(pipeline, "regime_", None) is None:
        return 0
    memory = getattr(pipeline, "regime_memory_", None)
    return int(memory) if memory is not None else UNKNOWN_MEMORY


def first_exact_row(pipeline: RegimeForecastPipeline, design: Design) -> int:
    """Position in ``design`` of the first row whose answer does not depend on where the history starts.

    ``len(design.index)`` when no row qualifies.
    """
    columns = float_columns(design.aligned)
    known = ~np.isnan(np.column_stack([columns[s] for s in pipeline.input_series_])).any(axis=1)
    n = len(known)
    first = (int(known.argmax()) if known.any() else n) + pipeline.feature_config.warmup
    if getattr(pipeline, "regime_", None) is not None:
        first = max(first, design.regime_start() + regime_memory(pipeline))
    return min(n, max(first, design.first_complete()))


def _publication_rows(series_id: str) -> int:
    """Business days after a history starts until ``series_id`` is known at the latest."""
    spec = spec_for(series_id)
    days = _CADENCE_DAYS[spec.frequency] + spec.publication_lag_days
    return math.ceil(days * 5 / 7) + spec.daily_lag_bdays


def history_needed(pipeline: RegimeForecastPipeline) -> int:
    """Business days of history (every series from the first day) that give at least one exact row."""
    known = max(_publication_rows(s) for s in pipeline.input_series_)
    rows = known + pipeline.feature_config.warmup
    if getattr(pipeline, "regime_", None) is not None:
        # The regime observations wait only for the series they read (not, say, M2's two-month lag).
        used = {c for name in pipeline.regime_.columns_ for c in REGIME_OBSERVATIONS[name][0]} & set(pipeline.input_series_)
        known_obs = max((_publication_rows(s) for s in used), default=known)
        rows = max(rows, known_obs + pipeline.feature_config.regime_lookback + regime_memory(pipeline))
    return rows + 1


def recent_history(pipeline: RegimeForecastPipeline, panel: pd.DataFrame, rows: int) -> pd.DataFrame:
    """The end of a raw panel that holds enough history for exact answers on its last ``rows`` business days.

    :func:`history_needed` plus ``rows - 1`` business days (and one spare day) before the
    panel's last date; the whole panel when it is not longer. Whether the part really answers
    those rows exactly is for :func:`first_exact_row` to say (a series with gaps may need more).
    """
    start = panel.index.max() - pd.offsets.BDay(history_needed(pipeline) + int(rows))
    return panel.loc[start:] if len(panel.index) and panel.index.min() < start else panel


def too_little_history(pipeline: RegimeForecastPipeline, design: Design, wanted: int | None = None) -> str:
    """The message for a history without (enough) exact rows: what is needed and from when."""
    needed = history_needed(pipeline)
    if wanted:
        needed += wanted - 1
    last = design.index[-1] if len(design.index) else None
    since = f", e.g. from {last - pd.offsets.BDay(needed - 1):%Y-%m-%d} for forecasts up to {last:%Y-%m-%d}" \
        if last is not None else ""
    rows = f"the last {wanted} rows" if wanted else "a forecast"
    fc = pipeline.feature_config
    return (f"too little history for an exact answer: send at least {needed} business days of history{since}; "
            f"the input has {len(design.index)} (for {rows}: feature windows {fc.warmup} days, regime observations "
            f"{fc.regime_lookback}, regime filter {regime_memory(pipeline)})")
