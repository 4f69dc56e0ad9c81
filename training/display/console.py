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
    from training.evaluation.outlook import OutlookEvaluation
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
            redirect_stdout=sys.stdout.isatty(),  # printed lines stay on stdout when it is a file or a pipe
        )
        self._progress.__enter__()
        self._task = self._progress.add_task("starting", total=None)
        return self

    def __exit__(self, *exc: Any) -> None:
        self._progress.__exit__(*exc)

    def data(self, config: Any, panel: pd.DataFrame, note: str = "") -> None:
        from training.display.data_line import data_line

        console.print(data_line(config, panel.index, note), markup=False, highlight=False, soft_wrap=True)

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


def _pct_ci(v: float, lo: float, hi: float) -> str:
    ci = "" if math.isnan(lo) else f" [{lo * 100:.0f}, {hi * 100:.0f}]"
    return f"{v * 100:.1f}%{ci}"


def _skill(v: float, lo: float, hi: float) -> str:
    ci = "" if math.isnan(lo) else f" [{lo * 100:+.1f}, {hi * 100:+.1f}]"
    return f"{v * 100:+.1f}%{ci}"


def _table(title: str, columns: tuple[str, ...]) -> Table:
    t = Table(title=title)
    for col in columns:
        t.add_column(col, justify="right")
    return t


def outlook_tables(ev: "OutlookEvaluation") -> list[Table]:
    """Coverage and scores of the forecast distributions, and the regime forecast's scores (out of sample)."""
    tables = []
    d = ev.distribution
    if len(d):
        regimes = sorted(g for g in d.group.unique() if g not in ("all", "non-overlap"))
        cov = _table("80% band of the forecast distribution: share of outcomes inside, walk-forward out of sample",
                     ("horizon", "covers [90% CI]", *regimes, "non-overlap", "mean width", "width, unconditional"))
        sc = _table("Forecast distribution vs the unconditional one (expanding quantiles, base rate), out of sample",
                    ("horizon", "pinball (10/50/90%) / ref.", "CRPS / ref.", "CRPS skill [90% CI]",
                     "Brier P(up) / base rate", "Brier skill [90% CI]"))
        for h, part in d.groupby("horizon"):
            g = part.set_index("group")
            a = g.loc["all"]
            cell = lambda name: f"{g.loc[name, 'coverage'] * 100:.1f}%" if name in g.index else "–"  # noqa: E731
            cov.add_row(f"{h}d", _pct_ci(a.coverage, a.coverage_lo, a.coverage_hi), *(cell(r) for r in regimes),
                        cell("non-overlap"), f"{a.width:.3f}", f"{a.base_width:.3f}")
            sc.add_row(f"{h}d", f"{a.pinball:.4f} / {a.base_pinball:.4f}", f"{a.crps:.4f} / {a.base_crps:.4f}",
                       _skill(a.crps_skill, a.crps_skill_lo, a.crps_skill_hi), f"{a.brier:.4f} / {a.base_brier:.4f}",
                       _skill(a.brier_skill, a.brier_skill_lo, a.brier_skill_hi))
        tables += [cov, sc]
    r = ev.regime
    if len(r):
        t = _table("Regime forecast P(regime at t+h), out of sample: model / persistence / unconditional (lower is "
                   "better)", ("horizon", "n", "Brier", "log score", "Brier skill vs unconditional [90% CI]",
                               "vs persistence", "non-overlap skill (n)"))
        for h, part in r.groupby("horizon"):
            g = part.set_index("group")
            a = g.loc["all"]
            sub = "–"
            if "non-overlap" in g.index:
                sub = f"{g.loc['non-overlap', 'brier_skill_vs_unconditional'] * 100:+.1f}% ({int(g.loc['non-overlap', 'n'])})"
            t.add_row(f"{h}d", str(int(a.n)),
                      f"{a.brier_model:.3f} / {a.brier_persistence:.3f} / {a.brier_unconditional:.3f}",
                      f"{a.log_model:.3f} / {a.log_persistence:.3f} / {a.log_unconditional:.3f}",
                      _skill(a.brier_skill_vs_unconditional, a.brier_skill_vs_unconditional_lo,
                             a.brier_skill_vs_unconditional_hi),
                      f"{a.brier_skill_vs_persistence * 100:+.1f}%", sub)
        tables.append(t)
    return tables


