"""Which forecast distribution? The candidates compared on the walk-forward, out of sample.

Usage::

    .venv/bin/python benchmarks/distributions.py                      # ../shared/data
    .venv/bin/python benchmarks/distributions.py --source demo

Runs the walk-forward once, then scores on the same rows (every fold's test block, targets
realised), against the unconditional reference (expanding quantiles, base rate):

* ``location-scale`` (the one the chain uses, :mod:`models.distribution`): the forecast plus
  BTC's trailing volatility times the standardised history of its returns; ``... w63``:
  the same with a 63-day volatility window;
* ``conformal nested``: the forecast plus the volatility times quantiles of the model's own
  normalised out-of-sample errors from earlier folds only (split conformal, nested);
  ``... unscaled``: raw errors, no volatility scaling (the old bands of ``regime now``);
* ``quantile boosters``: one LightGBM quantile objective per level on the chain's features,
  refit in every fold, sorted so they do not cross; ``CQR``: the boosters shifted per
  level by the conformal correction from earlier folds.

Prints a table (coverage overall and per regime, width, pinball, CRPS and Brier skill, fit
seconds) and writes it to ``benchmarks/results/distributions_<source>_<timestamp>.csv``.
The choice and its caveat (a selection among a few candidates on the test period itself):
docs/decisions.md, "Return distributions".
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _frames(result, design, centre, quantiles_of):  # noqa: ANN001 - a script
    """DistributionForecasts per horizon from ``quantiles_of(h, pred) -> DataFrame of GRID quantiles``."""
    import numpy as np

    from features.target import target_name
    from models.quantiles import (
        GRID,
        expanding_base_rate,
        expanding_quantiles,
        prob_above,
    )
    from training.evaluation.distributions import DistributionForecasts

    out = {}
    for h, pred in result.predictions.items():
        q = quantiles_of(h, pred)
        y = design.targets[target_name(h)]
        frame = pred[["realized", "fold"]].assign(regime=pred["regime"])
        frame["p_up"] = np.where(q.notna().all(axis=1), prob_above(q.to_numpy(), GRID), np.nan)
        frame["base_p_up"] = expanding_base_rate(y, h).reindex(pred.index)
        out[h] = DistributionForecasts(h, frame, q, expanding_quantiles(y, h).reindex(pred.index))
    return out


def nested_conformal(result, design, scaled: bool, window: int = 126, min_scores: int = 100):  # noqa: ANN001
    """Forecast + scale x quantiles of earlier folds' normalised out-of-sample errors."""
    import numpy as np
    import pandas as pd

    from models.distribution import daily_volatility
    from models.quantiles import GRID

    vol = daily_volatility(design.aligned["btc_usd"], window)
    pos = pd.Series(np.arange(len(design.index)), index=design.index)

    def quantiles_of(h, pred):  # noqa: ANN001, ANN202
        s = (vol * np.sqrt(h)).reindex(pred.index) if scaled else pd.Series(1.0, index=pred.index)
        e = ((pred["realized"] - pred["model"]) / s).to_numpy()
        known = pos.reindex(pred.index).to_numpy() + h
        q = pd.DataFrame(np.nan, index=pred.index, columns=list(GRID))
        for f in result.folds:
            test = (pred["fold"] == f.number).to_numpy()
            cal = (pred["fold"] < f.number).to_numpy() & (known < f.cutoff) & np.isfinite(e)
            if test.any() and cal.sum() >= min_scores:
                q.loc[test] = pred["model"][test].to_numpy()[:, None] + s[test].to_numpy()[:, None] * np.quantile(
                    e[cal], GRID)[None, :]
        return q

    return _frames(result, design, "model", quantiles_of)


def quantile_boosters(design, template, folds):  # noqa: ANN001
    """Out-of-sample GRID quantiles of one LightGBM quantile booster per level, refit per fold."""
    import lightgbm as lgb
    import pandas as pd
    from sklearn.base import clone
    from threadpoolctl import threadpool_limits

    from features.target import target_name
    from models.forecaster import DEFAULT_LGBM_PARAMS
    from models.quantiles import GRID

    p = dict(DEFAULT_LGBM_PARAMS)
    rounds = p.pop("n_estimators")
    params = {"objective": "quantile", "learning_rate": p["learning_rate"], "num_leaves": p["num_leaves"],
              "max_depth": p["max_depth"], "min_child_samples": p["min_child_samples"],
              "bagging_fraction": p["subsample"], "bagging_freq": p["subsample_freq"],
              "feature_fraction": p["colsample_bytree"], "lambda_l2": p["reg_lambda"], "num_threads": 1,
              "verbose": -1, "seed": 0}
    parts: dict[int, list[pd.DataFrame]] = {h: [] for h in template.horizons}
    previous = None
    with threadpool_limits(1):
        for f in folds:
            pipe = clone(template).fit_design(design, f.cutoff, f.train_start, regime_init=previous)
            previous = pipe.regime_
            X = pipe.design_matrix(design)[pipe.feature_names_]
            test = design.index[f.cutoff:f.test_end]
            for h in template.horizons:
                rows = pipe.training_rows(design, h, f.cutoff, f.train_start)
                data = lgb.Dataset(X.iloc[rows].to_numpy(float), design.targets[target_name(h)].iloc[rows].to_numpy(),
                                   free_raw_data=False, params={"verbose": -1})
                Xt = X.loc[test].to_numpy(float)
                parts[h].append(pd.DataFrame(
                    {tau: lgb.train({**params, "alpha": tau}, data, num_boost_round=rounds).predict(Xt) for tau in GRID},
                    index=test))
    return {h: pd.concat(v) for h, v in parts.items()}


