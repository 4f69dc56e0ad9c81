"""Honest levels: is the forecast's average right, and would shrinking it help out of sample?

BTC's historical drift makes a forecaster's output positive almost every day; when BTC then
falls for months, the ranking can stay sensible while the level loses to the zero forecast.
:func:`level_table` puts the mean forecast next to the mean realised return per fold and per
regime. :func:`nested_shrinkage` asks whether pulling the forecast towards an anchor (zero
or the expanding mean), ``anchor + lam * (forecast - anchor)``, lowers the out-of-sample
squared error, with ``(anchor, lam)`` chosen for each fold on earlier folds only (errors
realised before the fold's cut-off), so the answer is itself out of sample.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.design import Design
from training.evaluation.walk_forward import MODEL, WalkForwardResult

ANCHORS = ("zero", "expanding_mean")
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
        anchors = {a: pred[a].fillna(0.0).to_numpy(dtype=float) for a in ANCHORS if a in pred}
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
                name, lam = _best(y_all[cal], f_all[cal], {a: v[cal] for a, v in anchors.items()}, lambdas)
            if name != "none":
                a = anchors[name][test]
                out[test] = a + lam * (f_all[test] - a)
            choices.append(f"{f.number}:{name}*{lam:g}")
        shrunk[h] = pd.Series(out, index=pred.index, name="shrunk")
        ok = np.isfinite(y_all) & np.isfinite(f_all)
        y, bench = y_all[ok], anchors.get("expanding_mean", np.zeros_like(y_all))[ok]
        mse = lambda g: float(np.mean((y - g[ok]) ** 2))  # noqa: E731
        sse_b = float(np.mean((y - bench) ** 2))
        rows.append({"horizon": h, "n": int(ok.sum()), "mse_model": mse(f_all), "mse_shrunk": mse(out),
                     "r2_model": 1 - mse(f_all) / sse_b, "r2_shrunk": 1 - mse(out) / sse_b,
                     "helps": bool(mse(out) < mse(f_all)), "choices": " ".join(choices)})
    return pd.DataFrame(rows), shrunk