def level_lines(ev: "OutlookEvaluation") -> list[str]:
    """Mean forecast vs mean realised, and whether a nested shrinkage of the level would have helped."""
    overall = ev.levels[ev.levels.by == "all"].set_index("horizon")
    lines = []
    for r in ev.shrinkage.itertuples():
        lv = overall.loc[r.horizon]
        verdict = "lower: worth applying" if r.helps else "not lower: not applied"
        lines.append(f"Level {r.horizon}d: mean forecast {lv.mean_forecast:+.3f} vs realised {lv.mean_realized:+.3f} "
                     f"(log returns; forecast positive on {lv.share_forecast_positive:.0%} of days); shrinking it "
                     f"towards zero or the expanding mean, chosen on earlier folds: MSE {r.mse_model:.4f} -> "
                     f"{r.mse_shrunk:.4f} ({verdict})")
    study = ev.level_study
    for h, part in (study.groupby("horizon") if len(study) else ()):
        cells = [f"{r.anchors} {r.r2_model:+.3f} -> {r.r2_candidate:+.3f}" for r in part.itertuples()
                 if r.segment == "before sealed"]
        lines.append(f"Level {h}d before the sealed segment, OOS R² of the model -> moved towards (nested): "
                     + ", ".join(cells))
    gaps = ev.p_up_by_regime
    for h, part in (gaps[gaps.regime != "all"].groupby("horizon") if len(gaps) else ()):
        lines.append(f"P(up) {h}d before the sealed segment, mean P(up) vs share of rises: "
                     + ", ".join(f"{r.regime} {r.mean_p_up:.0%} vs {r.share_up:.0%}" for r in part.itertuples()))
    if lines:
        lines.append("[dim]Per fold and regime: evaluation/distribution/levels.csv, level_study.csv and "
                     "p_up_by_regime.csv in the MLflow run.[/dim]")
    return lines


def print_training_result(result: TrainResult, cfg: Any) -> None:
    """Scores per horizon, the regime split, the DM tests, the registry outcome and timings."""
    console.print(f"Feature rows {result.data_range[0]} → {result.data_range[1]} (after the features' warm-up), "
                  f"data fingerprint {result.fingerprint}")
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
    if result.regime is not None:
        print_regime_report(result.regime, cfg)
    if result.regime_comparison is not None:
        print_regime_comparison(result.regime_comparison)
    if result.outlook is not None:
        for t in outlook_tables(result.outlook):
            console.print(t)
        for line in level_lines(result.outlook):
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
    if result.experiment_id:
        console.print(browse_hint(cfg.tracking.tracking_uri, result.experiment_id, result.run_id),
                      markup=False, highlight=False, soft_wrap=True)


def browse_hint(tracking_uri: str | None, experiment_id: str, run_id: str) -> str:
    """How to open a run in MLflow's UI, in its "Model training" view (``?workflowType=machine_learning``)."""
    from training.tracking.store import resolve_tracking_uri
    from training.tracking.ui_server import TRAINING_VIEW

    uri = resolve_tracking_uri(tracking_uri)
    page = f"#/experiments/{experiment_id}/runs/{run_id}{TRAINING_VIEW}"
    if uri.startswith(("http://", "https://")):
        return f"Browse it: {uri.rstrip('/')}/{page}"
    command = f"regime ui --tracking-uri {uri}" if tracking_uri else "regime ui"
    return f"Browse it: `{command}`, then http://127.0.0.1:5000/{page}"


