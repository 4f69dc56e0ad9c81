"""The regime-comparison job: data before the sealed segment, the comparison, its MLflow run."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd

from features.design import Design
from features.errors import DataError
from features.sources import load_panel
from training.config import Config
from training.display.data_line import data_line
from training.jobs.train import make_template

#: Final business days left out of every comparison (the sealed test segment, about two years).
DEFAULT_SEALED_DAYS = 504


def comparison_data(cfg: Config, sealed_days: int, panel: pd.DataFrame | None = None) -> tuple[Design, str]:
    """The design to compare regime models on (the last ``sealed_days`` business days cut off) and a description."""
    panel = load_panel(cfg.data) if panel is None else panel
    template = make_template(cfg)
    full = template.make_design(panel)
    if sealed_days:
        if sealed_days >= len(full.index):
            raise DataError(f"`--sealed-days {sealed_days}` leaves no data to compare on ({len(full.index)} business days)")
        cut = full.index[-sealed_days]
        panel = panel.loc[panel.index < cut]
    ev = cfg.evaluation
    design = template.make_design(panel, min_rows=ev.initial_train + ev.step)
    rows = design.index[design.first_complete():]
    note = f"regime models compared on feature rows {rows[0]:%Y-%m-%d} → {rows[-1]:%Y-%m-%d}"
    if sealed_days:
        note += f"; the last {sealed_days} business days (from {full.index[-sealed_days]:%Y-%m-%d}) left out as the sealed test segment"
    return design, data_line(cfg.data, panel.index, note)


def compare_before_sealed(cfg: Config, panel: pd.DataFrame, sealed_days: int = DEFAULT_SEALED_DAYS) -> tuple[pd.DataFrame, str]:
    """The default comparison (HMMs with 2, 3 and 4 states, the configured covariance) before the sealed segment."""
    from training.evaluation.folds import walk_forward_folds
    from training.evaluation.regime_selection import Candidate, compare_regime_models

    design, description = comparison_data(cfg, sealed_days, panel)
    ev = cfg.evaluation
    folds = walk_forward_folds(len(design.index), design.first_complete(), ev.initial_train, ev.step, ev.window)
    candidates = [Candidate("hmm", k, cfg.model.covariance_type) for k in (2, 3, 4)]
    return compare_regime_models(design, make_template(cfg), folds, candidates), description


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
