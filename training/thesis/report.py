"""The thesis report: lead-lag figures and one self-contained HTML file (images as base64 PNG).

:func:`leadlag_figure` and :func:`event_figure` are also what ``regime leadlag`` saves
as PNG files. :func:`render_html` turns a :class:`ReportData` into the page; it links to
nothing outside the file.
"""

from __future__ import annotations

import base64
import html
import io
import tempfile
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from models.explain import Explanation, describe_feature, global_importance
from models.units import format_pct as _pct
from training.display import plots
from training.thesis.leadlag import ALL, DIFFERENCE, LeadLagResult, verdict
from training.thesis.now import NowState, spell_text
from training.thesis.sequence import sequence_table, sequence_verdict

REPORT_ARTIFACT_DIR = "report"
_GROUP_COLORS = {ALL: "#222222", **plots.REGIME_COLORS, "calm": "#7f7f7f"}


# --------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------
def leadlag_figure(result: LeadLagResult) -> Figure:
    """HAC t-statistic and correlation by lag, overall and per regime."""
    fig = Figure(figsize=(11, 6.5))
    ax_t, ax_c = fig.subplots(2, 1, sharex=True)
    reg = result.regressions
    for group, part in reg[reg.group != DIFFERENCE].groupby("group", sort=False):
        style = {"color": _GROUP_COLORS.get(group, "#1f77b4"), "lw": 2.0 if group == ALL else 1.2}
        ax_t.plot(part["lag"], part["t"], label=group, **style)
        ax_c.plot(part["lag"], part["corr"], label=group, **style)
    for level in (-1.96, 1.96):
        ax_t.axhline(level, color="grey", ls="--", lw=0.8)
    ax_t.axhline(0, color="k", lw=0.5)
    ax_c.axhline(0, color="k", lw=0.5)
    ax_t.set_ylabel("HAC t-statistic")
    ax_c.set_ylabel("correlation")
    ax_c.set_xlabel(f"lag L (business days) of {result.metal}'s {result.window}-day return")
    ax_t.set_title(f"Does {result.metal} lead BTC? {result.window}-day {result.metal} return lagged L days "
                   f"vs BTC's {result.horizon}-day forward return\n(dashed: |t| = 1.96, nominal, before the "
                   "lag-scan correction)", fontsize=10)
    ax_t.legend(loc="upper right", ncol=4, fontsize=8)
    fig.set_layout_engine("tight")  # laid out while it is drawn: one drawing per figure
    return fig


def event_figure(result: LeadLagResult) -> Figure:
    """BTC's excess cumulative return after the metal's breakouts, one panel per group."""
    study = result.events
    groups = [g for g in study.groups if f"{g}_mean" in study.paths]
    fig = Figure(figsize=(3.6 * len(groups) + 1, 3.8))
    axes = np.atleast_1d(fig.subplots(1, len(groups), sharey=True))
    days = study.paths.index
    for ax, g in zip(axes, groups, strict=True):
        color = _GROUP_COLORS.get(g, "#1f77b4")
        n = int((study.events == g).sum()) if g != ALL else len(study.events)
        ax.fill_between(days, study.paths[f"{g}_lo"] * 100, study.paths[f"{g}_hi"] * 100, color=color, alpha=0.2, lw=0)
        ax.plot(days, study.paths[f"{g}_mean"] * 100, color=color, lw=1.8)
        ax.axhline(0, color="k", lw=0.5)
        ax.set_title(f"{g} (n={n})")
        ax.set_xlabel("business days after breakout")
    axes[0].set_ylabel("BTC excess log return, %")
    fig.suptitle(f"BTC after {result.metal} 52-week-high breakouts, minus BTC's average path "
                 f"({study.level:.0%} bootstrap band)", fontsize=10)
    fig.set_layout_engine("tight")  # laid out while it is drawn: one drawing per figure
    return fig