def print_regime_report(report: Any, cfg: Any) -> None:
    """The regime model's states, their names and matches, stability and degeneracy."""
    m, f = cfg.model, cfg.features
    q = report.metrics
    engine = f"Gaussian HMM ({m.covariance_type} covariance" + (f", anchored: {m.regime_anchor:g} pseudo-days)" if m.regime_anchor else ", free states)")
    obs = [c.removeprefix("mean_") for c in report.states.columns if c.startswith("mean_")]
    z = f" as {f.regime_zscore_window}-day z-scores" if f.regime_zscore_window else ""
    t = Table(title=f"Regime model: {engine}, {int(q['n_states'])} states on {', '.join(obs)} ({f.regime_window}-day moves{z})")
    for col in ("state", "name", "share of days", "match (weakest move)", "best match"):
        t.add_column(col, justify="left" if col in ("state", "name") else "right")
    for state, r in report.states.iterrows():
        best = f"{r.best_phase} {r.best_match:+.2f}" if isinstance(r.best_phase, str) else "–"
        t.add_row(state, r.label, f"{r.share * 100:.0f}%", _fmt(r.match), best)
    console.print(t)
    parts = [f"mean spell {q['mean_spell_days']:.0f} business days (out of sample)",
             f"{q['refit_flip_rate'] * 100:.1f}% of dates relabelled between consecutive refits",
             f"walk-forward and final labels agree on {q['wf_final_agreement'] * 100:.0f}% of out-of-sample days"]
    if "seed_agreement" in q:
        parts.insert(0, f"a refit under another seed agrees on {q['seed_agreement'] * 100:.0f}% of days")
    if "truth_agreement" in q:
        parts.append(f"agreement with the planted truth {q['truth_agreement'] * 100:.0f}% (chance {q['chance_agreement'] * 100:.0f}%)")
    console.print("Regime stability: " + "; ".join(parts))
    checks = [(f"history.{key}", f"history.n_{days}", text) for key, days, text in (
        ("phase_one_fear", "phase_one", "of the thesis's phase-one days (metals up > 8% over a quarter, beating BTC) are fear"),
        ("liquidation_fear", "liquidation", "of liquidation days (VIX spike, gold and equities down) are fear"),
        ("catch_up_debasement", "catch_up", "of catch-up days (BTC beating the metals by 15 pts while the Fed's balance "
                                            "sheet grows) are debasement"))]
    known = [f"{q[k] * 100:.0f}% {text} (n={q[n]:.0f})" for k, n, text in checks if math.isfinite(q.get(k, math.nan))]
    if known:
        console.print("History checks (walk-forward labels): " + "; ".join(known) + ".")
    console.print("[dim]Match: how far the state's mean clears its weakest defining move, in standard deviations "
                  "(a name needs every defining move met, >= 0; a state that meets no signature is calm).[/dim]")
    for note in report.notes:
        console.print(f"[yellow]Naming: {note}[/yellow]")
    for reason in report.degenerate:
        console.print(f"[bold red]Degenerate regime model: {reason}[/bold red]")


def print_regime_comparison(table: pd.DataFrame) -> None:
    """The regime-model comparison, the chosen candidate first in bold."""
    from training.evaluation.regime_selection import MAX_REFIT_FLIPS, MIN_SEED_AGREEMENT, MIN_WF_FINAL_AGREEMENT

    t = Table(title="Regime models on the walk-forward (before the sealed segment)")
    for col in ("candidate", "OOS loglik/day", "BIC", "seeds agree", "WF vs final", "refit flips", "mean spell",
                "smallest state", "names (match)", "eligible", *(["planted truth"] if "truth_agreement" in table else [])):
        t.add_column(col, justify="left" if col in ("candidate", "names (match)") else "right")
    for r in table.itertuples():
        style = "[bold]" if r.chosen else ""
        truth = [_fmt(r.truth_agreement, pct=True)] if "truth_agreement" in table else []
        t.add_row(style + r.candidate, _fmt(r.oos_loglik), "–" if math.isnan(r.bic) else f"{r.bic:,.0f}",
                  _fmt(r.seed_agreement, pct=True), _fmt(r.wf_final_agreement, pct=True),
                  _fmt(r.refit_flip_rate, pct=True), f"{r.mean_spell_days:.0f}d", _fmt(r.min_share, pct=True),
                  r.names, ("yes" if r.eligible else "no") + (f" (degenerate: {r.degenerate})" if r.degenerate else ""), *truth)
    console.print(t)
    dm_cols = [c for c in table.columns if c.startswith("dm_")]
    if dm_cols:
        t = Table(title="What the regimes add to the forecast: Diebold-Mariano vs the same model without regimes "
                        "(negative favours the regimes; p two-sided)")
        t.add_column("candidate")
        for c in dm_cols:
            t.add_column(c.removeprefix("dm_"), justify="right")
        for r in table.itertuples():
            t.add_row(r.candidate, *[f"{getattr(r, c):+.2f} (p {getattr(r, 'p_' + c.removeprefix('dm_')):.2f})" for c in dm_cols])
        console.print(t)
    chosen = table[table.chosen]
    if len(chosen):
        console.print(f"The evidence favours [bold]{chosen.candidate.iloc[0]}[/bold]: eligible (not degenerate, both "
                      f"phases named, seeds agree >= {MIN_SEED_AGREEMENT:.0%}, walk-forward vs final >= "
                      f"{MIN_WF_FINAL_AGREEMENT:.0%}, <= {MAX_REFIT_FLIPS:.0%} relabelled between refits) with the highest "
                      "out-of-sample log-likelihood.")
    else:
        console.print("[yellow]No candidate is eligible (not degenerate, both phases named, stable across seeds and "
                      "refits).[/yellow]")


