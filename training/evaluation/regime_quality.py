"""How trustworthy are the regime labels? Persistence, stability across refits, truth."""

from __future__ import annotations

import numpy as np
import pandas as pd


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
    """Share of dates where the label equals the planted truth (demo market only)."""
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
