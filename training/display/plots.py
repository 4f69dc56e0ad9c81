"""Plots written as PNG files (matplotlib's object API: no global pyplot state)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from models.explain import Explanation, describe_feature, global_importance

REGIME_COLORS = {"fear": "#d4a017", "debasement": "#2ca02c", "stress": "#d62728", "tightening": "#1f5fbf", "calm": "#c7c7c7"}
#: Shading of regime spans behind price lines: colour and opacity, dark enough to tell calm from no label.
REGIME_SHADES = {"fear": ("#d4a017", 0.30), "debasement": ("#2ca02c", 0.25), "stress": ("#d62728", 0.25),
                 "tightening": ("#1f5fbf", 0.22), "calm": ("#7f7f7f", 0.20)}


def _save(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    # A layout engine fits labels inside the figure in one pass; ``bbox_inches="tight"`` would
    # draw every figure twice (a third of a training run's plotting time).
    if fig.get_layout_engine() is None:
        fig.set_layout_engine("tight")
    fig.savefig(path, dpi=110)
    return path


def shade_regimes(ax, regimes: pd.Series) -> None:
    """Shade spans of ``ax`` by regime label (index: dates); a spell lasts until the next one starts."""
    regimes = regimes.dropna()
    if regimes.empty:
        return
    change = regimes.ne(regimes.shift()).cumsum()
    spells = [(spell.index[0], spell.iloc[0]) for _, spell in regimes.groupby(change)]
    ends = [start for start, _ in spells[1:]] + [regimes.index[-1]]
    for (start, label), end in zip(spells, ends, strict=True):
        colour, alpha = REGIME_SHADES.get(label, ("#eeeeee", 0.3))
        ax.axvspan(start, end, color=colour, alpha=alpha, lw=0)


def _regime_legend(ax, labels) -> None:
    """Legend entries for the shaded regimes present, after the line entries."""
    from matplotlib.patches import Patch

    handles, names = ax.get_legend_handles_labels()
    for label in (x for x in REGIME_SHADES if x in set(labels)):
        colour, alpha = REGIME_SHADES[label]
        handles.append(Patch(facecolor=colour, alpha=alpha, label=label))
        names.append(label)
    ax.legend(handles, names, loc="upper left", fontsize=8, ncol=2)


def regime_timeline(aligned: pd.DataFrame, regimes: pd.Series, path: Path, title: str = "") -> Path:
    """BTC, silver and gold (log scale, growth of 1 from the first labelled date) over shaded filtered regimes."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    regimes = regimes.dropna()
    fig = Figure(figsize=(12, 6))
    axes = fig.subplots(2, 1, sharex=True)
    names = {"btc_usd": "BTC", "silver_usd": "silver", "gold_usd": "gold"}
    for ax, cols in zip(axes, (["btc_usd"], ["silver_usd", "gold_usd"])):
        for c in cols:
            s = aligned[c].loc[regimes.index[0]:regimes.index[-1]]
            ax.plot(s.index, s / s.iloc[0], label=names[c], lw=1, color={"btc_usd": "#f7931a", "silver_usd": "#4d4d4d",
                                                                         "gold_usd": "#b8860b"}[c])
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1, 2, 5)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(NullFormatter())
        shade_regimes(ax, regimes)
        ax.margins(x=0)
        _regime_legend(ax, regimes.unique())
    axes[0].set_ylabel("BTC, growth of 1 (log)")
    axes[1].set_ylabel("metals, growth of 1 (log)")
    axes[0].set_title(title or "Filtered regimes (gold fear, green debasement, red stress, blue tightening, grey calm)")
    return _save(fig, path)


def predicted_vs_realized(predictions: dict[int, pd.DataFrame], path: Path) -> Path:
    """Out-of-sample forecast against realized forward return, one panel per horizon."""
    fig = Figure(figsize=(4.2 * len(predictions), 4))
    axes = np.atleast_1d(fig.subplots(1, len(predictions)))
    for ax, (h, frame) in zip(axes, predictions.items()):
        f = frame.dropna(subset=["realized", "model"])
        colors = [REGIME_COLORS.get(r, "#1f77b4") for r in f.get("regime", pd.Series(index=f.index))]
        ax.scatter(f["model"], f["realized"], s=4, c=colors, alpha=0.5)
        ax.axhline(0, color="k", lw=0.5)
        ax.axvline(0, color="k", lw=0.5)
        ax.set_title(f"{h}-day horizon (out of sample)")
        ax.set_xlabel("forecast log return")
    axes[0].set_ylabel("realized log return")
    return _save(fig, path)


