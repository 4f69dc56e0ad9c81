"""The champion as the gate sees it: what its run recorded, and its forecasts on a candidate's data."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import pandas as pd
from sklearn.base import clone

from features.errors import ModelError
from training.config import Config
from training.tracking.registry import current_version

logger = logging.getLogger(__name__)

#: Walk-forward settings that decide the folds: forecasts logged under other values are not reused.
FOLD_KEYS = ("initial_train", "step", "window")


@dataclass(frozen=True)
class ChampionRecord:
    """The current champion version and what its training run recorded.

    Attributes
    ----------
    name, version, run_id : str
        Registered model, version and the run that trained it.
    data_last : str or None
        Last business day of its data (run tag ``data.last``).
    fingerprint : str or None
        Content hash of its panel (``data.fingerprint``).
    recipe : str or None
        Hash of its unfitted chain (``model.recipe``; None for runs from before it was recorded).
    source : str or None
        Its data source (``data.source``: ``demo``, ``csv`` or ``live``).
    params : dict of str -> str
        The run's logged parameters (the flattened config).
    """

    name: str
    version: str
    run_id: str
    data_last: str | None
    fingerprint: str | None
    recipe: str | None
    source: str | None = None
    params: dict[str, str] = field(default_factory=dict)


def read_champion(name: str) -> ChampionRecord | None:
    """The record of ``name@champion``, or None when there is no champion."""
    import mlflow

    mv = current_version(name, "champion")
    if mv is None:
        return None
    run = mlflow.get_run(mv.run_id)
    tags = run.data.tags
    return ChampionRecord(name, str(mv.version), mv.run_id, tags.get("data.last"), tags.get("data.fingerprint"),
                          tags.get("model.recipe"), tags.get("data.source"), dict(run.data.params))


def same_folds(champion: ChampionRecord, cfg: Config) -> bool:
    """Whether ``cfg``'s walk-forward settings give the champion's folds."""
    return all(champion.params.get(f"evaluation.{k}") == str(getattr(cfg.evaluation, k)) for k in FOLD_KEYS)


def with_champion_folds(champion: ChampionRecord, cfg: Config) -> Config:
    """``cfg`` with the champion's walk-forward settings (its own where the champion's run did not log one)."""
    ev = cfg.evaluation
    return cfg.replace(evaluation={k: type(getattr(ev, k))(champion.params.get(f"evaluation.{k}", getattr(ev, k)))
                                   for k in FOLD_KEYS})


def logged_forecasts(run_id: str) -> dict[int, pd.DataFrame] | None:
    """The walk-forward forecasts a run logged: per horizon, ``realized`` and ``model`` by date (None if unreadable)."""
    from training.tracking.runs import read_run_csv

    try:
        frame = read_run_csv(run_id, "evaluation/oos_predictions.csv")
    except ModelError:
        return None
    if frame.empty or not {"horizon", "date", "realized", "model"} <= set(frame.columns):
        return None
    return {int(h): pd.DataFrame({"realized": part["realized"].to_numpy(dtype=float),
                                  "model": part["model"].to_numpy(dtype=float)},
                                 index=pd.DatetimeIndex(pd.to_datetime(part["date"]), name="date"))
            for h, part in frame.groupby("horizon")}


def champion_forecasts(champion: ChampionRecord, cfg: Config, panel: pd.DataFrame,
                       fingerprint: str) -> tuple[dict[int, pd.DataFrame], str]:
    """The champion's walk-forward forecasts on the candidate's data with ``cfg``'s folds.

    Its logged out-of-sample forecasts are reused when it was trained on the same data
    with the same folds; otherwise its own settings (the unfitted clone of its chain) are
    refit fold by fold on ``panel`` with ``cfg``'s folds, model only.

    Parameters
    ----------
    champion : ChampionRecord
    cfg : Config
        The candidate's configuration (its walk-forward settings; see :func:`with_champion_folds`).
    panel : pd.DataFrame
        The candidate's raw panel.
    fingerprint : str
        Its content hash.

    Returns
    -------
    forecasts : dict of int -> pd.DataFrame
        Per horizon, the realised return (``realized``) and the champion's forecast (``model``) by date.
    how : str
        How they were obtained (for the decision message).
    """
    from training.evaluation.walk_forward import run_walk_forward
    from training.tracking.model_io import load_pyfunc, unwrap

    ev = cfg.evaluation
    if champion.fingerprint == fingerprint and same_folds(champion, cfg):
        logged = logged_forecasts(champion.run_id)
        if logged is not None:
            return logged, "its logged walk-forward forecasts (same data and folds)"
    pipeline, _ = unwrap(load_pyfunc(f"models:/{champion.name}/{champion.version}"))
    template = clone(pipeline)
    design = template.make_design(panel)
    result = run_walk_forward(design, template, ev.initial_train, ev.step, ev.window, baselines=False,
                              n_jobs=ev.n_jobs)
    return ({h: frame[["realized", "model"]] for h, frame in result.predictions.items()},
            "re-evaluated with its own settings on this data and folds")
