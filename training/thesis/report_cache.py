"""Figures and SHAP values a training run computes once and ``regime report`` reuses when it would compute the same.

A reused figure is keyed by what its pixels depend on: a SHA-256 fingerprint of the data it
draws and :func:`render_key` (matplotlib's version and the font it draws text in); the SHAP
values of the run's model by a fingerprint of the feature rows they explain. The keys are in
the run's ``evaluation/report_cache_keys.json``. The report reuses an artifact only when its
key equals the one of what it has now, else it computes it as before. (The lead-lag scan has
its own key: :mod:`training.thesis.leadlag_store`.)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from training.tracking.fingerprint import content_digest
from training.tracking.runs import downloaded


def _keys(run_id: str) -> dict[str, Any]:
    """The run's ``report_cache_keys.json`` (raises MlflowException/OSError/ValueError when it has none)."""
    with downloaded(run_id, CACHE_KEYS) as path:
        return json.loads(path.read_text(encoding="utf-8"))


#: The run's keys of the figures it drew for the report (figure artifact path -> key).
CACHE_KEYS = "evaluation/report_cache_keys.json"


def render_key() -> dict[str, str]:
    """What a figure's pixels depend on beyond its data: matplotlib's version and the font it draws text in."""
    import matplotlib
    from matplotlib.font_manager import FontProperties, findfont

    return {"matplotlib": matplotlib.__version__, "font": Path(findfont(FontProperties())).name}


def explanation_digest(expl: Any) -> str:
    """SHA-256 of everything an :class:`~models.explain.Explanation` holds (values, features, base, forecast)."""
    return content_digest(f"{expl.horizon}|{float(expl.base_value).hex()}", expl.values, expl.features, expl.forecast)


def shap_summary_key(expl: Any) -> dict[str, Any]:
    """The key of the SHAP summary figure of ``expl`` (:func:`training.display.plots.shap_summary`)."""
    return {"explanation": explanation_digest(expl), **render_key()}


def shap_summary_artifact(horizon: int) -> str:
    """Where a training run logs the SHAP summary figure of ``horizon``."""
    return f"evaluation/shap_summary_{horizon}d.png"


def logged_figure(run_id: str, artifact: str, key: dict[str, Any]) -> bytes | None:
    """The PNG bytes of ``artifact`` when the run logged it with ``key`` (None otherwise: draw it now)."""
    from mlflow.exceptions import MlflowException

    try:
        if _keys(run_id).get(artifact) != key:
            return None
        with downloaded(run_id, artifact) as path:
            return path.read_bytes()
    except (MlflowException, OSError, ValueError):
        return None


def shap_values_artifact(horizon: int) -> str:
    """Where a training run logs the SHAP values of its ``horizon`` forecaster on every complete row."""
    return f"evaluation/shap_values_{horizon}d.parquet"


def explanation_key(features: pd.DataFrame, horizon: int, base_value: float | None = None) -> dict[str, Any]:
    """The key of SHAP values: horizon and a fingerprint of the feature rows explained (and the base value, when known)."""
    key: dict[str, Any] = {"horizon": int(horizon), "features": content_digest(features)}
    return key if base_value is None else {**key, "base": float(base_value).hex()}


def write_explanation(expl: Any, folder: Path) -> dict[str, Any]:
    """Write the SHAP values of ``expl`` (an explanation of every complete row) into ``folder``; returns their key."""
    artifact = shap_values_artifact(expl.horizon)
    expl.values.to_parquet(folder / Path(artifact).name)
    return {artifact: explanation_key(expl.features, expl.horizon, expl.base_value)}


def logged_explanation(run_id: str, pipeline: Any, design: Any, horizon: int) -> Any:
    """:func:`models.explain.explain_pipeline` of the run's model on ``design`` from the SHAP values the run
    logged, when they explain the same feature rows; None otherwise (compute them)."""
    from mlflow.exceptions import MlflowException

    from models.explain import Explanation, explained_rows

    if horizon not in pipeline.forecasters_:
        return None
    X = explained_rows(pipeline, design)
    if X.empty:
        return None
    artifact = shap_values_artifact(horizon)
    try:
        logged = _keys(run_id).get(artifact)
        if logged is None or {k: logged.get(k) for k in ("horizon", "features")} != explanation_key(X, horizon):
            return None
        with downloaded(run_id, artifact) as path:
            values = pd.read_parquet(path)
    except (MlflowException, OSError, ValueError):
        return None
    if not (values.index.equals(X.index) and values.columns.equals(X.columns)):
        return None
    values.index, values.columns = X.index, X.columns  # as explain_pipeline labels them (parquet drops the freq)
    forecast = pd.Series(pipeline.forecasters_[horizon].predict(X), index=X.index)
    return Explanation(horizon, values, X, float.fromhex(logged["base"]), forecast)


#: The regime timeline as the report draws it (walk-forward labels, no title).
TIMELINE_ARTIFACT = "evaluation/report_timeline.png"
_TIMELINE_SERIES = ("btc_usd", "silver_usd", "gold_usd")


def timeline_key(aligned: pd.DataFrame, labels: pd.Series) -> dict[str, Any]:
    """The key of :func:`training.display.plots.regime_timeline` of ``labels``: the prices it draws
    (each series over the labelled dates) and the labels, with :func:`render_key`."""
    labels = labels.dropna()
    prices = (aligned[col].loc[labels.index[0]:labels.index[-1]] for col in _TIMELINE_SERIES)
    return {"timeline": content_digest(labels.astype(str), *prices), **render_key()}


#: The fan chart of the latest date's forecast distribution (:func:`training.display.plots.fan_chart`).
FAN_ARTIFACT = "evaluation/fan_chart_latest.png"


def fan_key(btc: pd.Series, date: pd.Timestamp, quantiles: dict[int, pd.Series], history: int = 252) -> dict[str, Any]:
    """The key of :func:`training.display.plots.fan_chart`: the date, the prices it draws and the quantiles."""
    past = btc.loc[:date].iloc[-history:]
    parts = [part for horizon in sorted(quantiles) for part in (f"{horizon}", quantiles[horizon])]
    return {"fan": content_digest(f"{date:%Y-%m-%d}|{history}", past, *parts), **render_key()}