def cumulative_ic(predictions: dict[int, pd.DataFrame], path: Path) -> Path:
    """Running sum of the cross-product of ranks: where the model's skill came from over time."""
    fig = Figure(figsize=(10, 4))
    ax = fig.subplots()
    for h, frame in predictions.items():
        f = frame.dropna(subset=["realized", "model"])
        rank = lambda s: (s.rank(pct=True) - 0.5)  # noqa: E731
        ax.plot(f.index, (rank(f["model"]) * rank(f["realized"])).cumsum() * 12 / len(f), label=f"{h}d")
    ax.axhline(0, color="k", lw=0.5)
    ax.set_title("Cumulative rank IC contribution (ends at the overall IC)")
    ax.legend()
    return _save(fig, path)


def shap_summary(expl: Explanation, path: Path, top: int = 15) -> Path:
    """Beeswarm-style dots (colour = feature percentile) beside mean |SHAP| by family."""
    imp = global_importance(expl).head(top)
    fig = Figure(figsize=(13, 0.35 * top + 1.5), layout="constrained")
    ax, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 1.3]})
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    rng = np.random.default_rng(0)
    points = expl.points() / 100  # simple-return units, drawn in pts below
    for i, feat in enumerate(imp["feature"][::-1]):
        v = points[feat].to_numpy()
        pct = expl.features[feat].rank(pct=True).fillna(0.5).to_numpy()
        ax.scatter(v * 100, i + rng.uniform(-0.3, 0.3, len(v)), c=pct, cmap="coolwarm", vmin=0, vmax=1, s=3, alpha=0.6)
    ax.set_yticks(range(len(imp)), [describe_feature(f) for f in imp["feature"][::-1]], fontsize=8)
    ax.axvline(0, color="k", lw=0.5)
    ax.set_xlabel(f"SHAP contribution to the {expl.horizon}-day forecast (pts of simple return)")
    bar = fig.colorbar(ScalarMappable(Normalize(0, 1), "coolwarm"), ax=ax, pad=0.01, aspect=40)
    bar.set_ticks([0, 0.5, 1], labels=["low", "median", "high"])
    bar.set_label("feature value (percentile in its history)", fontsize=8)
    bar.ax.tick_params(labelsize=8)
    fam = expl.by_family(points=True).abs().mean().sort_values()
    ax2.barh(fam.index, fam.to_numpy(), color="#4c72b0")
    ax2.tick_params(axis="y", labelsize=8)
    ax2.set_xlabel("mean |SHAP| by family (pts)")
    return _save(fig, path)


def waterfall(expl: Explanation, date: pd.Timestamp, path: Path, top: int = 10) -> Path:
    """Local explanation: from the base value to the forecast, top contributions as steps."""
    return _save(waterfall_figure(expl, date, top), path)


def waterfall_figure(expl: Explanation, date: pd.Timestamp, top: int = 10) -> Figure:
    """The figure of :func:`waterfall`."""
    row = expl.points().loc[date] / 100  # simple-return units: the steps add up to the simple-% forecast
    order = row.abs().sort_values(ascending=False).index
    shown = order[:top]
    steps = [(describe_feature(f), row[f]) for f in shown]
    if len(order) > top:
        steps.append((f"{len(order) - top} other features", row[order[top:]].sum()))
    fig = Figure(figsize=(9, 0.45 * len(steps) + 1.5))
    ax = fig.subplots()
    levels = np.expm1(expl.base_value) + np.cumsum([0.0] + [v for _, v in steps])
    for i, (label, value) in enumerate(steps):
        ax.barh(i, value * 100, left=levels[i] * 100, color="#2ca02c" if value >= 0 else "#d62728")
        ax.annotate(f"{value * 100:+.2f}", (max(levels[i], levels[i + 1]) * 100, i), xytext=(3, 0),
                    textcoords="offset points", va="center", fontsize=7)
    ax.set_yticks(range(len(steps)), [s[0] for s in steps], fontsize=8)
    ax.invert_yaxis()
    ax.axvline(levels[0] * 100, color="grey", ls="--", lw=0.8, label="base value")
    ax.axvline(levels[-1] * 100, color="k", lw=1, label="forecast")
    # Explicit limits: bars pin the autoscaled limit to their base (sticky edges), which hid the
    # dashed base line on the frame and cut the first bar.
    lo, hi = levels.min() * 100, levels.max() * 100
    pad = 0.1 * (hi - lo) if hi > lo else 0.1
    ax.set_xlim(lo - pad, hi + 1.5 * pad)
    ax.set_xlabel(f"{expl.horizon}-day forecast, % price change (steps in pts; green raises, red lowers)")
    ax.set_title(f"What drove the forecast on {date:%Y-%m-%d}:\nfrom the base value (dashed) to the forecast (solid)")
    ax.legend(loc="lower right")
    return fig


