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
    params : dict of str -> str
        The run's logged parameters (the flattened config).
    """

    name: str
    version: str
    run_id: str
    data_last: str | None
    fingerprint: str | None
    recipe: str | None
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
                          tags.get("model.recipe"), dict(run.data.params))


def _logged_forecasts(run_id: str) -> dict[int, pd.Series] | None:
    from training.tracking.runs import read_run_csv

    try:
        frame = read_run_csv(run_id, "evaluation/oos_predictions.csv")
    except ModelError:
        return None
    if frame.empty or not {"horizon", "date", "model"} <= set(frame.columns):
        return None
    return {int(h): pd.Series(part["model"].to_numpy(dtype=float), index=pd.DatetimeIndex(pd.to_datetime(part["date"])))
            for h, part in frame.groupby("horizon")}


def champion_forecasts(champion: ChampionRecord, cfg: Config, panel: pd.DataFrame,
                       fingerprint: str) -> tuple[dict[int, pd.Series], str]:
    """The champion's walk-forward forecasts on the candidate's data and folds.

    Its logged out-of-sample forecasts are reused when it was trained on the same data
    with the same folds; otherwise its own settings (the unfitted clone of its chain) are
    refit fold by fold on ``panel`` with the candidate's folds, model only.

    Parameters
    ----------
    champion : ChampionRecord
    cfg : Config
        The candidate's configuration (its walk-forward settings).
    panel : pd.DataFrame
        The candidate's raw panel.
    fingerprint : str
        Its content hash.

    Returns
    -------
    forecasts : dict of int -> pd.Series
        The champion's forecasts per horizon, indexed by date.
    how : str
        How they were obtained (for the decision message).
    """
    from training.evaluation.walk_forward import run_walk_forward
    from training.tracking.model_io import load_pyfunc, unwrap

    ev = cfg.evaluation
    same_folds = all(champion.params.get(f"evaluation.{k}") == str(getattr(ev, k)) for k in FOLD_KEYS)
    if champion.fingerprint == fingerprint and same_folds:
        logged = _logged_forecasts(champion.run_id)
        if logged is not None:
            return logged, "its logged walk-forward forecasts (same data and folds)"
    pipeline, _ = unwrap(load_pyfunc(f"models:/{champion.name}/{champion.version}"))
    template = clone(pipeline)
    design = template.make_design(panel)
    result = run_walk_forward(design, template, ev.initial_train, ev.step, ev.window, baselines=False,
                              n_jobs=ev.n_jobs)
    return ({h: frame["model"] for h, frame in result.predictions.items()},
            "re-evaluated with its own settings on this data and folds")
