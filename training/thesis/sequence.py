"""The thesis's sequence, measured: does debasement (and a BTC rally) follow a fear spell?

The thesis predicts that phase one (fear) is followed by phase two (debasement) weeks to
months later, and that Bitcoin rallies then. On a series of regime labels (the walk-forward's
out-of-sample labels, so nothing here was fitted on the days it judges) this module counts
**spells**, not overlapping days: for every spell of a regime that ended at least ``h``
business days before the last label, did debasement start within the next ``h`` days, and
what did BTC return over them? Fear spells are compared with the spells of the regimes that
are neither phase (calm, stress, tightening): a permutation test reshuffles which of those
spells are called fear (one-sided: fear is followed by debasement, or by a higher BTC
return, more often than the others), and a bootstrap over fear spells gives the interval of
its rate. The unconditional rate (any day) is reported beside them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.units import format_pct
from regime.naming import DEBASEMENT, FEAR

#: Horizons (business days after a spell ends) the sequence is measured over.
SEQUENCE_HORIZONS: tuple[int, ...] = (21, 63, 126)


def spells(labels: pd.Series) -> pd.DataFrame:
    """Runs of equal labels: columns ``regime``, ``start``, ``end`` (positions), ``first``, ``last`` (dates), ``days``."""
    labels = labels.dropna()
    if labels.empty:
        return pd.DataFrame(columns=["regime", "start", "end", "first", "last", "days"])
    values = labels.to_numpy()
    breaks = np.flatnonzero(values[1:] != values[:-1]) + 1
    starts = np.r_[0, breaks]
    ends = np.r_[breaks - 1, len(values) - 1]
    return pd.DataFrame({"regime": values[starts], "start": starts, "end": ends,
                         "first": labels.index[starts], "last": labels.index[ends], "days": ends - starts + 1})


@dataclass(frozen=True)
class SequenceEvidence:
    """What followed the thesis's first phase, per horizon.

    Attributes
    ----------
    table : pd.DataFrame
        One row per horizon ``h``: ``n_fear`` (fear spells with ``h`` days observed after
        them), ``followed`` (how many were followed by debasement within ``h`` days),
        ``rate``, ``rate_lo``/``rate_hi`` (90% bootstrap interval over fear spells),
        ``rate_other`` (the same after the spells of neither phase, ``n_other`` of them),
        ``rate_any_day`` (after a random day), ``p_rate`` (one-sided permutation p of fear
        against the others); ``btc_after_fear``, ``btc_after_other``, ``btc_any_day``
        (mean BTC log return over the ``h`` days), ``p_btc``.
    n_draws : int
        Permutations and bootstrap draws behind the intervals and p-values.
    """

    table: pd.DataFrame
    n_draws: int


def sequence_evidence(
    labels: pd.Series,
    btc: pd.Series,
    horizons: tuple[int, ...] = SEQUENCE_HORIZONS,
    n_draws: int = 2000,
    random_state: int = 0,
) -> SequenceEvidence:
    """Measure the thesis's sequence on a series of regime labels.

    Parameters
    ----------
    labels : pd.Series
        Regime name per business day (out-of-sample labels; NaN rows are dropped).
    btc : pd.Series
        BTC's price on (at least) the same days, to measure its return after each spell.
    horizons : tuple of int
        Business days after a spell's last day.
    n_draws : int
        Permutations and bootstrap draws.
    random_state : int
        Seed of the draws.
    """
    labels = labels.dropna()
    logp = np.log(btc.reindex(labels.index).astype(float)).to_numpy()
    is_deb = (labels == DEBASEMENT).to_numpy()
    n = len(labels)
    runs = spells(labels)
    rng = np.random.default_rng(random_state)
    rows = []
    for h in horizons:
        done = runs[runs.end + h < n]
        fear = done[done.regime == FEAR]
        other = done[~done.regime.isin([FEAR, DEBASEMENT])]
        # Did debasement start within (end, end + h]? Cumulative counts make each test O(1).
        cum = np.r_[0, np.cumsum(is_deb)]
        followed = lambda ends: (cum[ends + h + 1] - cum[ends + 1]) > 0  # noqa: E731
        ret = lambda ends: logp[ends + h] - logp[ends]  # noqa: E731
        f_fear, f_other = followed(fear.end.to_numpy()), followed(other.end.to_numpy())
        r_fear, r_other = ret(fear.end.to_numpy()), ret(other.end.to_numpy())
        days = np.arange(n - h)
        row = {"horizon": h, "n_fear": len(fear), "followed": int(f_fear.sum()),
               "rate": float(f_fear.mean()) if len(fear) else np.nan,
               "n_other": len(other), "rate_other": float(f_other.mean()) if len(other) else np.nan,
               "rate_any_day": float(followed(days).mean()) if len(days) else np.nan,
               "btc_after_fear": float(np.nanmean(r_fear)) if len(fear) else np.nan,
               "btc_after_other": float(np.nanmean(r_other)) if len(other) else np.nan,
               "btc_any_day": float(np.nanmean(ret(days))) if len(days) else np.nan}
        row.update(rate_lo=np.nan, rate_hi=np.nan, p_rate=np.nan, p_btc=np.nan)
        if len(fear) and len(other):
            boot = rng.choice(f_fear, size=(n_draws, len(fear))).mean(axis=1)
            row["rate_lo"], row["rate_hi"] = (float(q) for q in np.quantile(boot, [0.05, 0.95]))
            pooled_f, pooled_r = np.r_[f_fear, f_other].astype(float), np.r_[r_fear, r_other]
            perm = np.argsort(rng.random((n_draws, len(pooled_f))), axis=1)[:, : len(fear)]
            row["p_rate"] = float((1 + np.sum(pooled_f[perm].mean(axis=1) >= row["rate"] - 1e-12)) / (n_draws + 1))
            row["p_btc"] = float((1 + np.sum(np.nanmean(pooled_r[perm], axis=1) >= row["btc_after_fear"] - 1e-12))
                                 / (n_draws + 1))
        rows.append(row)
    return SequenceEvidence(pd.DataFrame(rows).set_index("horizon"), n_draws)


def sequence_table(evidence: SequenceEvidence) -> pd.DataFrame:
    """The evidence as a table for people: one row per horizon ``h``.

    Columns: fear ``spells`` measured, how many were followed by ``debasement`` within ``h``
    days and its share, the share's 90% interval, the share after the ``others``' spells and
    after ``any day``, the permutation ``p``; BTC's simple return over the ``h`` days after
    fear spells (``BTC``) and after the others' (``BTC others``), and its ``p``.
    """
    t = evidence.table
    pct = lambda v: format_pct(v, 0)  # noqa: E731
    share = lambda v: "–" if not np.isfinite(v) else f"{v:.0%}"  # noqa: E731
    rows = [{
        "h": f"{h}d",
        "spells": f"{r.n_fear:.0f}",
        "debasement": f"{r.followed:.0f}={share(r.rate)}",
        "90% CI": f"{share(r.rate_lo)}-{share(r.rate_hi)}",
        "others": share(r.rate_other),
        "any day": share(r.rate_any_day),
        "p": "–" if not np.isfinite(r.p_rate) else f"{r.p_rate:.2f}",
        "BTC": pct(r.btc_after_fear),
        "BTC others": pct(r.btc_after_other),
        "p BTC": "–" if not np.isfinite(r.p_btc) else f"{r.p_btc:.2f}",
    } for h, r in t.iterrows()]
    return pd.DataFrame(rows)


def sequence_verdict(evidence: SequenceEvidence, horizon: int = 63, alpha: float = 0.05) -> str:
    """One sentence in the thesis's terms at ``horizon`` (weeks to months), saying plainly when the evidence is weak."""
    t = evidence.table
    if horizon not in t.index or not t.loc[horizon, "n_fear"]:
        return f"no fear spell ended {horizon} business days before the last label: the sequence cannot be measured yet"
    r = t.loc[horizon]
    strength = ("the thesis's sequence is supported" if r.p_rate < alpha
                else "weak evidence: fear spells are not told apart from the other regimes' spells")
    return (f"after the {r.n_fear:.0f} earlier fear spells debasement followed within {horizon} days {r.followed:.0f} "
            f"times ({r.rate:.0%} [{r.rate_lo:.0%}, {r.rate_hi:.0%}]), against {r.rate_other:.0%} after the other "
            f"regimes' spells and {r.rate_any_day:.0%} after any day (p = {r.p_rate:.2f}): {strength}")


def current_spell_sentence(labels: pd.Series, aligned: pd.DataFrame) -> str:
    """``fear for 23 business days: metals +12%, BTC -3% (lagging by 15 pts)`` for the spell that ends the labels."""
    runs = spells(labels)
    if runs.empty:
        return "no regime label to describe"
    last = runs.iloc[-1]
    window = aligned.loc[last["first"]: last["last"]]
    before = aligned.loc[: last["first"]].iloc[-2] if len(aligned.loc[: last["first"]]) > 1 else window.iloc[0]
    move = lambda col: float(np.log(window[col].iloc[-1] / before[col]))  # noqa: E731
    metals = (move("gold_usd") + move("silver_usd")) / 2
    btc = move("btc_usd")
    gap = (np.exp(metals) - np.exp(btc)) * 100
    relation = f"BTC lagging by {gap:.0f} pts" if gap > 0 else f"BTC ahead by {-gap:.0f} pts"
    unit = "business day" if last.days == 1 else "business days"
    return (f"{last.regime} for {last.days} {unit} (since {last['first']:%Y-%m-%d}): metals {format_pct(metals, 0)}, "
            f"BTC {format_pct(btc, 0)} ({relation})")