def _is_outlook_column(name: str) -> bool:
    """Distribution and regime-forecast columns (``q10_21d``, ``p_up_21d``, ``p_fear_21d``, ``spell_left_days``)."""
    import re

    return name == "spell_left_days" or re.fullmatch(r"(q\d+|p_.+)_\d+d", name) is not None


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


def print_predictions(out: pd.DataFrame, rows: int, model_uri: str, output: Path | None, skill: str = "") -> None:
    """The latest ``rows`` forecasts as a table (returns shown as % price change), their measured skill
    (:func:`training.display.skill.skill_line`), then the latest date's forecast distribution and regime outlook."""
    import numpy as np

    from models.units import format_pct as pct

    main = [c for c in out.columns if not _is_outlook_column(c)]
    t = Table(title=f"Forecasts from {model_uri} (forward BTC price change, %; regime probabilities are filtered)")
    for c in main:
        t.add_column(c, justify="right")
    for _, r in out.tail(rows).iterrows():
        cells = []
        for c in main:
            v = r[c]
            if c.startswith("forecast_"):
                cells.append(pct(v))
            elif c.startswith("p_"):
                cells.append(f"{v:.2f}")
            else:
                cells.append(str(v))
        t.add_row(*cells)
    console.print(t)
    if skill:
        console.print(skill, markup=False, highlight=False, soft_wrap=True)
    horizons = [int(c.removeprefix("forecast_").removesuffix("d")) for c in main if c.startswith("forecast_")]
    if len(out) and rows and all(f"q10_{h}d" in out for h in horizons):
        last = out.iloc[-1]
        t = Table(title=f"Forecast distribution on {last['date']} (10/50/90% quantiles, P(return > 0))")
        for c in ("horizon", "forecast", "10%", "median", "90%", "P(up)"):
            t.add_column(c, justify="right")
        for h in horizons:
            t.add_row(f"{h}d", pct(last[f"forecast_{h}d"]), pct(last[f"q10_{h}d"]), pct(last[f"q50_{h}d"]),
                      pct(last[f"q90_{h}d"]), f"{last[f'p_up_{h}d']:.0%}")
        console.print(t)
        names = [c[2:] for c in main if c.startswith("p_") and all(f"{c}_{h}d" in out for h in horizons)]
        if names:
            t = Table(title=f"Regime outlook on {last['date']}: P(regime in h business days)")
            for c in ("horizon", *names):
                t.add_column(c, justify="right")
            for h in horizons:
                t.add_row(f"{h}d", *(f"{last[f'p_{n}_{h}d']:.0%}" for n in names))
            console.print(t)
            if "spell_left_days" in out and np.isfinite(last["spell_left_days"]):
                console.print(f"Expected to stay {last['regime']} for about {last['spell_left_days']:.0f} more business days.")
    if output:
        console.print(f"Wrote {len(out)} rows to {output} (forecast_/q*_ columns are log returns: "
                      "price change = exp(value) - 1)", markup=False, highlight=False, soft_wrap=True)