def figure_png(fig: Figure) -> bytes:
    """PNG bytes of a matplotlib figure (drawn once: no ``bbox_inches="tight"``, which draws it twice)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


def _via_file(draw: Callable[..., Path], *args: Any) -> bytes:
    """PNG bytes of a :mod:`training.display.plots` function that writes to a path."""
    with tempfile.TemporaryDirectory() as tmp:
        return Path(draw(*args, Path(tmp) / "figure.png")).read_bytes()


# --------------------------------------------------------------------------------------
# Report data and HTML
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReportData:
    """Everything the report shows.

    Attributes
    ----------
    model_label : str
        Registered model name and version (or URI).
    run_id : str
        Training run of the model.
    source : str
        Where the report's data came from (:func:`training.display.data_line.describe_source`).
    data_range : tuple of str
        First and last date of complete features in the scored data.
    trained_range : tuple of str
        The model's training data range.
    now : NowState
    leadlag : dict of str -> LeadLagResult, or a Future of one
        A Future (the lag scans still running) is waited for once every other section is
        drawn, so the scans and the other figures overlap.
    regime_source : str
        Where the lead-lag regimes came from.
    aligned : pd.DataFrame
        Point-in-time prices (for the timeline).
    regimes : pd.Series
        Filtered regime per date from the registered model (used to split the lead-lag evidence).
    scores : pd.DataFrame or None
        The run's ``walk_forward_scores.csv``.
    dm : pd.DataFrame or None
        The run's ``diebold_mariano.csv``.
    expl : Explanation
        SHAP values of the main horizon over all dates.
    generated : str
        Timestamp of the report.
    data_note : str
        How the data relate to the model (the data line's note).
    stale : str or None
        Warning that the data end long before the report was generated.
    oos_regimes : pd.Series or None
        The walk-forward (out-of-sample) labels of the model's training run, shown on the
        timeline; None when the run logged none (the timeline then shows ``regimes``, captioned
        as labels of an HMM fitted on all the training data).
    distribution : pd.DataFrame or None
        The run's ``evaluation/distribution/distribution.csv`` (coverage, CRPS, Brier).
    regime_forecast : pd.DataFrame or None
        The run's ``evaluation/distribution/regime.csv`` (scores of the regime forecast).
    leadlag_note : str
        Whether the lead-lag scan comes from the training run or was computed now, and why
        (:func:`training.thesis.leadlag_store.logged_scan`).
    leadlag_figures : dict or None
        PNG bytes of the lead-lag figures the training run drew from the same results
        (metal -> ``leadlag``/``events``); None: draw them now.
    shap_png : bytes or None
        The SHAP summary figure the training run drew from the same explanation
        (:func:`training.thesis.report_cache.logged_figure`); None: draw it now.
    timeline_png : bytes or None
        The timeline of ``oos_regimes`` the training run drew from the same prices and labels; None: draw it now.
    fan_png : bytes or None
        The fan chart the training run drew for the same date, prices and forecast; None: draw it now.
    """

    model_label: str
    run_id: str
    source: str
    data_range: tuple[str, str]
    trained_range: tuple[str, str]
    now: NowState
    leadlag: dict[str, LeadLagResult] | Future
    regime_source: str
    aligned: pd.DataFrame
    regimes: pd.Series
    scores: pd.DataFrame | None
    dm: pd.DataFrame | None
    expl: Explanation
    generated: str
    data_note: str = ""
    stale: str | None = None
    oos_regimes: pd.Series | None = None
    distribution: pd.DataFrame | None = None
    regime_forecast: pd.DataFrame | None = None
    leadlag_note: str = ""
    leadlag_figures: dict[str, dict[str, bytes]] | None = None
    shap_png: bytes | None = None
    timeline_png: bytes | None = None
    fan_png: bytes | None = None


_CSS = """
body{font-family:-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:0;background:#f4f5f7;color:#1d2330}
header{background:#1d2330;color:#fff;padding:28px 48px}
header h1{margin:0 0 6px;font-size:26px}
header .meta{color:#b9c0cc;font-size:14px;line-height:1.6}
main{max-width:1180px;margin:0 auto;padding:24px 32px 48px}
section{background:#fff;border-radius:10px;box-shadow:0 1px 3px rgba(0,0,0,.08);padding:20px 28px;margin:20px 0}
h2{margin:4px 0 14px;font-size:20px;border-bottom:2px solid #eef0f3;padding-bottom:8px}
h3{font-size:16px;margin:20px 0 8px}
p{line-height:1.55}
table{border-collapse:collapse;font-size:13px;margin:8px 0 14px}
th,td{padding:5px 10px;border-bottom:1px solid #e6e8ec;text-align:right}
th{background:#f7f8fa;font-weight:600}
td:first-child,th:first-child,td.text{text-align:left}
img{max-width:100%;height:auto;display:block;margin:10px 0}
.badge{display:inline-block;padding:4px 12px;border-radius:14px;color:#fff;font-weight:600}
.cards{display:flex;gap:16px;flex-wrap:wrap}
.card{flex:1 1 220px;background:#f7f8fa;border-radius:8px;padding:12px 16px}
.card .big{font-size:22px;font-weight:600}
.bar{height:10px;background:#e6e8ec;border-radius:5px;overflow:hidden;margin:3px 0 8px}
.bar span{display:block;height:100%}
.verdict{background:#fff8e6;border-left:4px solid #f0b429;padding:10px 14px;margin:10px 0}
.note{color:#5b6475;font-size:13px}
.skill{background:#fff8e6;border-left:4px solid #f0b429;padding:6px 10px;margin:8px 0;font-size:13px}
.stale{background:#f0b429;color:#1d2330;border-radius:6px;padding:8px 14px;margin-top:12px;font-size:14px}
footer{color:#5b6475;font-size:12px;text-align:center;padding:12px}
"""


def _img(png: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">'


def _table(frame: pd.DataFrame, formats: dict[str, str] | None = None) -> str:
    formats = formats or {}
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = []
    for _, row in frame.iterrows():
        cells = []
        for c in frame.columns:
            v = row[c]
            if isinstance(v, (float, np.floating)):
                text = "–" if not np.isfinite(v) else format(v, formats.get(c, ".3f"))
                cells.append(f"<td>{html.escape(text)}</td>")
            else:
                cells.append(f'<td class="text">{html.escape(str(v))}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _now_section(now: NowState, aligned: pd.DataFrame, fan_png: bytes | None = None) -> str:
    color = _GROUP_COLORS.get(now.regime, "#1f77b4")
    bars = "".join(
        f"<div>{html.escape(label)} {p:.0%}</div><div class='bar'><span style='width:{p * 100:.1f}%;"
        f"background:{_GROUP_COLORS.get(label, '#1f77b4')}'></span></div>"
        for label, p in now.proba.items()
    )
    fc = now.forecasts.reset_index()
    head = now.forecasts.loc[21] if 21 in now.forecasts.index else now.forecasts.iloc[0]
    head_h = 21 if 21 in now.forecasts.index else int(now.forecasts.index[0])
    q_lo, q_hi = now.band
    bands = [f"{_pct(lo)} to {_pct(hi)}" for lo, hi in zip(fc["lo"], fc["hi"], strict=True)]
    if now.band_source == "forecast distribution":
        fc_table = pd.DataFrame({
            "horizon (business days)": fc["horizon"].astype(str),
            "forecast": [_pct(v) for v in fc["forecast"]],
            "median": [_pct(v) for v in fc["median"]],
            f"{q_hi - q_lo:.0%} band ({q_lo:.0%}–{q_hi:.0%} quantiles)": bands,
            "P(up)": [f"{p:.0%}" for p in fc["p_up"]],
        })
        band_note = ("Bands are quantiles of the model's forecast distribution: the forecast plus BTC's current "
                     "volatility times the standardised history of its returns, so they widen when BTC is volatile. "
                     "Walk-forward coverage of the 80% band is in the training run.")
    else:
        fc_table = pd.DataFrame({
            "horizon (business days)": fc["horizon"].astype(str),
            "forecast": [_pct(v) for v in fc["forecast"]],
            f"band ({q_lo:.0%}–{q_hi:.0%} of past out-of-sample errors)": bands,
            "errors behind the band": fc["n_oos"].astype(str),
        })
        band_note = "Bands are quantiles of past out-of-sample errors: the same width every day."
    outlook_html = ""
    if len(now.outlook):
        table = now.outlook.reset_index().assign(horizon=lambda d: d.horizon.astype(str) + " days")
        spell = (f" The {html.escape(now.regime)} regime is expected to last about {now.spell_left:.0f} more "
                 "business days." if np.isfinite(now.spell_left) else "")
        outlook_html = (f"<h3>Regime outlook: P(regime in h business days)</h3>{_table(table, {n: '.0%' for n in now.outlook.columns})}"
                        f"<p class='note'>From the regime model's transition matrix and today's filtered "
                        f"probabilities.{spell}</p>")
    skill_html = f"<p class='skill'>{html.escape(now.skill)}</p>" if now.skill else ""
    fan_html = ""
    if now.fan:
        fan_html = _img(fan_png or _via_file(plots.fan_chart, aligned["btc_usd"], now.date, now.fan), "forecast fan chart")
    drivers = now.drivers.drop(columns="contribution").assign(feature=lambda d: d.feature.map(describe_feature))
    drivers = drivers.rename(columns={"contribution_pts": "contribution (pts)"})
    flips = now.flips.groupby("to_regime", sort=False).head(2).copy()
    flips = flips[["to_regime", "observation", "move_sd", "change", "new_proba"]].rename(
        columns={"to_regime": "to regime", "observation": "HMM observation", "move_sd": "move (sd)",
                 "new_proba": "new probability"})
    flip_html = _table(flips, {"move (sd)": "+.2f", "new probability": ".0%"}) if len(flips) else \
        "<p>No single observation move within ±6 standard deviations would flip the regime today.</p>"
    names = now.names.reset_index().rename(columns={"index": "state", "label": "name", "match": "match (weakest move)",
                                                     "best_phase": "best phase", "best_match": "best match"})
    names_html = _table(names, {"match (weakest move)": "+.2f", "best match": "+.2f"}) if len(names) else ""
    notes = "".join(f"<p class='note'>{html.escape(n)}.</p>" for n in now.naming_notes)
    notes += f"<p>Now: {html.escape(now.story)}.</p>" if now.story else ""
    if now.sequence is not None:
        notes += ("<h3>The thesis's sequence: what followed the fear spells</h3><p class='note'>Spells of the "
                  "walk-forward's (out-of-sample) labels, not days; 90% bootstrap interval; p: permutation test "
                  "against the spells of the other regimes.</p>" + _table(sequence_table(now.sequence))
                  + f"<p>{html.escape(sequence_verdict(now.sequence).capitalize())}.</p>")
    return f"""
<section id="now"><h2>Current state</h2>
<div class="cards">
 <div class="card"><div class="note">Regime on {now.date:%Y-%m-%d}</div>
  <div class="big"><span class="badge" style="background:{color}">{html.escape(now.regime)}</span></div>
  <div class="note">{spell_text(now)}</div></div>
 <div class="card"><div class="note">Filtered regime probabilities</div>{bars}</div>
 <div class="card"><div class="note">BTC over the next {head_h} business days</div>
  <div class="big">{_pct(head.forecast)}</div>
  <div class="note">band {_pct(head.lo)} to {_pct(head.hi)}{
      f" · P(up) {head.p_up:.0%}" if np.isfinite(head.get("p_up", np.nan)) else ""}</div>
  <div class="skill">{html.escape(now.headline_skill)}</div></div>
</div>
<h3>Forecasts of BTC's price change</h3>{_table(fc_table)}
<p class="note">{band_note}</p>{fan_html}{skill_html}{outlook_html}
<p>{html.escape(now.narrative)}</p>
<h3>Top drivers (SHAP, {now.drivers.shape[0]} largest)</h3>
{_table(drivers, {"value": ".4g", "percentile": ".0f", "contribution (pts)": "+.2f"})}
<h3>How the regimes earned their names</h3>
<p class="note">A state is named only when its mean meets every defining move of a signature (for fear: the
metals up and beating BTC over a month and a quarter; for debasement: BTC beating the metals, liquidity,
money or breakevens up, the dollar not rising; stress and tightening are neither phase); the match is how
far it clears its weakest move, in standard deviations. A state that meets no signature is called calm.</p>
{names_html}{notes}
<h3>What would flip the regime</h3>
<p class="note">Smallest change of one HMM observation today (others unchanged, yesterday's filtered
probabilities as prior) that makes another regime the most probable; moves in the regime model's standard
deviations and in the observation's units.</p>
{flip_html}
</section>"""


def _event_cell(row) -> str:
    if not np.isfinite(row.mean_excess):
        return "–"
    band = f" [{row.lo:+.3f}, {row.hi:+.3f}]" if np.isfinite(row.lo) else ""
    p = f", p={row.p:.2f}" if np.isfinite(row.p) else ""
    return f"{row.mean_excess:+.3f}{band}{p}, n={row.events}"


def _leadlag_section(results: dict[str, LeadLagResult], regime_source: str, note: str = "",
                     pngs: dict[str, dict[str, bytes]] | None = None) -> str:
    parts = [f"""<section id="leadlag"><h2>Lead-lag evidence: does metal strength lead Bitcoin?</h2>
<p class="note">Predictive regressions of BTC's forward return on the metal's trailing return lagged L business
days (Newey-West standard errors); <b>p scan</b> is the family-wise p-value of the best lag after scanning every
lag (circular-shift null). A regime's row fits the slope on that regime's days; the row <i>debasement minus
fear</i> is the difference of the two phases' slopes (does the metals' lead pay off more in phase two?), not a
regime. Regimes: {html.escape(regime_source)}.</p>""" + (f'<p class="note">{html.escape(note[0].upper() + note[1:])}.</p>'
                                                          if note else "")]
    for metal, res in results.items():
        drawn = (pngs or {}).get(metal) or {"leadlag": figure_png(leadlag_figure(res)),
                                            "events": figure_png(event_figure(res))}
        best = res.best.reset_index()[["group", "lag", "beta", "t", "p", "p_scan", "n"]].rename(columns={"p_scan": "p scan"})
        granger = {col: res.granger.pivot(index="group", columns="weeks", values=col)
                   .reindex(res.granger.group.unique()).rename(columns=lambda w: f"{w} wk").reset_index()
                   for col in ("p", "p_robust")}
        events = res.events.summary.assign(cell=lambda d: [_event_cell(r) for r in d.itertuples()])
        events = events.pivot(index="group", columns="day", values="cell").reindex(events.group.unique())
        events = events.rename(columns=lambda d: f"day {d}").reset_index()
        parts.append(f"""<h3>{html.escape(metal.capitalize())}</h3>
<div class="verdict">{html.escape(verdict(res))}</div>
{_table(best, {"lag": ".0f", "beta": "+.3f", "t": "+.2f", "p": ".2g", "p scan": ".3f", "n": ".0f"})}
{_img(drawn["leadlag"], f"{metal} lead-lag scan")}
<h4>Granger-style tests: p-values of adding 1..k weekly {metal} returns to an AR(k) model of BTC's weekly return</h4>
<div class="cards"><div class="card">F-test{_table(granger["p"])}</div>
<div class="card">heteroskedasticity-robust Wald test{_table(granger["p_robust"])}</div></div>
<h4>Event study: BTC's excess log return after {metal} 52-week-high breakouts
(mean [{res.events.level:.0%} bootstrap band], t-test p, events)</h4>
{_table(events)}
{_img(drawn["events"], f"{metal} event study")}""")
    parts.append("</section>")
    return "\n".join(parts)


def _distribution_html(distribution: pd.DataFrame | None, regime: pd.DataFrame | None) -> str:
    """Coverage and scores of the forecast distributions and of the regime forecast (walk-forward)."""
    parts = []
    if distribution is not None and len(distribution):
        d = distribution[distribution.group != "non-overlap"]
        cov = d.pivot(index="horizon", columns="group", values="coverage")
        cov = cov[["all", *[c for c in cov.columns if c != "all"]]].rename(columns={"all": "overall"}).reset_index()
        overall = distribution[distribution.group == "all"]
        cols = {"horizon": "horizon", "width": "mean width", "base_width": "width, unconditional",
                "crps_skill": "CRPS skill", "crps_skill_lo": "lo", "crps_skill_hi": "hi",
                "brier": "Brier P(up)", "base_brier": "Brier, base rate", "brier_skill": "Brier skill"}
        sc = overall[[c for c in cols if c in overall]].rename(columns=cols)
        parts.append(f"""<h3>Forecast distributions: coverage of the 80% band (goal 80%)</h3>
{_table(cov, {"horizon": ".0f", **{c: ".1%" for c in cov.columns if c != "horizon"}})}
<h3>Forecast distributions against the unconditional one (expanding quantiles and base rate)</h3>
{_table(sc, {"horizon": ".0f", "mean width": ".3f", "width, unconditional": ".3f", "CRPS skill": "+.1%",
             "lo": "+.1%", "hi": "+.1%", "Brier P(up)": ".4f", "Brier, base rate": ".4f", "Brier skill": "+.1%"})}
<p class="note">Skill = 1 − score / reference score (positive: better than the unconditional distribution);
lo/hi: moving-block bootstrap 90% interval.</p>""")
    if regime is not None and len(regime):
        r = regime[regime.group == "all"]
        cols = {"horizon": "horizon", "n": "n", "brier_model": "Brier", "brier_persistence": "Brier, persistence",
                "brier_unconditional": "Brier, unconditional", "log_model": "log score",
                "log_unconditional": "log score, unconditional", "brier_skill_vs_unconditional": "skill vs unconditional"}
        parts.append(f"""<h3>Regime forecast P(regime in h business days)</h3>
{_table(r[list(cols)].rename(columns=cols), {"horizon": ".0f", "n": ".0f", "skill vs unconditional": "+.1%"})}""")
    return "".join(parts)


def _walk_forward_section(scores: pd.DataFrame | None, dm: pd.DataFrame | None, extra: str = "") -> str:
    if scores is None or scores.empty:
        return '<section id="walkforward"><h2>Walk-forward results against baselines</h2><p>The model run logged no scores.</p></section>'
    overall = scores[scores.regime == "all"]
    names = {"forecaster": "forecaster", "n": "n", "ic": "rank IC", "ic_lo": "IC lo", "ic_hi": "IC hi",
             "r2_oos": "OOS R²", "hit_rate": "hit rate", "mae": "MAE", "ic_nonoverlap": "IC non-overlap"}
    tables = "".join(
        f"<h3>{h}-day horizon</h3>" + _table(part[[c for c in names if c in part]].rename(columns=names),
                                             {"n": ".0f", "hit rate": ".1%", "MAE": ".4f", "OOS R²": "+.3f"})
        for h, part in overall.groupby("horizon")
    )
    dm_html = ""
    if dm is not None and not dm.empty:
        dm_html = "<h3>Diebold-Mariano: model vs best baseline</h3>" + _table(dm, {"horizon": ".0f", "dm_stat": "+.2f", "p_value": ".3f"})
    return f"""<section id="walkforward"><h2>Walk-forward results against baselines</h2>
<p class="note">Out-of-sample rank IC (with block-bootstrap interval), OOS R² against the expanding mean, hit rate
and MAE of forward log returns, from the model's training run.</p>{tables}{dm_html}{extra}</section>"""


def _shap_section(expl: Explanation, png: bytes | None = None) -> str:
    fam = expl.by_family(points=True).abs().mean().sort_values(ascending=False).rename("mean |SHAP| (pts)").reset_index()
    fam.columns = ["family", "mean |SHAP| (pts)"]
    top = global_importance(expl, points=True).head(10).assign(feature=lambda d: d.feature.map(describe_feature))
    return f"""<section id="shap"><h2>SHAP drivers of the {expl.horizon}-day forecast</h2>
{_img(png or _via_file(plots.shap_summary, expl), "SHAP summary")}
<div class="cards"><div class="card"><h3>By driver family</h3>{_table(fam, {"mean |SHAP| (pts)": ".2f"})}</div>
<div class="card"><h3>Top features</h3>{_table(top.rename(columns={"mean_abs_shap": "mean |SHAP| (pts)"}), {"mean |SHAP| (pts)": ".2f"})}</div></div>
</section>"""


def _timeline_section(data: ReportData) -> str:
    """The regime timeline, captioned with which labels it shows."""
    colours = "gold fear, green debasement, red stress, blue tightening, grey calm"
    oos = data.oos_regimes.dropna() if data.oos_regimes is not None else None
    if oos is not None and len(oos):
        labels = oos
        caption = (f"Walk-forward (out-of-sample) filtered regimes of the model's training run, "
                   f"{oos.index[0]:%Y-%m-%d} to {oos.index[-1]:%Y-%m-%d}: each date is labelled with "
                   "P(state | data up to that date) by an HMM fitted only on data before that date's "
                   f"walk-forward fold, as the model would have seen it then ({colours}).")
        if data.regimes.dropna().index[-1] > oos.index[-1]:
            caption += (" Later dates have no out-of-sample label; the current state above comes from the "
                        "registered model.")
    else:
        labels = data.regimes.dropna()
        caption = (f"Filtered regimes of the registered model's HMM ({colours}). Each date's label uses data up "
                   f"to that date, but the HMM was fitted on all the training data (to {data.trained_range[1]}), "
                   "so labels before then are in sample; the training run logged no out-of-sample labels.")
    reuse = getattr(data, "timeline_png", None) if labels is oos else None  # drawn by the run from the same data
    timeline = reuse or _via_file(plots.regime_timeline, data.aligned, labels)
    return f"""<section id="timeline"><h2>Regimes over BTC, silver and gold</h2>
<p class="note">{html.escape(caption)}</p>
{_img(timeline, "regime timeline")}</section>"""


def render_html(data: ReportData) -> str:
    """The whole report as one HTML document (no external resources)."""
    first, last = data.data_range
    note = f"; {html.escape(data.data_note)}" if data.data_note else ""
    stale = f'<div class="stale">Warning: {html.escape(data.stale)}</div>' if data.stale else ""
    sections = [_now_section(data.now, data.aligned, getattr(data, "fan_png", None)), _timeline_section(data), "",
                _walk_forward_section(data.scores, data.dm, _distribution_html(data.distribution, data.regime_forecast)),
                _shap_section(data.expl, data.shap_png)]
    leadlag = data.leadlag.result() if isinstance(data.leadlag, Future) else data.leadlag
    sections[2] = _leadlag_section(leadlag, data.regime_source, data.leadlag_note, data.leadlag_figures)  # last: its scans may still be running
    body = "\n".join(sections)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>BTC macro regime report {html.escape(last)}</title><style>{_CSS}</style></head>
<body><header><h1>Bitcoin macro regimes: testing the metals-lead thesis</h1>
<div class="meta">Data: {html.escape(data.source)}, {html.escape(first)} to {html.escape(last)}{note}<br>
Model {html.escape(data.model_label)} (trained on {html.escape(" to ".join(data.trained_range))}) ·
run {html.escape(data.run_id)} · generated {html.escape(data.generated)}</div>{stale}</header>
<main>
{body}
</main><footer>Returns are shown as simple percentages (price changes) and contributions in points of them;
the model's machine outputs (CSV, MLflow model) are log returns. Nothing here is investment advice.</footer>
</body></html>"""


def write_report(data: ReportData, path: Path) -> Path:
    """Render ``data`` to ``path`` (parents created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(data), encoding="utf-8")
    return path


def model_label(model_uri: str) -> str:
    """``name vN (@alias)`` for a registry URI (``models:/name@alias`` or ``models:/name/N``), else the URI."""
    from training.tracking.registry import current_version

    ref = model_uri.removeprefix("models:/")
    if ref == model_uri:
        return model_uri
    if "@" in ref:
        name, alias = ref.split("@", 1)
        mv = current_version(name, alias)
        return f"{name} v{mv.version} (@{alias})" if mv is not None else model_uri
    name, _, version = ref.partition("/")
    return f"{name} v{version}" if version else model_uri


def log_report(path: Path, run_id: str) -> str:
    """Attach the report to the model's MLflow run; returns the artifact path."""
    from mlflow import MlflowClient

    MlflowClient().log_artifact(run_id, str(path), REPORT_ARTIFACT_DIR)
    return f"{REPORT_ARTIFACT_DIR}/{path.name}"
