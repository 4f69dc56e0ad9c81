"""The champion gate: a new model replaces the champion only if it scores higher.

Rule (documented in the README): the gate score is the model's mean walk-forward
Spearman IC over its horizons. Both models are scored *on this job's data and folds*: the
champion's logged score is reused when it was evaluated on the same data and folds,
otherwise it is re-evaluated (its own settings, refit fold by fold). A new version
becomes ``champion`` when there is no champion, when ``--force-promote`` is given, when
its score is strictly higher, or when it ties and the champion was trained on other data
(same skill, fresher data). Otherwise it gets the ``challenger`` alias.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from training.config import Config

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class GateDecision:
    """Whether to promote, the two scores compared and why."""

    promote: bool
    new_score: float
    champion_score: float | None
    reason: str


def gate_score(scores: pd.DataFrame) -> float:
    """Mean walk-forward IC of the model over horizons (overall rows only)."""
    rows = scores[(scores.forecaster == "model") & (scores.regime == "all")]
    return float(np.nanmean(rows["ic"])) if len(rows) else float("nan")


def _champion_score(cfg: Config, champion: Any, fingerprint: str, panel: pd.DataFrame) -> tuple[float, str, bool]:
    """The champion's gate score on this job's data and folds, how it was obtained, and whether its data differ."""
    import mlflow

    from training.evaluation.scores import score_table
    from training.evaluation.walk_forward import run_walk_forward
    from training.tracking.model_io import load_pyfunc, unwrap

    run = mlflow.get_run(champion.run_id)
    same_data = run.data.tags.get("data.fingerprint") == fingerprint
    ev = cfg.evaluation
    same_folds = all(
        run.data.params.get(f"evaluation.{k}") == str(getattr(ev, k)) for k in ("initial_train", "step", "window")
    )
    if same_data and same_folds and "gate_score" in run.data.metrics:
        return float(run.data.metrics["gate_score"]), "logged score on the same data and folds", not same_data
    pipeline, _ = unwrap(load_pyfunc(f"models:/{champion.name}/{champion.version}"))
    template = clone(pipeline)
    design = template.make_design(panel)
    result = run_walk_forward(design, template, ev.initial_train, ev.step, ev.window, baselines=False)
    return gate_score(score_table(result, n_boot=0)), "re-evaluated on this job's data and folds", not same_data


def decide_promotion(
    cfg: Config, scores: pd.DataFrame, fingerprint: str, champion: Any | None, panel: pd.DataFrame, force: bool = False
) -> GateDecision:
    """Apply the gate rule (see module docstring)."""
    new = gate_score(scores)
    if force:
        return GateDecision(True, new, None, "promotion forced (--force-promote)")
    if champion is None:
        return GateDecision(True, new, None, "no champion yet")
    old, how, fresher = _champion_score(cfg, champion, fingerprint, panel)
    if np.isfinite(new) and (not np.isfinite(old) or new > old):
        return GateDecision(True, new, old, f"mean IC {new:.3f} beats champion v{champion.version} {old:.3f} ({how})")
    if np.isfinite(new) and new == old and fresher:
        return GateDecision(True, new, old, f"mean IC {new:.3f} ties champion v{champion.version} ({how}); "
                                            "promoted because it was trained on newer data")
    return GateDecision(
        False, new, old, f"mean IC {new:.3f} does not beat champion v{champion.version} {old:.3f} ({how}); registered as challenger"
    )
