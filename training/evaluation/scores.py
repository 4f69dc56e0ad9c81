"""Scores of a walk-forward run: every forecaster per horizon (and regime), DM tests, per fold."""

from __future__ import annotations

import numpy as np
import pandas as pd

from training.evaluation.metrics import (
    ForecastScore,
    diebold_mariano,
    hit_rate,
    score_forecast,
    spearman_ic,
)
from training.evaluation.walk_forward import BASELINES, MODEL, WalkForwardResult


def forecaster_columns(frame: pd.DataFrame) -> list[str]:
    """Names of the forecast columns of a prediction frame, the model first."""
    return [c for c in (MODEL, *BASELINES) if c in frame.columns]


def score_table(
    result: WalkForwardResult, n_boot: int = 500, by_regime: bool = False, random_state: int = 0
) -> pd.DataFrame:
    """Metrics of the model and every baseline, per horizon (and per regime).

    Rows where the target is not yet realised are left out. OOS R² is measured against
    the expanding mean, so that baseline's own R² is 0 by construction.
    """
    rows = []
    for h, frame in result.predictions.items():
        scored = frame.dropna(subset=["realized"])
        bench = scored["expanding_mean"].fillna(0.0)
        groups = [("all", scored.index)]
        if by_regime and "regime" in scored:
            groups += [(str(r), idx) for r, idx in scored.groupby("regime").groups.items()]
        for group, idx in groups:
            part = scored.loc[idx]
            for name in forecaster_columns(part):
                f = part[name].to_numpy(dtype=float)
                ok = np.isfinite(f)
                if ok.sum() < 3:
                    continue
                s: ForecastScore = score_forecast(
                    f[ok], part["realized"].to_numpy()[ok], bench.loc[idx].to_numpy()[ok], h,
                    n_boot=n_boot if group == "all" else 0, random_state=random_state,  # CIs for the overall rows
                )
                rows.append({"horizon": h, "regime": group, "forecaster": name, **s.__dict__})
    return pd.DataFrame(rows)


def diebold_mariano_table(result: WalkForwardResult, table: pd.DataFrame) -> pd.DataFrame:
    """DM test of the model against the best baseline (highest OOS R², other than the mean itself) per horizon."""
    out = []
    for h, frame in result.predictions.items():
        scored = frame.dropna(subset=["realized"])
        cand = table[(table.horizon == h) & (table.regime == "all") & (table.forecaster.isin(BASELINES))]
        cand = cand[cand.forecaster != "expanding_mean"] if len(cand) > 1 else cand
        if cand.empty:
            continue
        best = str(cand.sort_values("r2_oos", ascending=False).iloc[0]["forecaster"])
        part = scored[["realized", MODEL, best]].dropna()
        stat, p = diebold_mariano(part["realized"].to_numpy(), part[MODEL].to_numpy(), part[best].to_numpy(), h)
        out.append({"horizon": h, "best_baseline": best, "dm_stat": stat, "p_value": p})
    return pd.DataFrame(out)


def fold_scores(result: WalkForwardResult) -> pd.DataFrame:
    """Model IC and hit rate on each fold's test block, per horizon (rows with realised targets)."""
    rows = []
    for h, frame in result.predictions.items():
        scored = frame.dropna(subset=["realized", MODEL])
        for fold, part in scored.groupby("fold"):
            if len(part) < 3:
                continue
            f, y = part[MODEL].to_numpy(), part["realized"].to_numpy()
            rows.append({"horizon": h, "fold": int(fold), "test_start": part.index[0].date().isoformat(),
                         "n": len(part), "ic": spearman_ic(f, y), "hit_rate": hit_rate(f, y)})
    return pd.DataFrame(rows)
