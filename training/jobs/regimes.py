"""The regime-comparison job: data before the sealed segment, the comparison, its MLflow run."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd

from features.design import Design
from features.sources import load_panel
from training.config import Config
from training.display.data_line import data_line
from training.evaluation.sealed import sealed_start
from training.jobs.train import make_template


def comparison_data(cfg: Config, panel: pd.DataFrame | None = None, origin: str = "") -> tuple[Design, str]:
    """The design to compare regime models on (the panel before the sealed segment) and its data line.

    The sealed segment is ``cfg.evaluation.sealed_days`` (:func:`training.evaluation.sealed.sealed_start`):
    the same segment that tuning never sees and the champion gate judges on. ``origin`` (who chose
    the data, e.g. the champion) opens the data line's note.
    """
    panel = load_panel(cfg.data) if panel is None else panel
    template = make_template(cfg)
    full = template.make_design(panel)
    start = sealed_start(full, cfg)
    if start is not None:
        panel = panel.loc[panel.index < start]
    ev = cfg.evaluation
    design = template.make_design(panel, min_rows=ev.initial_train + ev.step)
    rows = design.index[design.first_complete():]
    note = (f"{origin}; " if origin else "") + f"regime models compared on feature rows {rows[0]:%Y-%m-%d} → {rows[-1]:%Y-%m-%d}"
    if start is not None:
        note += f"; the sealed segment from {start:%Y-%m-%d} ({ev.sealed_days} business days) left out"
    return design, data_line(cfg.data, panel.index, note)


def compare_before_sealed(cfg: Config, panel: pd.DataFrame | None = None, candidates: list | None = None,
                          progress=None, forecast: bool = False, truth: pd.Series | None = None) -> tuple[pd.DataFrame, str]:
    """Compare regime models before the sealed segment (default: HMMs with 3, 4 and 5 states, free and anchored)."""
    from training.evaluation.folds import walk_forward_folds
    from training.evaluation.regime_selection import Candidate, compare_regime_models

    design, description = comparison_data(cfg, panel)
    ev = cfg.evaluation
    folds = walk_forward_folds(len(design.index), design.first_complete(), ev.initial_train, ev.step, ev.window)
    candidates = candidates or [Candidate(k, cfg.model.covariance_type, a) for k in (3, 4, 5)
                                for a in (0.0, cfg.model.regime_anchor or 3000.0)]
    table = compare_regime_models(design, make_template(cfg), folds, candidates, progress=progress,
                                  forecast_folds=(ev.initial_train, ev.step, ev.window) if forecast else None,
                                  truth=truth)
    return table, description


def log_comparison(cfg: Config, table: pd.DataFrame, description: str, tracking_uri: str | None = None) -> str:
    """Log the comparison table as an MLflow run of the training experiment; returns the run id."""
    import mlflow

    from training.tracking.store import configure_tracking, ensure_experiment

    configure_tracking(tracking_uri or cfg.tracking.tracking_uri)
    experiment_id = ensure_experiment(cfg.tracking.experiment)
    with mlflow.start_run(experiment_id=experiment_id, run_name=f"regime-comparison-{cfg.data.source}") as run:
        mlflow.set_tags({"kind": "regime-comparison", "data.description": description[:5000]})
        for r in table.itertuples():
            key = r.candidate.replace(" ", "_").replace("(", "").replace(")", "")
            for col in ("oos_loglik", "seed_agreement", "wf_final_agreement", "refit_flip_rate", "mean_spell_days", "bic"):
                value = getattr(r, col)
                if pd.notna(value):
                    mlflow.log_metric(f"{key}.{col}", float(value))
        chosen = table[table.chosen]
        mlflow.set_tag("chosen", chosen.candidate.iloc[0] if len(chosen) else "none eligible")
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "regime_comparison.csv"
            table.to_csv(path, index=False)
            mlflow.log_artifact(str(path))
    return run.info.run_id
