"""Return distributions in the walk-forward, and their scores against the unconditional one.

Each fold's distribution is the one its refitted chain stores
(:meth:`models.pipeline.RegimeForecastPipeline.return_distribution`: only targets realised
before the fold's cut-off), evaluated on the full grid of levels around the fold's
out-of-sample point forecasts, so every coverage, pinball, CRPS and Brier figure is out of
sample. The reference is the unconditional distribution: the expanding quantiles of
realised returns and the expanding base rate of positive returns, both point-in-time
(:func:`models.quantiles.expanding_quantiles`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.design import Design
from features.target import target_name
from models.pipeline import RegimeForecastPipeline
from models.quantiles import (
    BAND,
    GRID,
    OUTPUT_LEVELS,
    expanding_base_rate,
    expanding_quantiles,
)
from training.evaluation.probabilistic import (
    brier,
    covered,
    crps_from_quantiles,
    mean_ci,
    pinball,
    reliability,
    skill,
    skill_ci,
)
from training.evaluation.walk_forward import MODEL, WalkForwardResult


@dataclass
class DistributionForecasts:
    """Out-of-sample distribution forecasts of one horizon and their reference.

    Attributes
    ----------
    horizon : int
    frame : pd.DataFrame
        Indexed by test date: ``realized``, ``regime``, ``fold``, ``p_up`` and
        ``base_p_up`` (the expanding base rate).
    quantiles, base_quantiles : pd.DataFrame
        Forecast and reference quantiles on :data:`models.quantiles.GRID` (columns: levels).
    """

    horizon: int
    frame: pd.DataFrame
    quantiles: pd.DataFrame
    base_quantiles: pd.DataFrame


def walk_forward_distributions(
    result: WalkForwardResult,
    design: Design,
    template: RegimeForecastPipeline,
    points: dict[int, pd.Series] | None = None,
) -> dict[int, DistributionForecasts]:
    """Out-of-sample distribution forecasts of every test date, fold by fold.

    Parameters
    ----------
    result : WalkForwardResult
        Out-of-sample point forecasts (``predictions[h]["model"]``) and folds.
    design : Design
        The walk-forward's design (targets, BTC price).
    template : RegimeForecastPipeline
        The walk-forward's settings (horizons, embargo).
    points : dict of int -> pd.Series, optional
        Other centres per horizon, instead of the model's forecasts.
    """
    btc = design.aligned["btc_usd"]
    dists = {f.number: template.return_distribution(design, f.cutoff, f.train_start) for f in result.folds}
    vols: dict[int, pd.Series] = {}
    out = {}
    for h, pred in result.predictions.items():
        centre = points[h] if points is not None else pred[MODEL]
        frame = pred[["realized", "fold"]].assign(regime=pred["regime"] if "regime" in pred else None)
        q = pd.DataFrame(np.nan, index=pred.index, columns=list(GRID))
        p_up = pd.Series(np.nan, index=pred.index)
        for number, idx in pred.groupby("fold").indices.items():
            dist = dists[int(number)]
            vol = vols.setdefault(dist.window, dist.volatility(btc))
            q.iloc[idx] = dist.predict_quantiles(centre.iloc[idx], None, h, vol=vol).to_numpy()
            p_up.iloc[idx] = dist.predict_p_up(centre.iloc[idx], None, h, vol=vol).to_numpy()
        y = design.targets[target_name(h)]
        frame["p_up"] = p_up
        frame["base_p_up"] = expanding_base_rate(y, h).reindex(pred.index)
        out[h] = DistributionForecasts(h, frame, q, expanding_quantiles(y, h).reindex(pred.index))
    return out


def _groups(frame: pd.DataFrame, horizon: int) -> list[tuple[str, np.ndarray]]:
    """Row masks: all, each regime, and the non-overlapping subsample (every h-th row)."""
    n = len(frame)
    groups = [("all", np.ones(n, dtype=bool))]
    for name in sorted(frame["regime"].dropna().unique()):
        groups.append((str(name), (frame["regime"] == name).to_numpy()))
    sub = np.zeros(n, dtype=bool)
    sub[::horizon] = True
    groups.append(("non-overlap", sub))
    return groups


def scored_rows(fc: DistributionForecasts) -> np.ndarray:
    """Rows where the target is realised and both forecast and reference exist."""
    ok = fc.frame["realized"].notna() & fc.frame["p_up"].notna() & fc.frame["base_p_up"].notna()
    ok &= fc.quantiles.notna().all(axis=1) & fc.base_quantiles.notna().all(axis=1)
    return ok.to_numpy()


def distribution_scores(
    forecasts: dict[int, DistributionForecasts], n_boot: int = 500, random_state: int = 0
) -> pd.DataFrame:
    """Coverage, width, pinball, CRPS and Brier of the forecasts against the reference.

    One row per horizon and group (``all``, each regime, ``non-overlap``): ``n``,
    ``coverage`` of the 80% band (with a block-bootstrap 90% interval on ``all``),
    ``width`` (mean q90 - q10), ``pinball`` (mean over 10/50/90%), ``crps``, ``brier``
    (of P(up)), the same for the reference (``base_*``), and the skill scores
    ``crps_skill`` and ``brier_skill`` (with intervals on ``all``).
    """
    lo_i, hi_i = GRID.index(BAND[0]), GRID.index(BAND[1])
    out_i = [GRID.index(lv) for lv in OUTPUT_LEVELS]
    rows = []
    for h, fc in forecasts.items():
        ok = scored_rows(fc)
        frame = fc.frame[ok]
        y = frame["realized"].to_numpy(dtype=float)
        Q, B = fc.quantiles[ok].to_numpy(dtype=float), fc.base_quantiles[ok].to_numpy(dtype=float)
        up = (y > 0).astype(float)
        loss = {
            "coverage": covered(Q[:, lo_i], Q[:, hi_i], y), "base_coverage": covered(B[:, lo_i], B[:, hi_i], y),
            "width": Q[:, hi_i] - Q[:, lo_i], "base_width": B[:, hi_i] - B[:, lo_i],
            "pinball": pinball(Q[:, out_i], y, OUTPUT_LEVELS).mean(axis=1),
            "base_pinball": pinball(B[:, out_i], y, OUTPUT_LEVELS).mean(axis=1),
            "crps": crps_from_quantiles(Q, y, GRID), "base_crps": crps_from_quantiles(B, y, GRID),
            "brier": brier(frame["p_up"].to_numpy(dtype=float), up),
            "base_brier": brier(frame["base_p_up"].to_numpy(dtype=float), up),
        }
        block = max(h, 5)
        for group, mask in _groups(frame, h):
            if mask.sum() < 10:
                continue
            part = {k: v[mask] for k, v in loss.items()}
            boot = n_boot if group == "all" else 0
            row = {"horizon": h, "group": group, "n": int(mask.sum()),
                   **{k: float(v.mean()) for k, v in part.items()},
                   "crps_skill": skill(part["crps"], part["base_crps"]),
                   "brier_skill": skill(part["brier"], part["base_brier"])}
            row["coverage_lo"], row["coverage_hi"] = mean_ci(part["coverage"], block, boot, random_state)
            row["crps_skill_lo"], row["crps_skill_hi"] = skill_ci(part["crps"], part["base_crps"], block, boot, random_state)
            row["brier_skill_lo"], row["brier_skill_hi"] = skill_ci(part["brier"], part["base_brier"], block, boot,
                                                                    random_state)
            rows.append(row)
    return pd.DataFrame(rows)


def p_up_reliability(forecasts: dict[int, DistributionForecasts], bins: int = 10) -> pd.DataFrame:
    """:func:`~training.evaluation.probabilistic.reliability` of P(up) per horizon (column ``horizon``)."""
    parts = []
    for h, fc in forecasts.items():
        ok = scored_rows(fc)
        y = fc.frame["realized"][ok].to_numpy(dtype=float)
        parts.append(reliability(fc.frame["p_up"][ok].to_numpy(dtype=float), (y > 0).astype(float), bins)
                     .assign(horizon=h))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def quantile_calibration(forecasts: dict[int, DistributionForecasts]) -> pd.DataFrame:
    """Share of outcomes below each forecast quantile, per horizon and level (ideal: the level itself)."""
    rows = []
    for h, fc in forecasts.items():
        ok = scored_rows(fc)
        y = fc.frame["realized"][ok].to_numpy(dtype=float)
        for lv in GRID:
            rows.append({"horizon": h, "level": lv,
                         "observed": float(np.mean(y <= fc.quantiles[lv][ok].to_numpy(dtype=float))),
                         "base_observed": float(np.mean(y <= fc.base_quantiles[lv][ok].to_numpy(dtype=float)))})
    return pd.DataFrame(rows)


def fold_coverage(forecasts: dict[int, DistributionForecasts]) -> pd.DataFrame:
    """Coverage and mean width of the 80% band on each fold's test block (realised rows)."""
    rows = []
    for h, fc in forecasts.items():
        ok = scored_rows(fc)
        frame, Q = fc.frame[ok], fc.quantiles[ok]
        hit = covered(Q[BAND[0]].to_numpy(), Q[BAND[1]].to_numpy(), frame["realized"].to_numpy())
        for fold, idx in frame.groupby("fold").indices.items():
            rows.append({"horizon": h, "fold": int(fold), "test_start": frame.index[idx[0]].date().isoformat(),
                         "n": len(idx), "coverage": float(hit[idx].mean()),
                         "width": float((Q[BAND[1]].to_numpy() - Q[BAND[0]].to_numpy())[idx].mean())})
    return pd.DataFrame(rows)
