"""Honest levels: is the forecast's average right, and would shrinking it help out of sample?

BTC's historical drift makes a forecaster's output positive almost every day; when BTC then
falls for months, the ranking can stay sensible while the level loses to the zero forecast.
:func:`level_table` puts the mean forecast next to the mean realised return per fold and per
regime. :func:`nested_shrinkage` asks whether pulling the forecast towards an anchor (zero,
the expanding mean, or the regime-conditional mean), ``anchor + lam * (forecast - anchor)``,
lowers the out-of-sample squared error, with ``(anchor, lam)`` chosen for each fold on earlier
folds only (errors realised before the fold's cut-off), so the answer is itself out of sample.
:func:`level_study` runs it for each family of anchors and scores it on the walk-forward before
the sealed segment (the evidence) and on the sealed segment; :func:`p_up_by_regime` asks whether
P(up) is calibrated on each regime's days.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.design import Design
from training.evaluation.distributions import DistributionForecasts, scored_rows
from training.evaluation.probabilistic import brier
from training.evaluation.walk_forward import MODEL, WalkForwardResult

ANCHORS = ("zero", "expanding_mean")
#: Families of anchors :func:`level_study` compares: shrink towards no change or the drift, or
#: blend with the regime-conditional mean (the ``regime_mean`` baseline).
STUDY_ANCHORS: dict[str, tuple[str, ...]] = {"zero or expanding mean": ANCHORS, "regime mean": ("regime_mean",)}
LAMBDAS: tuple[float, ...] = tuple(np.round(np.linspace(0.0, 1.0, 11), 2))


def level_table(result: WalkForwardResult) -> pd.DataFrame:
    """Mean forecast vs mean realised per horizon, overall, per fold and per regime (realised rows).

    Columns: ``horizon``, ``by`` (all / fold / regime), ``group``, ``n``, ``mean_forecast``,
    ``mean_realized``, ``mean_expanding_mean``, ``share_forecast_positive``, ``mse_model``,
    ``mse_zero``, ``mse_expanding_mean``.
    """
    rows = []
    for h, frame in result.predictions.items():
        scored = frame.dropna(subset=["realized", MODEL])
        splits = [("all", [("all", scored)]), ("fold", list(scored.groupby("fold"))),
                  ("regime", list(scored.groupby("regime")) if "regime" in scored else [])]
        for by, parts in splits:
            for group, part in parts:
                y, f = part["realized"], part[MODEL]
                bench = part["expanding_mean"].fillna(0.0)
                rows.append({"horizon": h, "by": by, "group": str(int(group)) if by == "fold" else str(group),
                             "n": len(part), "mean_forecast": float(f.mean()), "mean_realized": float(y.mean()),
                             "mean_expanding_mean": float(bench.mean()),
                             "share_forecast_positive": float((f > 0).mean()),
                             "mse_model": float(((y - f) ** 2).mean()), "mse_zero": float((y ** 2).mean()),
                             "mse_expanding_mean": float(((y - bench) ** 2).mean())})
    return pd.DataFrame(rows)


def _best(y: np.ndarray, f: np.ndarray, anchors: dict[str, np.ndarray], lambdas: tuple[float, ...]) -> tuple[str, float]:
    best, best_mse = ("none", 1.0), float(np.mean((y - f) ** 2))
    for name, a in anchors.items():
        for lam in lambdas:
            mse = float(np.mean((y - a - lam * (f - a)) ** 2))
            if mse < best_mse - 1e-15:
                best, best_mse = (name, float(lam)), mse
    return best


def nested_shrinkage(
    result: WalkForwardResult,
    design: Design,
    lambdas: tuple[float, ...] = LAMBDAS,
    min_rows: int = 50,
    anchors: tuple[str, ...] = ANCHORS,
) -> tuple[pd.DataFrame, dict[int, pd.Series]]:
    """Shrinkage of the level chosen per fold on earlier folds, and its out-of-sample effect.

    Parameters
    ----------
    result : WalkForwardResult
    design : Design
        Gives each test date's row, hence when its target became known.
    lambdas : tuple of float
        Candidate weights on the forecast (1 = no shrinkage).
    min_rows : int
        Fewest earlier realised errors to choose from; with fewer a fold is not shrunk.
    anchors : tuple of str
        Prediction columns to shrink towards (those missing are skipped).

    Returns
    -------
    (summary, shrunk)
        ``summary``: per horizon ``n``, ``mse_model``, ``mse_shrunk``, ``r2_model`` and
        ``r2_shrunk`` (against the expanding mean), ``helps`` (the nested shrinkage lowered
        the squared error) and ``choices`` (``fold:anchor*lam`` per fold). ``shrunk``:
        the nested-shrunk forecasts per horizon.
    """
    pos = pd.Series(np.arange(len(design.index)), index=design.index)
    rows, shrunk = [], {}
    for h, pred in result.predictions.items():
        known = pos.reindex(pred.index).to_numpy() + h
        y_all, f_all = pred["realized"].to_numpy(dtype=float), pred[MODEL].to_numpy(dtype=float)
        targets = {a: pred[a].fillna(0.0).to_numpy(dtype=float) for a in anchors if a in pred}
        out = f_all.copy()
        choices = []
        fold = pred["fold"].to_numpy()
        for f in result.folds:
            test = fold == f.number
            cal = (fold < f.number) & (known < f.cutoff) & np.isfinite(y_all) & np.isfinite(f_all)
            if not test.any():
                continue
            name, lam = ("none", 1.0)
            if cal.sum() >= min_rows:
                name, lam = _best(y_all[cal], f_all[cal], {a: v[cal] for a, v in targets.items()}, lambdas)
            if name != "none":
                a = targets[name][test]
                out[test] = a + lam * (f_all[test] - a)
            choices.append(f"{f.number}:{name}*{lam:g}")
        shrunk[h] = pd.Series(out, index=pred.index, name="shrunk")
        ok = np.isfinite(y_all) & np.isfinite(f_all)
        y, bench = y_all[ok], pred["expanding_mean"].fillna(0.0).to_numpy(dtype=float)[ok]
        mse = lambda g: float(np.mean((y - g[ok]) ** 2))  # noqa: E731
        sse_b = float(np.mean((y - bench) ** 2))
        rows.append({"horizon": h, "n": int(ok.sum()), "mse_model": mse(f_all), "mse_shrunk": mse(out),
                     "r2_model": 1 - mse(f_all) / sse_b, "r2_shrunk": 1 - mse(out) / sse_b,
                     "helps": bool(mse(out) < mse(f_all)), "choices": " ".join(choices)})
    return pd.DataFrame(rows), shrunk


def level_study(
    result: WalkForwardResult, design: Design, sealed: pd.Timestamp | None, lambdas: tuple[float, ...] = LAMBDAS,
) -> pd.DataFrame:
    """Should the level depend on the regime, or be shrunk? Nested choices, scored per segment.

    For each family of :data:`STUDY_ANCHORS` the level is moved towards its anchors as in
    :func:`nested_shrinkage` (each fold's choice from earlier folds' realised errors only),
    then scored on the walk-forward before ``sealed`` (the evidence a decision rests on) and on
    the sealed segment (to confirm, never to choose).

    Returns
    -------
    pd.DataFrame
        Per horizon, candidate (``anchors``) and ``segment`` (``before sealed``, ``sealed``):
        ``n``, ``mse_model``, ``mse_candidate``, ``r2_model`` and ``r2_candidate`` (against the
        expanding mean) and ``helps``.
    """
    rows = []
    for name, anchors in STUDY_ANCHORS.items():
        if not any(a in frame for frame in result.predictions.values() for a in anchors):
            continue
        _, moved = nested_shrinkage(result, design, lambdas, anchors=anchors)
        for h, pred in result.predictions.items():
            y, f, cand = pred["realized"], pred[MODEL], moved[h]
            bench = pred["expanding_mean"].fillna(0.0)
            ok = y.notna() & f.notna()
            late = pred.index >= sealed if sealed is not None else np.zeros(len(pred), dtype=bool)
            for segment, mask in (("before sealed", ok & ~late), ("sealed", ok & late)):
                if not mask.any():
                    continue
                mse = lambda g: float(((y[mask] - g[mask]) ** 2).mean())  # noqa: E731
                rows.append({"horizon": h, "anchors": name, "segment": segment, "n": int(mask.sum()),
                             "mse_model": mse(f), "mse_candidate": mse(cand), "r2_model": 1 - mse(f) / mse(bench),
                             "r2_candidate": 1 - mse(cand) / mse(bench), "helps": mse(cand) < mse(f)})
    return pd.DataFrame(rows)


def p_up_by_regime(forecasts: dict[int, DistributionForecasts], sealed: pd.Timestamp | None = None) -> pd.DataFrame:
    """Is P(up) calibrated on each regime's days? Mean P(up) against the share of rises, per regime.

    Parameters
    ----------
    forecasts : dict of int -> DistributionForecasts
        The walk-forward's out-of-sample distributions (``regime`` column per date).
    sealed : pd.Timestamp, optional
        First date of the sealed segment: only earlier dates are scored.

    Returns
    -------
    pd.DataFrame
        Per horizon and ``regime`` (``all`` first): ``n``, ``mean_p_up``, ``share_up``, ``gap``
        (mean P(up) minus the share of rises), ``brier``, ``base_brier`` (the expanding base
        rate) and ``brier_skill``.
    """
    rows = []
    for h, fc in forecasts.items():
        frame = fc.frame[scored_rows(fc)]
        if sealed is not None:
            frame = frame[frame.index < sealed]
        groups = [("all", frame)] + (list(frame.groupby("regime")) if "regime" in frame else [])
        for regime, part in groups:
            if part.empty:
                continue
            up = (part["realized"] > 0).to_numpy(dtype=float)
            score, base = brier(part["p_up"], up).mean(), brier(part["base_p_up"], up).mean()
            rows.append({"horizon": h, "regime": str(regime), "n": len(part), "mean_p_up": float(part["p_up"].mean()),
                         "share_up": float(up.mean()), "gap": float(part["p_up"].mean() - up.mean()),
                         "brier": float(score), "base_brier": float(base), "brier_skill": float(1 - score / base)})
    return pd.DataFrame(rows)
