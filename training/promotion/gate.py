"""The champion gate: which version users get at ``models:/btc-forward-return@champion``.

Promotion by evidence only: newer data are not evidence. The rule, in the order it is
applied (README and docs/decisions.md state the same):

1. ``--force-promote`` promotes (checks and figures are still recorded).
2. **Blocking checks** (:mod:`training.promotion.checks`): a degenerate regime model,
   nearly constant forecasts, a sealed-segment skill below the zero forecast's, or settings
   tuned on the dates the gate judges on. Any of them: ``challenger``, with the reasons.
3. No champion yet: promoted.
4. **Kind of data** (:mod:`training.promotion.lineage`): a model on real data (csv, live)
   takes over from a champion trained on the synthetic demo market; a demo model never
   replaces a real-data champion. The two are never compared.
5. **Data recency**: data that end before the champion's (run tag ``data.last``) never
   replace it.
6. **Same history**: the champion's own settings and folds, run on the candidate's data,
   must give back its logged walk-forward (realised returns and forecasts on every date it
   scored). Data that change it (another folder, a shuffled series, revised values) are
   not evidence of a better model: not promoted.
7. **Same recipe** as the champion (same chain and settings,
   :func:`training.tracking.fingerprint.recipe_fingerprint`): with the same history its
   forecasts of the champion's dates are the champion's, sealed segment included, so it is
   promoted as a refresh when its data end strictly later, else not a promotion.
8. **Other settings**: the champion's forecasts on the candidate's data and folds
   (:func:`training.promotion.champion.champion_forecasts`) against the candidate's, by
   squared error (*skill*: R² against the zero forecast, mean over horizons). On the sealed
   segment the candidate must be better beyond noise: a one-sided Diebold-Mariano test of
   the pooled loss differential with the longest horizon's overlap, p < :data:`GATE_ALPHA`;
   on the full walk-forward its skill must not be lower. Without a sealed segment the test
   runs on the full walk-forward.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from features.errors import RegimeError
from training.config import Config
from training.evaluation.skill import (
    dm_less,
    loss_differential,
    pooled_skill,
    scored_dates,
)
from training.promotion.champion import (
    ChampionRecord,
    champion_forecasts,
    logged_forecasts,
    same_folds,
    with_champion_folds,
)
from training.promotion.lineage import data_kind, history_change

logger = logging.getLogger(__name__)

#: One-sided significance level of the sealed-segment test.
GATE_ALPHA = 0.05


@dataclass(frozen=True)
class Candidate:
    """A freshly trained model as the gate sees it.

    Attributes
    ----------
    cfg : Config
        Its configuration (walk-forward settings for re-evaluating the champion).
    panel : pd.DataFrame
        Its raw panel.
    fingerprint : str
        The panel's content hash.
    recipe : str
        Hash of its unfitted chain.
    data_last : str
        Last business day of its design (ISO).
    predictions : dict of int -> pd.DataFrame
        Its walk-forward predictions (``realized``, ``model``, ...).
    sealed_start : pd.Timestamp or None
        First date of its sealed segment.
    blocking : list of str
        Failed checks (:func:`training.promotion.checks.blocking_reasons`).
    """

    cfg: Config
    panel: pd.DataFrame
    fingerprint: str
    recipe: str
    data_last: str
    predictions: Mapping[int, pd.DataFrame]
    sealed_start: pd.Timestamp | None
    blocking: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Comparison:
    """Candidate against champion on one segment, by pooled skill.

    Attributes
    ----------
    segment : str
        ``sealed segment`` or ``full walk-forward``.
    first, last : str
        First and last scored date.
    n : int
        Scored dates (both forecasts present, every horizon's return realised).
    candidate, champion : float
        Pooled skill of each.
    dm_stat, p_value : float
        One-sided Diebold-Mariano test that the candidate's squared error is lower.
    """

    segment: str
    first: str
    last: str
    n: int
    candidate: float
    champion: float
    dm_stat: float
    p_value: float

    def p_text(self) -> str:
        """The p-value as shown (identical losses leave nothing to test)."""
        return f"p = {self.p_value:.3f}" if np.isfinite(self.p_value) else "identical losses, no test"

    def text(self, version: str) -> str:
        """One line: the segment, its dates and the figures."""
        return (f"{self.segment} {self.first} → {self.last} ({self.n} dates): skill {self.candidate:+.4f} vs "
                f"champion v{version} {self.champion:+.4f} (difference {self.candidate - self.champion:+.4f}, "
                f"one-sided Diebold-Mariano {self.p_text()})")


@dataclass(frozen=True)
class GateDecision:
    """Whether to promote, why, and the figures behind it.

    Attributes
    ----------
    promote : bool
    reason : str
        One line.
    details : tuple of str
        What was compared, on which dates, with the numbers.
    figures : dict of str -> float
        The same numbers, for the run's metrics (``gate.*``).
    champion_version : str or None
        The champion it was compared with.
    """

    promote: bool
    reason: str
    details: tuple[str, ...] = ()
    figures: dict[str, float] = field(default_factory=dict)
    champion_version: str | None = None


def compare(predictions: Mapping[int, pd.DataFrame], champion: Mapping[int, pd.DataFrame],
            sealed_start: pd.Timestamp | None) -> tuple[Comparison | None, Comparison]:
    """The candidate's forecasts (column ``model``) against the champion's, on the sealed segment and overall.

    Parameters
    ----------
    predictions : dict of int -> pd.DataFrame
        The candidate's walk-forward predictions.
    champion : dict of int -> pd.DataFrame
        The champion's forecasts (column ``model``) on the same data; only the horizons both have are compared.
    sealed_start : pd.Timestamp or None

    Returns
    -------
    sealed : Comparison or None
        None without a sealed segment.
    full : Comparison

    Raises
    ------
    ValueError
        When the two share no horizon or no scored date.
    """
    horizons = [h for h in predictions if h in champion]
    if not horizons:
        raise ValueError(f"the champion forecasts none of the horizons {', '.join(map(str, predictions))}")
    merged = {h: predictions[h][["realized", "model"]].assign(champion=champion[h]["model"].reindex(predictions[h].index))
              for h in horizons}
    everything = scored_dates(merged, ("model", "champion"))
    if len(everything) == 0:
        raise ValueError("the champion has no forecast on the candidate's scored dates")

    def on(segment: str, dates: pd.DatetimeIndex) -> Comparison:
        stat, p = dm_less(loss_differential(merged, "model", "champion", dates).to_numpy(), max(horizons))
        return Comparison(segment, dates[0].date().isoformat(), dates[-1].date().isoformat(), len(dates),
                          pooled_skill(merged, "model", dates), pooled_skill(merged, "champion", dates), stat, p)

    sealed = None if sealed_start is None else on("sealed segment", everything[everything >= sealed_start])
    return sealed, on("full walk-forward", everything)


def _figures(sealed: Comparison | None, full: Comparison) -> dict[str, float]:
    out = {}
    for name, c in (("sealed", sealed), ("full", full)):
        if c is not None:
            out |= {f"gate.{name}.candidate_skill": c.candidate, f"gate.{name}.champion_skill": c.champion,
                    f"gate.{name}.dm_stat": c.dm_stat, f"gate.{name}.p_value": c.p_value}
    return {k: v for k, v in out.items() if np.isfinite(v)}


def _kind_change(candidate: Candidate, champion: ChampionRecord) -> GateDecision | None:
    """Rule 4: a model on real data takes over from a demo champion; a demo model never replaces a real-data one."""
    new, old = data_kind(candidate.cfg.data.source), data_kind(champion.source)
    if new is None or old is None or new == old:
        return None
    version = champion.version
    if new == "real data":
        return GateDecision(True, f"first model on real data ({candidate.cfg.data.source}): takes over from champion "
                                  f"v{version}, trained on the synthetic demo market, which never stands in the way "
                                  "of a model on real data (the two are not compared)", champion_version=version)
    return GateDecision(False, f"not promoted: trained on the synthetic demo market; champion v{version} was trained on "
                               f"real data ({champion.source}), which a demo model never replaces (--force-promote "
                               "overrides)", champion_version=version)


def _replayed(candidate: Candidate, champion: ChampionRecord) -> tuple[dict[int, pd.DataFrame], str]:
    """The champion's settings and folds run on the candidate's data (the candidate's own walk-forward if they are its)."""
    if champion.recipe == candidate.recipe and same_folds(champion, candidate.cfg):
        return dict(candidate.predictions), "the candidate's own walk-forward (the champion's settings and folds)"
    return champion_forecasts(champion, with_champion_folds(champion, candidate.cfg), candidate.panel,
                              candidate.fingerprint)


def _history(candidate: Candidate,
             champion: ChampionRecord) -> tuple[str | None, dict[int, pd.DataFrame] | None, str]:
    """Rule 6: how the candidate's data change the champion's history.

    Returns
    -------
    change : str or None
        What differs (None: the same data, or data that keep the history).
    replayed : dict of int -> pd.DataFrame or None
        The champion's settings and folds on the candidate's data (None for the same data).
    how : str
        How ``replayed`` was obtained.
    """
    if champion.fingerprint == candidate.fingerprint:
        return None, None, "the same data"
    logged = logged_forecasts(champion.run_id)
    if logged is None:
        return "its logged walk-forward cannot be read, so whether these data keep it cannot be told", None, "none"
    replayed, how = _replayed(candidate, champion)
    return history_change(logged, replayed), replayed, how


def decide_promotion(candidate: Candidate, champion: ChampionRecord | None, force: bool = False) -> GateDecision:
    """Apply the gate rule (see the module docstring).

    Parameters
    ----------
    candidate : Candidate
    champion : ChampionRecord or None
        The current champion (None: there is none).
    force : bool
        ``--force-promote``.

    Returns
    -------
    GateDecision
    """
    version = champion.version if champion is not None else None
    blocked = tuple(f"blocked: {r}" for r in candidate.blocking)
    if force:
        return GateDecision(True, "promotion forced (--force-promote)", blocked, champion_version=version)
    if blocked:
        if champion is not None and champion.data_last is not None and candidate.data_last < champion.data_last:
            blocked += (f"and its data end {candidate.data_last}, before champion v{version}'s {champion.data_last}",)
        return GateDecision(False, f"not promoted: {len(candidate.blocking)} blocking check(s) failed", blocked,
                            champion_version=version)
    if champion is None:
        return GateDecision(True, "no champion yet; every check passed")
    kind = _kind_change(candidate, champion)
    if kind is not None:
        return kind
    new, old = candidate.data_last, champion.data_last
    if old is not None and new < old:
        return GateDecision(False, f"not promoted: its data end {new}, before champion v{version}'s {old}; older data "
                                   "never replace newer (--force-promote overrides)", champion_version=version)
    data_line = (f"newer data: to {new} (champion v{version}'s: {old})" if old is not None and new > old
                 else f"data end {new}, as champion v{version}'s")
    try:
        change, replayed, replay_how = _history(candidate, champion)
        if change is not None:
            return GateDecision(False, f"not promoted: its data are not the history champion v{version} was trained "
                                       f"on: {change}; different data are not evidence of a better model "
                                       "(--force-promote overrides)", (data_line, f"champion's settings on these data: "
                                                                                   f"{replay_how}"), champion_version=version)
        if champion.recipe == candidate.recipe:
            if old is None or new > old:
                return GateDecision(True, f"refresh of champion v{version}: same settings and the same history (its "
                                          "forecasts of every date the champion scored are the champion's, sealed "
                                          f"segment included); data to {new} instead of {old}", champion_version=version)
            return GateDecision(False, f"not promoted: same settings as champion v{version} on data ending the same "
                                       f"day ({new}); nothing new", champion_version=version)
        if replayed is not None and same_folds(champion, candidate.cfg):
            forecasts, how = replayed, replay_how
        else:
            forecasts, how = champion_forecasts(champion, candidate.cfg, candidate.panel, candidate.fingerprint)
        sealed, full = compare(candidate.predictions, forecasts, candidate.sealed_start)
    except (RegimeError, ValueError) as exc:
        return GateDecision(False, f"not promoted: champion v{version} cannot be compared on this data ({exc})",
                            (data_line,), champion_version=version)
    horizons = "/".join(str(h) for h in candidate.predictions if h in forecasts)
    details = tuple(c.text(version) for c in (sealed, full) if c is not None) + (
        f"{data_line}; champion forecasts: {how}",
        f"skill = R² against the zero forecast, mean over horizons {horizons} days; promotion needs p < {GATE_ALPHA} "
        f"on the {'sealed segment' if sealed else 'full walk-forward (no sealed segment)'} and no lower skill "
        "on the full walk-forward",
    )
    figures = _figures(sealed, full)
    judged = sealed or full
    if not judged.p_value < GATE_ALPHA:
        return GateDecision(False, f"not promoted: not better than champion v{version} beyond noise on the "
                                   f"{judged.segment} ({judged.p_text()}; needs p < {GATE_ALPHA})", details, figures,
                            version)
    if full.candidate < full.champion:
        return GateDecision(False, f"not promoted: worse than champion v{version} on the full walk-forward "
                                   f"(skill {full.candidate:+.4f} vs {full.champion:+.4f})", details, figures, version)
    return GateDecision(True, f"beats champion v{version} on the {judged.segment} beyond noise "
                              f"(p = {judged.p_value:.3f}) and is not worse on the full walk-forward", details, figures,
                        version)
