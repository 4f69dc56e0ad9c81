"""Choosing the regime model by evidence: likelihood out of sample, stability, names.

Each candidate (number of states, covariance type, strength of the thesis's prior) runs the
regime layer's own walk-forward (:func:`training.evaluation.regime_chain.regime_chain`)
under two seeds. A candidate is *eligible* when it is not degenerate, names both of the
thesis's phases (a state meets every defining move of fear, one of debasement), a refit
under another seed agrees with it on at least :data:`MIN_SEED_AGREEMENT` of the days, its
walk-forward labels agree with its final model's on at least
:data:`MIN_WF_FINAL_AGREEMENT` of the out-of-sample days and at most
:data:`MAX_REFIT_FLIPS` of the dates change label between refits. Among eligible candidates
the one with the highest out-of-sample log-likelihood per day wins (ties within
:data:`LOGLIK_TIE` go to fewer states).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import clone

from features.design import Design
from models.pipeline import RegimeForecastPipeline
from regime.diagnostics import degeneracy_reasons
from regime.naming import DEBASEMENT, FEAR, NEUTRAL
from training.evaluation.folds import Fold
from training.evaluation.regime_chain import observed, regime_chain
from training.evaluation.regime_quality import (
    agreement,
    mean_spell_length,
    refit_flip_rate,
)

MIN_SEED_AGREEMENT = 0.95
MIN_WF_FINAL_AGREEMENT = 0.90
#: Largest share of dates relabelled between consecutive refits.
MAX_REFIT_FLIPS = 0.03
#: Out-of-sample log-likelihoods per day closer than this are a tie.
LOGLIK_TIE = 0.01


@dataclass(frozen=True)
class Candidate:
    """One regime model to compare.

    Attributes
    ----------
    n_states : int
    covariance_type : str
    anchor : float
        Pseudo-days of the thesis's prior on the state means (0: free states).
    """

    n_states: int
    covariance_type: str = "diag"
    anchor: float = 3000.0

    @property
    def name(self) -> str:
        return f"hmm {self.n_states} states ({self.covariance_type}, " + (
            f"anchor {self.anchor:g})" if self.anchor else "free)")

    def apply(self, template: RegimeForecastPipeline) -> RegimeForecastPipeline:
        """``template`` with this candidate's regime settings."""
        return clone(template).set_params(n_states=self.n_states, covariance_type=self.covariance_type,
                                          regime_anchor=self.anchor)


def default_candidates() -> list[Candidate]:
    """Free HMMs with 3, 4 and 5 states, and anchored ones with 3, 4 and 5 states at three prior strengths."""
    return ([Candidate(k, "diag", 0.0) for k in (3, 4, 5)]
            + [Candidate(k, "diag", a) for k in (3, 4, 5) for a in (700.0, 3000.0)])


def _parameters(model: object) -> int:
    """Free parameters of a fitted HMM (for BIC)."""
    k, d = model.n_states, len(model.columns_)
    cov = k * d if model.covariance_type == "diag" else k * d * (d + 1) // 2
    return (k - 1) + k * (k - 1) + k * d + cov


def assess_candidate(design: Design, template: RegimeForecastPipeline, folds: list[Fold], candidate: Candidate,
                     seeds: tuple[int, int] = (0, 1), truth: pd.Series | None = None) -> dict:
    """One row of the comparison: the candidate's chain under two seeds, scored."""
    settings = candidate.apply(template)
    chains = [regime_chain(design, settings, folds, random_state=s) for s in seeds]
    obs = observed(design)
    main = chains[0]
    final_labels = main.final.predict(obs)
    states = main.final.filter_state_proba(obs).dropna()
    reasons = degeneracy_reasons(states)
    match = main.final.state_match()
    named = {p: float(match.loc[match.label == p, "match"].max()) for p in main.final.label_names if p != NEUTRAL
             and (match.label == p).any()}
    row = {
        "candidate": candidate.name, "n_states": candidate.n_states,
        "covariance_type": candidate.covariance_type, "anchor": candidate.anchor,
        "oos_loglik": main.oos_loglik,
        "seed_agreement": agreement(final_labels, chains[1].final.predict(obs)),
        "wf_final_agreement": agreement(main.oos_labels, final_labels),
        "refit_flip_rate": refit_flip_rate(main.fold_labels),
        "mean_spell_days": mean_spell_length(main.oos_labels),
        "min_share": float(np.bincount(states.to_numpy().argmax(axis=1), minlength=candidate.n_states).min() / len(states)),
        "names": ", ".join(f"{p} {m:+.2f}" for p, m in named.items()) or "none",
        "degenerate": "; ".join(reasons),
    }
    if truth is not None:
        row["truth_agreement"] = agreement(main.oos_labels, truth)
    n = int(obs.dropna().shape[0])
    ll = float(main.final.score_) - n * float(np.log(main.final.scale_).sum())
    row["bic"] = -2 * ll + _parameters(main.final) * np.log(n)
    row["eligible"] = bool(not reasons and {FEAR, DEBASEMENT} <= set(named)
                           and row["seed_agreement"] >= MIN_SEED_AGREEMENT
                           and row["wf_final_agreement"] >= MIN_WF_FINAL_AGREEMENT
                           and row["refit_flip_rate"] <= MAX_REFIT_FLIPS)
    return row