def booster_frames(result, design, boosted, cqr: bool, min_scores: int = 100):  # noqa: ANN001
    import numpy as np
    import pandas as pd

    from models.quantiles import GRID, rearrange

    pos = pd.Series(np.arange(len(design.index)), index=design.index)

    def quantiles_of(h, pred):  # noqa: ANN001, ANN202
        raw = boosted[h].reindex(pred.index)
        q = pd.DataFrame(rearrange(raw.to_numpy()), index=pred.index, columns=list(GRID))
        if not cqr:
            return q
        known = pos.reindex(pred.index).to_numpy() + h
        out = q * np.nan
        for f in result.folds:
            test = (pred["fold"] == f.number).to_numpy()
            cal = (pred["fold"] < f.number).to_numpy() & (known < f.cutoff) & pred["realized"].notna().to_numpy()
            if test.any() and cal.sum() >= min_scores:
                r = pred["realized"][cal].to_numpy()[:, None] - q[cal].to_numpy()
                shift = np.array([np.quantile(r[:, j], tau) for j, tau in enumerate(GRID)])
                out.loc[test] = rearrange(q[test].to_numpy() + shift)
        return out

    return _frames(result, design, "model", quantiles_of)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", choices=["csv", "demo"], default="csv")
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    args = parser.parse_args()

    import numpy as np
    import pandas as pd

    from features.sources import load_panel
    from models.distribution import ReturnDistribution
    from models.pipeline import RegimeForecastPipeline
    from training.config import Config
    from training.evaluation.distributions import (
        distribution_scores,
        scored_rows,
        walk_forward_distributions,
    )
    from training.evaluation.walk_forward import run_walk_forward
    from training.jobs.train import make_template

    data = {"source": args.source, **({"data_dir": str(args.data_dir)} if args.source == "csv" else {})}
    cfg = Config().replace(data=data)
    template = make_template(cfg)
    design = template.make_design(load_panel(cfg.data))
    ev = cfg.evaluation
    result = run_walk_forward(design, template, ev.initial_train, ev.step, ev.window, baselines=False)

    seconds: dict[str, float] = {}

    def timed(name, fn):  # noqa: ANN001, ANN202
        t0 = time.perf_counter()
        out = fn()
        seconds[name] = time.perf_counter() - t0
        return out

    class Window63(RegimeForecastPipeline):
        """The chain's distribution with a 63-day volatility window."""

        def return_distribution(self, design, cutoff=None, train_start=None):  # noqa: ANN001, ANN202
            n = len(design.index) if cutoff is None else cutoff
            targets = pd.DataFrame({h: design.targets[f"fwd_{h}d"] for h in self.horizons})
            return ReturnDistribution(tuple(self.horizons), window=63).fit(
                targets, design.aligned["btc_usd"], max(design.first_complete(), train_start or 0), n - self.embargo)

    w63 = Window63(**template.get_params())
    boosted = timed("quantile boosters", lambda: quantile_boosters(design, template, result.folds))
    seconds["CQR"] = seconds["quantile boosters"]
    candidates = {
        "location-scale": timed("location-scale", lambda: walk_forward_distributions(result, design, template)),
        "location-scale w63": timed("location-scale w63", lambda: walk_forward_distributions(result, design, w63)),
        "conformal nested": timed("conformal nested", lambda: nested_conformal(result, design, scaled=True)),
        "conformal nested unscaled": timed("conformal nested unscaled",
                                           lambda: nested_conformal(result, design, scaled=False)),
        "quantile boosters": booster_frames(result, design, boosted, cqr=False),
        "CQR": booster_frames(result, design, boosted, cqr=True),
    }
    for h in result.predictions:  # the same rows for everyone: where every candidate has a distribution
        common = np.logical_and.reduce([scored_rows(c[h]) for c in candidates.values()])
        for c in candidates.values():
            c[h].quantiles.loc[~common] = np.nan
    rows = []
    for name, fc in candidates.items():
        table = distribution_scores(fc, n_boot=0)
        for h, part in table.groupby("horizon"):
            g = part.set_index("group")
            a = g.loc["all"]
            regimes = [r for r in g.index if r not in ("all", "non-overlap")]
            rows.append({"candidate": name, "horizon": h, "n": int(a.n), "coverage": a.coverage,
                         **{f"coverage_{r}": g.loc[r, "coverage"] for r in regimes},
                         "width": a.width, "pinball": a.pinball, "base_pinball": a.base_pinball, "crps": a.crps,
                         "base_crps": a.base_crps, "crps_skill": a.crps_skill, "brier_skill": a.brier_skill,
                         "fit_seconds": seconds.get(name, float("nan"))})
    out = pd.DataFrame(rows).sort_values(["horizon", "crps"])
    pd.set_option("display.width", 250)
    print(out.round(4).to_string(index=False))
    folder = REPO / "benchmarks" / "results"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"distributions_{args.source}_{time.strftime('%Y%m%d_%H%M%S')}.csv"
    out.to_csv(path, index=False)
    print(f"wrote {path}")


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    main()
