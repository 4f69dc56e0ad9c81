"""How trustworthy are the regime labels? Persistence, stability across refits and seeds, names, truth."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from regime.diagnostics import degeneracy_reasons


def mean_spell_length(labels: pd.Series) -> float:
    """Average run length (in rows) of consecutive identical labels."""
    labels = labels.dropna()
    if labels.empty:
        return float("nan")
    spells = labels.ne(labels.shift()).cumsum()
    return float(labels.groupby(spells).size().mean())


def refit_flip_rate(fold_labels: dict[int, pd.Series]) -> float:
    """Share of dates whose label changed between consecutive refits (fold k vs k-1).

    Each fold labels every date up to the end of its test block with its own HMM; the
    comparison is on the dates both folds label.
    """
    flips, total = 0, 0
    keys = sorted(fold_labels)
    for prev, cur in zip(keys, keys[1:]):
        a, b = fold_labels[prev].dropna(), fold_labels[cur].dropna()
        common = a.index.intersection(b.index)
        flips += int((a.loc[common] != b.loc[common]).sum())
        total += len(common)
    return flips / total if total else float("nan")


def agreement(labels: pd.Series, truth: pd.Series) -> float:
    """Share of the dates both label where the two labels are equal (e.g. against the demo's planted truth)."""
    truth = truth.reindex(labels.index)
    ok = labels.notna() & truth.notna()
    return float((labels[ok] == truth[ok]).mean()) if ok.any() else float("nan")


def regime_quality(oos_labels: pd.Series, fold_labels: dict[int, pd.Series], truth: pd.Series | None = None) -> dict[str, float]:
    """Summary: mean spell length, refit flip rate, label shares and (when known) agreement with the truth."""
    out = {"mean_spell_days": mean_spell_length(oos_labels), "refit_flip_rate": refit_flip_rate(fold_labels)}
    for name, share in oos_labels.value_counts(normalize=True).items():
        out[f"share_{name}"] = float(share)
    if truth is not None:
        out["truth_agreement"] = agreement(oos_labels, truth)
        counts = truth.reindex(oos_labels.index).value_counts(normalize=True)
        out["chance_agreement"] = float(np.sum(counts.to_numpy() ** 2))
    return out


@dataclass
class RegimeReport:
    """What a run says about its regime model.

    Attributes
    ----------
    metrics : dict of str -> float
        Logged as ``regime.<name>``: spell, flips, shares, agreements, degeneracy.
    states : pd.DataFrame
        One row per state of the final model: name, share of days, match with its name's
        phase, best phase and match, and the state's standardised mean of each observation.
    notes : list of str
        Phases no state matches (see :func:`regime.naming.naming_notes`).
    degenerate : list of str
        Why the final model is degenerate (empty: it is not); such a model cannot be champion.
    """

    metrics: dict[str, float]
    states: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    degenerate: list[str] = field(default_factory=list)


def regime_report(
    oos_labels: pd.Series,
    fold_labels: dict[int, pd.Series],
    final_model: Any,
    observations: pd.DataFrame,
    seed_labels: pd.Series | None = None,
    truth: pd.Series | None = None,
) -> RegimeReport:
    """Quality of a run's regime layer: persistence, stability, names, degeneracy.

    Parameters
    ----------
    oos_labels : pd.Series
        Walk-forward labels (each test date labelled by its own fold's model).
    fold_labels : dict
        Each fold's labels up to its test block's end (for the refit flip rate).
    final_model : fitted regime model
        The model registered with the run.
    observations : pd.DataFrame
        The regime observations the final model filters (complete rows from the start).
    seed_labels : pd.Series, optional
        The final labels of the same chain refitted under another seed.
    truth : pd.Series, optional
        Planted regimes (demo market).
    """
    metrics = regime_quality(oos_labels, fold_labels, truth)
    final_labels = final_model.predict(observations)
    metrics["wf_final_agreement"] = agreement(oos_labels, final_labels)
    if seed_labels is not None:
        metrics["seed_agreement"] = agreement(final_labels, seed_labels)
    state_proba = final_model.filter_state_proba(observations)
    reasons = degeneracy_reasons(state_proba)
    metrics["degenerate"] = float(bool(reasons))
    metrics["n_states"] = float(final_model.n_states)
    winners = state_proba.dropna().to_numpy().argmax(axis=1)
    states = final_model.state_match()
    states.insert(1, "share", [float(np.mean(winners == i)) for i in range(len(states))])
    means = pd.DataFrame(final_model.state_means_, index=states.index, columns=final_model.columns_)
    states = pd.concat([states, means.add_prefix("mean_")], axis=1)
    for state, row in states.iterrows():
        if np.isfinite(row["match"]):
            metrics[f"match_{state}"] = float(row["match"])
    return RegimeReport(metrics, states, list(final_model.naming_notes_), reasons)
