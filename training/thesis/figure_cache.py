"""Figures a training run draws once and ``regime report`` reuses when it would draw the same pixels.

A reused figure is keyed by what its pixels depend on: a SHA-256 fingerprint of the data it
draws and :func:`render_key` (matplotlib's version and the font it draws text in). The report
reads a logged figure only when both equal what it has now, else it draws the figure itself.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

#: The run's keys of the figures it drew for the report (figure artifact path -> key).
FIGURE_KEYS = "evaluation/figure_keys.json"


def render_key() -> dict[str, str]:
    """What a figure's pixels depend on beyond its data: matplotlib's version and the font it draws text in."""
    import matplotlib
    from matplotlib.font_manager import FontProperties, findfont

    return {"matplotlib": matplotlib.__version__, "font": Path(findfont(FontProperties())).name}


def _frame_digest(h: Any, frame: pd.DataFrame) -> None:
    h.update("\x1f".join(map(str, frame.columns)).encode())
    h.update(np.ascontiguousarray(frame.index.asi8 if hasattr(frame.index, "asi8") else frame.index.to_numpy()).tobytes())
    h.update(np.ascontiguousarray(frame.to_numpy(dtype=np.float64)).tobytes())


def explanation_digest(expl: Any) -> str:
    """SHA-256 of everything an :class:`~models.explain.Explanation` holds (values, features, base, forecast)."""
    h = hashlib.sha256()
    h.update(f"{expl.horizon}|{float(expl.base_value).hex()}".encode())
    _frame_digest(h, expl.values)
    _frame_digest(h, expl.features)
    _frame_digest(h, expl.forecast.to_frame())
    return h.hexdigest()


def shap_summary_key(expl: Any) -> dict[str, Any]:
    """The key of the SHAP summary figure of ``expl`` (:func:`training.display.plots.shap_summary`)."""
    return {"explanation": explanation_digest(expl), **render_key()}


def shap_summary_artifact(horizon: int) -> str:
    """Where a training run logs the SHAP summary figure of ``horizon``."""
    return f"evaluation/shap_summary_{horizon}d.png"


def logged_figure(run_id: str, artifact: str, key: dict[str, Any]) -> bytes | None:
    """The PNG bytes of ``artifact`` when the run logged it with ``key`` (None otherwise: draw it now)."""
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        keys = json.loads(Path(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=FIGURE_KEYS))
                          .read_text(encoding="utf-8"))
        if keys.get(artifact) != key:
            return None
        return Path(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=artifact)).read_bytes()
    except (MlflowException, OSError, ValueError):
        return None


#: The regime timeline as the report draws it (walk-forward labels, no title).
TIMELINE_ARTIFACT = "evaluation/report_timeline.png"
_TIMELINE_SERIES = ("btc_usd", "silver_usd", "gold_usd")


def timeline_key(aligned: pd.DataFrame, labels: pd.Series) -> dict[str, Any]:
    """The key of :func:`training.display.plots.regime_timeline` of ``labels``: the prices it draws
    (each series over the labelled dates) and the labels, with :func:`render_key`."""
    labels = labels.dropna()
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(labels.index.asi8).tobytes())
    h.update("\x1f".join(map(str, labels)).encode())
    for col in _TIMELINE_SERIES:
        s = aligned[col].loc[labels.index[0]:labels.index[-1]]
        h.update(col.encode())
        h.update(np.ascontiguousarray(s.index.asi8).tobytes())
        h.update(np.ascontiguousarray(s.to_numpy(dtype=np.float64)).tobytes())
    return {"timeline": h.hexdigest(), **render_key()}


#: The fan chart of the latest date's forecast distribution (:func:`training.display.plots.fan_chart`).
FAN_ARTIFACT = "evaluation/fan_chart_latest.png"


def fan_key(btc: pd.Series, date: pd.Timestamp, quantiles: dict[int, pd.Series], history: int = 252) -> dict[str, Any]:
    """The key of :func:`training.display.plots.fan_chart`: the date, the prices it draws and the quantiles."""
    h = hashlib.sha256()
    past = btc.loc[:date].iloc[-history:]
    h.update(f"{date:%Y-%m-%d}|{history}".encode())
    h.update(np.ascontiguousarray(past.index.asi8).tobytes())
    h.update(np.ascontiguousarray(past.to_numpy(dtype=np.float64)).tobytes())
    for horizon in sorted(quantiles):
        q = quantiles[horizon]
        h.update(f"|{horizon}|".encode())
        h.update(np.ascontiguousarray(np.asarray(q.index, dtype=np.float64)).tobytes())
        h.update(np.ascontiguousarray(q.to_numpy(dtype=np.float64)).tobytes())
    return {"fan": h.hexdigest(), **render_key()}
