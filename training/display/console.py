"""Terminal output: progress display and result tables (rich)."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from training.display.progress import Reporter

if TYPE_CHECKING:
    from training.jobs.train import TrainResult

def _console() -> Console:
    """Console on stdout; wide enough for the score tables when output is not a terminal."""
    return Console(width=None if sys.stdout.isatty() else 150)


console = _console()


class TrainProgress(Reporter):
    """A progress bar on stderr for the training job's stages and walk-forward folds."""

    def __enter__(self) -> "TrainProgress":
        self._progress = Progress(
            SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(), console=Console(stderr=True), transient=True,
        )
        self._progress.__enter__()
        self._task = self._progress.add_task("starting", total=None)
        return self

    def __exit__(self, *exc: Any) -> None:
        self._progress.__exit__(*exc)

    def stage(self, name: str) -> None:
        self._progress.update(self._task, description=name, total=None, completed=0)

    def fold(self, done: int, total: int) -> None:
        self._progress.update(self._task, description="walk-forward folds", total=total, completed=done)


def _fmt(v: float, pct: bool = False) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return f"{v * 100:.1f}%" if pct else f"{v:+.3f}"


def _ci(lo: float, hi: float) -> str:
    return "" if math.isnan(lo) else f" [{lo:+.2f}, {hi:+.2f}]"


def score_tables(scores: pd.DataFrame, title_prefix: str = "") -> list[Table]:
    """One table per horizon: the model and every baseline side by side."""
    tables = []
    overall = scores[scores.regime == "all"]
    for h, part in overall.groupby("horizon"):
        t = Table(title=f"{title_prefix}{h}-day forward BTC log return, walk-forward out of sample (n={int(part.n.max())})")
        for col in ("forecaster", "IC", "90% CI", "OOS R²", "90% CI ", "hit rate", "MAE", "IC non-overlap", "R² non-overlap"):
            t.add_column(col, justify="left" if col == "forecaster" else "right", no_wrap=True)
        for r in part.itertuples():
            t.add_row(
                ("[bold]" if r.forecaster == "model" else "") + r.forecaster,
                _fmt(r.ic),
                _ci(r.ic_lo, r.ic_hi).strip(),
                _fmt(r.r2_oos),
                _ci(r.r2_lo, r.r2_hi).strip(),
                _fmt(r.hit_rate, pct=True),
                f"{r.mae:.3f}",
                f"{_fmt(r.ic_nonoverlap)} (n={r.n_nonoverlap})",
                _fmt(r.r2_nonoverlap),
            )
        tables.append(t)
    return tables


