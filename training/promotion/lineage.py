"""Whether a candidate continues its champion's data: the kind of data, and the history.

Two models can be compared only on the same returns and the same inputs. The *kind* of
data (the synthetic demo market or real prices) separates lineages: a model on real data
always takes over from a demo champion and a demo model never replaces a real-data one.
Within a kind, the *history* is what the champion was trained on: its logged walk-forward
(realised returns and forecasts per date) must come out again when its own settings and
folds are run on the candidate's data. Data that change it (another folder, a shuffled
series, revised values) are different data, and different data are not evidence that a
model is better.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

#: Forecasts and returns closer than this (absolute) are the same: floating-point noise only.
HISTORY_TOLERANCE = 1e-9


def data_kind(source: str | None) -> str | None:
    """``synthetic demo market`` or ``real data`` for a data source (None when the source is unknown)."""
    if source is None:
        return None
    return "synthetic demo market" if source == "demo" else "real data"


def _differing(logged: pd.Series, replayed: pd.Series) -> pd.Series:
    """Absolute differences on ``logged``'s dates (inf where ``replayed`` has no value)."""
    other = replayed.reindex(logged.index).to_numpy(dtype=float)
    gap = np.abs(other - logged.to_numpy(dtype=float))
    return pd.Series(np.where(np.isfinite(gap), gap, np.inf), index=logged.index)


def history_change(logged: Mapping[int, pd.DataFrame], replayed: Mapping[int, pd.DataFrame]) -> str | None:
    """How the candidate's data change the champion's history (None: they keep it).

    Parameters
    ----------
    logged : dict of int -> pd.DataFrame
        The champion's logged walk-forward, per horizon: ``realized`` and ``model`` by date.
    replayed : dict of int -> pd.DataFrame
        The same settings and folds run on the candidate's data (same columns).

    Returns
    -------
    str or None
        A clause naming how many of the champion's scored dates differ, the first of them
        and the largest difference: first in the realised returns (the target), else in the
        forecasts (the inputs).
    """
    for column, what in (("realized", "BTC's realised returns"), ("model", "the champion's forecasts (its settings rerun on these data)")):
        gaps = {}
        for h, frame in logged.items():
            scored = frame.dropna(subset=["realized", "model"])
            other = replayed[h][column] if h in replayed else pd.Series(dtype=float)
            gaps[h] = _differing(scored[column], other)
        dates = pd.DatetimeIndex(sorted(set().union(*(g.index for g in gaps.values()))))
        off = pd.DatetimeIndex(sorted(set().union(*(g.index[g > HISTORY_TOLERANCE] for g in gaps.values()))))
        if len(off):
            h, worst = max(((h, g.max()) for h, g in gaps.items()), key=lambda item: item[1])
            size = "missing" if np.isinf(worst) else f"{worst:.3g}"
            return (f"{what} differ on {len(off):,} of the champion's {len(dates):,} walk-forward dates "
                    f"(first {off[0].date()}; largest difference {size} at {h} days)")
    return None