def equity_curves(predictions: dict[int, pd.DataFrame], log_price: pd.Series, regimes: pd.Series, path: Path) -> Path:
    """Illustrative long/flat equity per horizon vs buy-and-hold, over shaded out-of-sample regimes."""
    from training.evaluation.strategy import long_flat_returns

    fig = Figure(figsize=(12, 4.5))
    ax = fig.subplots()
    hold = None
    for h, frame in predictions.items():
        daily = long_flat_returns(frame["model"].dropna(), log_price)
        ax.plot(daily.index, np.exp(daily["strategy"].cumsum()), lw=1, label=f"long/flat on {h}d forecast")
        hold = daily["buy_and_hold"]
    if hold is not None:
        ax.plot(hold.index, np.exp(hold.cumsum()), color="k", lw=1.2, label="buy and hold")
    ax.set_yscale("log")
    shade_regimes(ax, regimes)
    ax.set_title("ILLUSTRATIVE: long/flat on the sign of the out-of-sample forecast (no costs)")
    ax.legend(loc="upper left", fontsize=8)
    return _save(fig, path)


def driver_stability(fold_importance: pd.DataFrame, path: Path, top: int = 8) -> Path:
    """Rank of the overall top drivers (by mean |SHAP|) in each walk-forward refit."""
    ranks = fold_importance.rank(axis=1, ascending=False)
    leaders = fold_importance.mean().sort_values(ascending=False).index[:top]
    fig = Figure(figsize=(11, 4.5))
    ax = fig.subplots()
    for feat in leaders:
        ax.plot(ranks.index, ranks[feat], marker="o", ms=3, lw=1, label=describe_feature(feat))
    ax.invert_yaxis()
    ax.set_ylabel("rank by mean |SHAP| in the fold")
    ax.set_title("Driver stability across walk-forward refits")
    ax.legend(fontsize=7, ncol=2, loc="lower left")
    return _save(fig, path)


def dependence(expl: Explanation, path: Path, top: int = 4) -> Path:
    """SHAP dependence: contribution against feature value for the top drivers."""
    leaders = global_importance(expl)["feature"][:top]
    fig = Figure(figsize=(4 * len(leaders), 3.6))
    axes = np.atleast_1d(fig.subplots(1, len(leaders)))
    points = expl.points()
    for ax, feat in zip(axes, leaders):
        ax.scatter(expl.features[feat], points[feat], s=3, alpha=0.5)
        ax.axhline(0, color="k", lw=0.5)
        ax.set_xlabel(describe_feature(feat), fontsize=8)
    axes[0].set_ylabel(f"contribution to {expl.horizon}d forecast (pts of simple return)")
    return _save(fig, path)