def print_training_result(result: TrainResult, cfg: Any) -> None:
    """Scores per horizon, the regime split, the DM tests, the registry outcome and timings."""
    console.print(f"Data {result.data_range[0]} → {result.data_range[1]} ({cfg.data.source}), "
                  f"fingerprint {result.fingerprint}")
    ev = cfg.evaluation
    console.print(f"{result.n_folds} walk-forward folds: first test date {result.first_test}, refit every {ev.step} "
                  f"business days, {ev.window} training window, HMM and forecasters refit in each fold, "
                  f"training targets purged{f' + {cfg.model.embargo}-day embargo' if cfg.model.embargo else ''} "
                  "(fold table: evaluation/folds.csv in the MLflow run)")
    for t in score_tables(result.scores):
        console.print(t)
    reg = result.scores[(result.scores.regime != "all") & (result.scores.forecaster == "model")]
    if len(reg):
        t = Table(title="Model IC by filtered regime (out of sample)")
        t.add_column("horizon")
        regimes = sorted(reg.regime.unique())
        for name in regimes:
            t.add_column(name, justify="right")
        for h, part in reg.groupby("horizon"):
            vals = part.set_index("regime")
            t.add_row(f"{h}d", *[f"{_fmt(vals.loc[r, 'ic'])} (n={int(vals.loc[r, 'n'])})" if r in vals.index else "–" for r in regimes])
        console.print(t)
    for r in result.dm.itertuples():
        console.print(f"Diebold-Mariano {r.horizon}d vs best baseline ({r.best_baseline}): "
                      f"stat {r.dm_stat:+.2f} (negative favours the model), p = {r.p_value:.3f}")
    console.print("[dim]OOS R² is against the expanding mean (Campbell-Thompson); CIs are moving-block bootstrap. "
                  "Overlapping targets inflate naive significance: read the non-overlap columns too.[/dim]")
    if len(result.fold_scores):
        for h, part in result.fold_scores.groupby("horizon"):
            console.print(f"Per-fold model IC {h}d: median {part.ic.median():+.3f}, range [{part.ic.min():+.2f}, "
                          f"{part.ic.max():+.2f}], positive in {int((part.ic > 0).sum())}/{len(part)} folds")
    q = result.regime_quality
    if q:
        line = (f"Regimes (out of sample): mean spell {q['mean_spell_days']:.0f} business days, "
                f"{q['refit_flip_rate'] * 100:.1f}% of dates relabelled between consecutive refits")
        if "truth_agreement" in q:
            line += f"; agreement with the planted truth {q['truth_agreement'] * 100:.0f}% (chance {q['chance_agreement'] * 100:.0f}%)"
        console.print(line)
    if len(result.strategy):
        t = Table(title="ILLUSTRATIVE long/flat on the forecast's sign vs buy-and-hold (out of sample, no costs)")
        for c in ("horizon", "strategy", "ann. return", "ann. vol", "Sharpe", "max drawdown", "turnover/yr"):
            t.add_column(c, justify="right" if c not in ("strategy",) else "left", no_wrap=True)
        for r in result.strategy.itertuples():
            t.add_row(f"{r.horizon}d", r.strategy, f"{r.ann_return * 100:+.1f}%", f"{r.ann_vol * 100:.0f}%",
                      f"{r.sharpe:.2f}", f"{r.max_drawdown * 100:.0f}%", f"{r.turnover:.1f}")
        console.print(t)
    print_sealed(result)
    if result.version:
        g = result.gate
        alias = "champion" if g and g.promote else "challenger"
        console.print(f"Registered [bold]{cfg.tracking.model_name}[/bold] version {result.version} as @{alias}: {g.reason if g else ''}")
        for line in g.details if g else ():
            console.print(f"  {line}", highlight=False)
    elif result.blocking:
        console.print("Not registered (--no-register); the gate would block it:")
        for line in result.blocking:
            console.print(f"  blocked: {line}", highlight=False)
    console.print(f"MLflow run {result.run_id}; stages: " + ", ".join(f"{k} {v:.1f}s" for k, v in result.timings.items()))


def print_sealed(result: TrainResult) -> None:
    """The squared-error figures of the sealed segment and of the whole walk-forward (what the gate judges on)."""
    sealed, everything = result.sealed, result.walk_forward
    if result.sealed_window is None or not len(sealed) or sealed["n"].min() == 0:
        console.print("No sealed segment (--sealed-days 0): the gate judges on the whole walk-forward, which tuning may have seen.")
    else:
        t = Table(title=f"Sealed final segment {result.sealed_window[0]} → {result.sealed_window[1]}, out of sample: "
                        "`regime tune` never sees it, the champion gate judges on it (scored on the "
                        f"{int(sealed['n'].iloc[0])} dates to {sealed['last'].iloc[0]} with every horizon's return realised)")
        for c in ("horizon", "MSE model", "MSE zero", "MSE mean", "R² vs zero", "R² vs mean", "IC"):
            t.add_column(c, justify="right", no_wrap=True)
        for r in sealed.itertuples():
            t.add_row(f"{r.horizon}d", f"{r.mse:.5f}", f"{r.mse_zero:.5f}", f"{r.mse_mean:.5f}", _fmt(r.r2_zero),
                      _fmt(r.r2_mean), _fmt(r.ic))
        console.print(t)
    if len(everything):
        line = f"Skill (R² vs the zero forecast, mean over horizons): whole walk-forward {everything['r2_zero'].mean():+.4f}"
        if result.sealed_window is not None and len(sealed) and sealed["n"].min() > 0:
            line += f", sealed segment {sealed['r2_zero'].mean():+.4f}"
        console.print(line)


def print_predictions(out: pd.DataFrame, rows: int, model_uri: str, output: Path | None) -> None:
    """The latest ``rows`` forecasts as a table (returns shown as % price change)."""
    import numpy as np

    t = Table(title=f"Forecasts from {model_uri} (forward BTC return; regime probabilities are filtered)")
    for c in out.columns:
        t.add_column(c, justify="right")
    for _, r in out.tail(rows).iterrows():
        cells = []
        for c in out.columns:
            v = r[c]
            if c.startswith("forecast_"):
                cells.append(f"{(np.exp(v) - 1) * 100:+.1f}%")
            elif c.startswith("p_"):
                cells.append(f"{v:.2f}")
            else:
                cells.append(str(v))
        t.add_row(*cells)
    console.print(t)
    if output:
        console.print(f"Wrote {len(out)} rows to {output}")
