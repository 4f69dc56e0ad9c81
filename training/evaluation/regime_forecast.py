"""How good is the regime forecast? Brier and log scores against persistence and base rates.

For each test date t and horizon h the walk-forward holds the fold's forecast
P(regime at t+h | data to t) (columns ``p_<name>_<h>d``, :mod:`regime.forecast`). The
outcome is the out-of-sample label the tool shows at t+h (the filtered label of the fold
active then). Two references, both point-in-time:

* **persistence**: "the regime stays", probability one on today's label;
* **unconditional**: the frequencies of the fold's filtered labels on the dates up to t.

Log scores floor probabilities at :data:`~training.evaluation.probabilistic.LOG_SCORE_FLOOR`
(persistence is 0/1 and would otherwise score minus infinity on its first miss).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from regime.forecast import regime_forecast_name
from training.evaluation.probabilistic import (
    category_brier,
    category_log_loss,
    reliability,
    skill,
    skill_ci,
)
from training.evaluation.walk_forward import WalkForwardResult

FORECASTERS = ("model", "persistence", "unconditional")


def regime_names(regimes: pd.DataFrame, horizons: tuple[int, ...]) -> list[str]:
    """Regime names that have a forecast column at every horizon (display order of the columns)."""
    cols = set(regimes.columns)
    return [c[2:] for c in regimes.columns
            if c.startswith("p_") and all(regime_forecast_name(c[2:], h) in cols for h in horizons)]


def unconditional_frequencies(result: WalkForwardResult, names: list[str]) -> pd.DataFrame:
    """Per test date: the share of each name among the fold's filtered labels up to that date."""
    parts = []
    fold = result.regimes["fold"]
    for number, labels in result.fold_labels.items():
        labels = labels.dropna()
        counts = pd.DataFrame({n: (labels == n).astype(float) for n in names}, index=labels.index).cumsum()
        freq = counts.div(np.arange(1, len(labels) + 1), axis=0)
        test = fold.index[fold == number]
        parts.append(freq.reindex(test))
    return pd.concat(parts).reindex(result.regimes.index) if parts else pd.DataFrame(columns=names)


def regime_forecast_frames(result: WalkForwardResult, horizons: tuple[int, ...]) -> dict[int, dict[str, pd.DataFrame]]:
    """Per horizon: the outcome (``"outcome"``: index of the name at t+h, NaN if unknown) and each forecaster's probabilities."""
    regimes = result.regimes
    names = regime_names(regimes, horizons)
    code = regimes["regime"].map({n: i for i, n in enumerate(names)}).astype(float)
    base = unconditional_frequencies(result, names)
    persistence = pd.DataFrame({n: (regimes["regime"] == n).astype(float) for n in names}, index=regimes.index)
    persistence[regimes["regime"].isna()] = np.nan
    out = {}
    for h in horizons:
        model = regimes[[regime_forecast_name(n, h) for n in names]].set_axis(names, axis=1)
        out[h] = {"outcome": code.shift(-h).to_frame("outcome"), "model": model,
                  "persistence": persistence, "unconditional": base}
    return out


def regime_forecast_scores(
    result: WalkForwardResult, horizons: tuple[int, ...], n_boot: int = 500, random_state: int = 0
) -> pd.DataFrame:
    """Brier and log scores of the regime forecast and both references, per horizon.

    Rows: horizon x group (``all``; ``non-overlap``: every h-th date). Columns ``n``,
    ``brier_<forecaster>``, ``log_<forecaster>`` for model, persistence and unconditional,
    and the Brier skill of the model against each reference (``brier_skill_vs_<ref>``,
    with block-bootstrap 90% intervals on ``all``).
    """
    rows = []
    for h, frames in regime_forecast_frames(result, horizons).items():
        y = frames["outcome"]["outcome"].to_numpy()
        P = {k: frames[k].to_numpy(dtype=float) for k in FORECASTERS}
        ok = np.isfinite(y) & np.logical_and.reduce([np.isfinite(p).all(axis=1) for p in P.values()])
        sub = np.zeros(len(y), dtype=bool)
        sub[::h] = True
        for group, mask in (("all", ok), ("non-overlap", ok & sub)):
            if mask.sum() < 10:
                continue
            yo = y[mask].astype(int)
            row = {"horizon": h, "group": group, "n": int(mask.sum())}
            loss = {k: category_brier(p[mask], yo) for k, p in P.items()}
            for k, p in P.items():
                row[f"brier_{k}"] = float(loss[k].mean())
                row[f"log_{k}"] = float(category_log_loss(p[mask], yo).mean())
            boot = n_boot if group == "all" else 0
            for ref in ("persistence", "unconditional"):
                row[f"brier_skill_vs_{ref}"] = skill(loss["model"], loss[ref])
                lo, hi = skill_ci(loss["model"], loss[ref], max(h, 5), boot, random_state)
                row[f"brier_skill_vs_{ref}_lo"], row[f"brier_skill_vs_{ref}_hi"] = lo, hi
            rows.append(row)
    return pd.DataFrame(rows)


def regime_forecast_reliability(result: WalkForwardResult, horizons: tuple[int, ...], bins: int = 10) -> pd.DataFrame:
    """Reliability of the model's regime probabilities, pooled over names, per horizon (column ``horizon``)."""
    parts = []
    for h, frames in regime_forecast_frames(result, horizons).items():
        y = frames["outcome"]["outcome"].to_numpy()
        P = frames["model"].to_numpy(dtype=float)
        ok = np.isfinite(y) & np.isfinite(P).all(axis=1)
        onehot = np.eye(P.shape[1])[y[ok].astype(int)]
        parts.append(reliability(P[ok].ravel(), onehot.ravel(), bins).assign(horizon=h))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