def fan_chart(btc: pd.Series, date: pd.Timestamp, quantiles: dict[int, pd.Series], path: Path,
              history: int = 252) -> Path:
    """BTC's last ``history`` business days and the forecast fan from ``date``.

    ``quantiles[h]`` holds the ``h``-day log-return quantiles (index: levels in (0, 1)) of
    the forecast made on ``date``; each band joins one central interval across the horizons.
    """
    price = float(btc.loc[date])
    past = btc.loc[:date].iloc[-history:]
    horizons = sorted(quantiles)
    q = {h: {round(float(lv), 4): float(v) for lv, v in quantiles[h].items()} for h in horizons}
    levels = sorted(set.intersection(*(set(q[h]) for h in horizons)))
    pairs = [(lo, round(1 - lo, 4)) for lo in (0.05, 0.1, 0.25) if lo in levels and round(1 - lo, 4) in levels]
    when = [date] + [date + pd.offsets.BDay(h) for h in horizons]
    path_of = lambda lv: [price] + [price * np.exp(q[h][lv]) for h in horizons]  # noqa: E731
    fig = Figure(figsize=(11, 4.8))
    ax = fig.subplots()
    ax.plot(past.index, past.to_numpy(), color="k", lw=1.2, label="BTC (USD)")
    for i, (lo, hi) in enumerate(pairs):  # widest first, darker inwards
        ax.fill_between(when, path_of(lo), path_of(hi), color="#1f77b4", alpha=0.15 + 0.15 * i, lw=0,
                        label=f"{hi - lo:.0%} band ({lo:.0%}-{hi:.0%})")
    if 0.5 in levels:
        median = path_of(0.5)
        ax.plot(when, median, color="#1f77b4", lw=1.5, marker="o", ms=3, label="median")
        for h, x, y in zip(horizons, when[1:], median[1:]):
            ax.annotate(f"{h}d", (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
    ax.set_yscale("log")
    ax.axvline(date, color="grey", ls="--", lw=0.8)
    ax.set_title(f"BTC forecast distribution from {date:%Y-%m-%d} (bands: central intervals of the forecast)")
    ax.legend(loc="upper left", fontsize=8)
    return _save(fig, path)


def reliability_diagram(table: pd.DataFrame, path: Path, title: str, what: str = "forecast probability") -> Path:
    """Observed frequency against forecast probability per bin, one panel per horizon (dot area ~ count)."""
    horizons = sorted(table["horizon"].unique()) if len(table) else []
    fig = Figure(figsize=(4 * max(len(horizons), 1), 4))
    axes = np.atleast_1d(fig.subplots(1, max(len(horizons), 1)))
    for ax, h in zip(axes, horizons):
        part = table[table.horizon == h]
        ax.plot([0, 1], [0, 1], color="grey", ls="--", lw=0.8)
        ax.scatter(part["mean_forecast"], part["observed"], s=20 + 300 * part["n"] / part["n"].max(), alpha=0.7)
        ax.plot(part["mean_forecast"], part["observed"], lw=1)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_title(f"{h}-day horizon (n={int(part['n'].sum())})")
        ax.set_xlabel(what)
    axes[0].set_ylabel("observed frequency")
    fig.suptitle(title, fontsize=10)
    return _save(fig, path)


def quantile_calibration(calibration: pd.DataFrame, path: Path) -> Path:
    """Share of outcomes below each forecast quantile against its level: the model and the unconditional baseline."""
    horizons = sorted(calibration["horizon"].unique())
    fig = Figure(figsize=(4 * len(horizons), 4))
    axes = np.atleast_1d(fig.subplots(1, len(horizons)))
    for ax, h in zip(axes, horizons):
        part = calibration[calibration.horizon == h]
        ax.plot([0, 1], [0, 1], color="grey", ls="--", lw=0.8)
        ax.plot(part["level"], part["observed"], marker="o", ms=3, label="model distribution")
        ax.plot(part["level"], part["base_observed"], marker="s", ms=3, label="unconditional")
        ax.set_title(f"{h}-day horizon")
        ax.set_xlabel("quantile level")
    axes[0].set_ylabel("share of outcomes below the quantile")
    axes[0].legend(fontsize=8)
    fig.suptitle("Quantile calibration, walk-forward out of sample (on the diagonal = calibrated)", fontsize=10)
    return _save(fig, path)


def oos_bands(realized: pd.Series, lo: pd.Series, hi: pd.Series, regimes: pd.Series, path: Path, horizon: int,
              base_lo: pd.Series | None = None, base_hi: pd.Series | None = None) -> Path:
    """Realised forward returns against the out-of-sample 80% band over time (and the unconditional band)."""
    fig = Figure(figsize=(12, 4.5))
    ax = fig.subplots()
    ax.fill_between(lo.index, lo.to_numpy(), hi.to_numpy(), color="#1f77b4", alpha=0.3, lw=0, label="80% band (model)")
    if base_lo is not None and base_hi is not None:
        ax.plot(base_lo.index, base_lo.to_numpy(), color="#ff7f0e", lw=0.8, label="80% band (unconditional)")
        ax.plot(base_hi.index, base_hi.to_numpy(), color="#ff7f0e", lw=0.8)
    ax.plot(realized.index, realized.to_numpy(), color="k", lw=0.6, label="realised")
    shade_regimes(ax, regimes)
    ax.axhline(0, color="k", lw=0.5)
    ax.set_ylabel(f"{horizon}-day log return")
    ax.set_title(f"{horizon}-day forward BTC log return and its out-of-sample 80% band (walk-forward)")
    ax.legend(loc="upper left", fontsize=8)
    return _save(fig, path)