def _forecasts(design: Design, template: RegimeForecastPipeline, cfg_folds: tuple[int, int, str]) -> dict[int, pd.DataFrame]:
    from training.evaluation.walk_forward import run_walk_forward

    initial_train, step, window = cfg_folds
    return run_walk_forward(design, template, initial_train, step, window, baselines=False).predictions


def forecast_value(
    design: Design, template: RegimeForecastPipeline, candidate: Candidate, folds: tuple[int, int, str],
    no_regime: dict[int, pd.DataFrame],
) -> dict[str, float]:
    """What the candidate's regimes add to the forecast: Diebold-Mariano against the no-regime model per horizon.

    Returns ``dm_<h>d`` (negative: the model with regimes has the lower squared error) and
    ``p_<h>d`` (two-sided) for each horizon.
    """
    from training.evaluation.metrics import diebold_mariano

    preds = _forecasts(design, candidate.apply(template), folds)
    out = {}
    for h, frame in preds.items():
        both = pd.concat({"realized": frame["realized"], "model": frame["model"],
                          "no_regime": no_regime[h]["model"]}, axis=1).dropna()
        stat, p = diebold_mariano(both["realized"].to_numpy(), both["model"].to_numpy(), both["no_regime"].to_numpy(), h)
        out[f"dm_{h}d"], out[f"p_{h}d"] = stat, p
    return out


def compare_regime_models(
    design: Design,
    template: RegimeForecastPipeline,
    folds: list[Fold],
    candidates: Iterable[Candidate] | None = None,
    progress: Callable[[int, int, Candidate], None] | None = None,
    forecast_folds: tuple[int, int, str] | None = None,
    truth: pd.Series | None = None,
) -> pd.DataFrame:
    """The comparison table, one row per candidate, with the chosen one marked.

    Parameters
    ----------
    design : Design
        Data to compare on (keep the sealed final segment out: nothing that chooses may
        look at the data it is judged on).
    template : RegimeForecastPipeline
        Everything but the candidates' regime settings.
    folds : list of Fold
        The walk-forward's folds.
    candidates : iterable of Candidate, optional
        Default :func:`default_candidates`.
    progress : callable, optional
        ``progress(done, total, candidate)`` after each candidate.
    forecast_folds : (initial_train, step, window), optional
        Also measure each candidate's forecast value (:func:`forecast_value`; a full
        walk-forward of the forecasters per candidate).
    truth : pd.Series, optional
        Planted regimes (demo market): adds the out-of-sample labels' agreement with them.
    """
    candidates = list(candidates or default_candidates())
    no_regime = _forecasts(design, clone(template).set_params(use_regime=False), forecast_folds) if forecast_folds else None
    rows = []
    for i, c in enumerate(candidates):
        row = assess_candidate(design, template, folds, c, truth=truth)
        if no_regime is not None:
            row.update(forecast_value(design, template, c, forecast_folds, no_regime))
        rows.append(row)
        if progress is not None:
            progress(i + 1, len(candidates), c)
    table = pd.DataFrame(rows)
    table["chosen"] = False
    best = choose(table)
    if best is not None:
        table.loc[best, "chosen"] = True
    return table


def choose(table: pd.DataFrame) -> int | None:
    """Index of the chosen row (see the module docstring), or None when no candidate is eligible."""
    eligible = table[table.eligible]
    if eligible.empty:
        return None
    scored = eligible[np.isfinite(eligible.oos_loglik)]
    if scored.empty:
        return None
    top = scored.oos_loglik.max()
    near = scored[scored.oos_loglik >= top - LOGLIK_TIE]
    return int(near.sort_values(["n_states", "oos_loglik"], ascending=[True, False]).index[0])
