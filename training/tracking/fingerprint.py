"""Tie a run to its data (a content hash of the panel, a per-series coverage table) and to its recipe."""

from __future__ import annotations

import hashlib
from typing import Any

import pandas as pd


def panel_fingerprint(panel: pd.DataFrame) -> str:
    """SHA-256 (first 16 hex digits) of the panel's dates, columns and values."""
    h = hashlib.sha256()
    h.update(",".join(map(str, panel.columns)).encode())
    h.update(pd.util.hash_pandas_object(panel.sort_index(axis=1), index=True).to_numpy().tobytes())
    return h.hexdigest()[:16]


def content_digest(*parts: pd.Series | pd.DataFrame | str) -> str:
    """Full SHA-256 of pandas objects (names, dates and values, by pandas' own hashing) and strings, in order.

    What a cached result is keyed by (:mod:`training.thesis.report_cache`,
    :mod:`training.thesis.leadlag_store`): equal only for the same inputs.
    """
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, str):
            h.update(part.encode())
        else:
            frame = part.to_frame() if isinstance(part, pd.Series) else part
            h.update("\x1f".join(map(str, frame.columns)).encode())
            h.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
        h.update(b"\x1e")
    return h.hexdigest()


def coverage(panel: pd.DataFrame) -> pd.DataFrame:
    """Per series: first and last date, observation count and longest gap in calendar days."""
    rows = []
    for col in panel.columns:
        s = panel[col].dropna()
        if s.empty:
            rows.append({"series": col, "first": None, "last": None, "rows": 0, "max_gap_days": None})
            continue
        gaps = s.index.to_series().diff().dt.days
        rows.append(
            {
                "series": col,
                "first": s.index[0].date().isoformat(),
                "last": s.index[-1].date().isoformat(),
                "rows": int(len(s)),
                "max_gap_days": int(gaps.max()) if len(s) > 1 else 0,
            }
        )
    return pd.DataFrame(rows)


def recipe_fingerprint(estimator: Any) -> str:
    """SHA-256 (first 16 hex digits) of an unfitted estimator's class and parameters: its *recipe*.

    Two models with the same recipe differ only by the data they were fitted on (the
    champion gate promotes such a model as a refresh when its data are newer). The class
    is part of it, so a subclass with other behaviour never passes for the same recipe.
    """
    params = {k: dict(sorted(v.items())) if isinstance(v, dict) else v
              for k, v in sorted(estimator.get_params(deep=False).items())}
    text = f"{type(estimator).__module__}.{type(estimator).__qualname__}{params!r}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]
