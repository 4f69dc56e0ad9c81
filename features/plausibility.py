"""Plausibility of a raw panel: values no market has shown, caught before they train a model.

A file can be well-formed and still wrong: a price typed with three extra zeros (a one-day
1000x jump in BTC), an overflowed cell (1e308), a feed that stopped years ago while the others
went on, or a series stuck on one value. Each series is checked against limits for its asset
class, set far outside anything the class has done (the real history in ``../shared/data``,
BTC's thin early market of 2010-2013 included, stays well inside them: see
``docs/reliability.md``):

* **magnitude**: every value within a plausible range for its units;
* **moves**: the change between consecutive observations (log change for prices and levels,
  percentage points for yields) within a limit per observation at the series' cadence,
  widened by the square root of the elapsed time when observations are further apart;
* **stuck values**: no more consecutive identical observations than the cadence allows, and
  never a constant series (it carries no information and breaks the regime model);
* **ending early**: no series ends long before the others. The data sources cut a ragged end
  first (:mod:`features.ragged`), so this guards panels nothing cut, such as a served model's
  input.

:func:`check_plausibility` raises a :class:`~features.errors.DataError` naming the series, the
date and the limit, unless the series was accepted on purpose (``accept``: the
``--accept-implausible`` option or ``[data] accept_implausible``); an accepted finding is logged
as a warning instead. A constant series cannot be accepted.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.errors import DataError
from features.ragged import last_observations
from features.series import spec_for
from features.validation import max_age_days, series_where

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AssetClass:
    """Plausibility limits shared by the series of one asset class.

    Attributes
    ----------
    name : str
        Used in messages.
    low, high : float
        Plausible range of a value, in the series' units.
    max_move : float
        Largest plausible change between consecutive observations at the native cadence:
        absolute log change (prices, indices, levels) or percentage points (yields).
    log_moves : bool
        Whether moves are log changes (else differences).
    """

    name: str
    low: float
    high: float
    max_move: float
    log_moves: bool = True


#: Limits per asset class, with the largest move of the real data in ``../shared/data``
#: (whole files, 1970-2024) for comparison.
CLASSES: dict[str, AssetClass] = {
    c.name: c
    for c in (
        AssetClass("crypto", 1e-4, 1e9, 1.5),  # BTC: largest day 0.67 (2013-04-11, -49%)
        AssetClass("metals", 1e-2, 1e6, 0.75),  # silver 0.20 (2011), 0.69 on Silver Thursday 1980
        AssetClass("dollar indices", 10.0, 1e3, 0.15),  # DXY 0.05 (1973)
        AssetClass("equity indices", 1.0, 1e7, 0.35),  # S&P 500 0.23 (1987-10-19)
        AssetClass("volatility indices", 1.0, 500.0, 1.2),  # VIX 0.77 (2018-02-05, +116%)
        AssetClass("yields", -20.0, 50.0, 3.0, log_moves=False),  # DGS2 0.89 points (1981)
        AssetClass("fed balance sheet", 1e4, 1e9, 0.5),  # WALCL (USD mn) 0.22 a week (2008-10)
        AssetClass("money stock", 10.0, 1e7, 0.25),  # M2SL (USD bn) 0.06 a month (2020-04)
    )
}

#: Asset class of each catalogued series; other ids are checked as ``GENERIC``.
CLASS_OF: dict[str, str] = {
    "btc_usd": "crypto", "silver_usd": "metals", "gold_usd": "metals", "dxy": "dollar indices",
    "usd_broad": "dollar indices", "sp500": "equity indices", "vix": "volatility indices", "dgs10": "yields",
    "dgs2": "yields", "dfii10": "yields", "t10yie": "yields", "walcl": "fed balance sheet",
    "m2sl": "money stock",
}
GENERIC = AssetClass("an unknown series", 1e-9, 1e12, 2.0)

#: Calendar days between observations at each cadence that need no widening of ``max_move``
#: (a long weekend for daily series), and the most consecutive identical observations.
CADENCE_DAYS: dict[str, int] = {"daily": 4, "weekly": 8, "monthly": 32}
MAX_FLAT: dict[str, int] = {"daily": 25, "weekly": 8, "monthly": 6}
#: A series is refused when it ends more than this many times its staleness limit
#: (:func:`features.validation.max_age_days`) before the latest series of the panel.
ENDS_EARLY_FACTOR = 3


@dataclass(frozen=True)
class Finding:
    """One implausible feature of one series."""

    series_id: str
    date: pd.Timestamp
    message: str
    acceptable: bool = True


def asset_class(series_id: str) -> AssetClass:
    """The limits that apply to ``series_id``."""
    return CLASSES[CLASS_OF[series_id]] if series_id in CLASS_OF else GENERIC


def _number(x: float) -> str:
    return f"{x:.6g}"


def series_findings(values: pd.Series, series_id: str) -> list[Finding]:
    """Implausible values, moves and stuck stretches of one raw series (NaN = no observation)."""
    return _findings(pd.DatetimeIndex(values.index).to_numpy(), values.to_numpy(dtype=float), series_id)


def _findings(index: np.ndarray, raw: np.ndarray, series_id: str) -> list[Finding]:
    """:func:`series_findings` on the values ``raw`` (NaN = no observation) dated ``index`` (datetime64)."""
    have = ~np.isnan(raw)
    x = raw[have]
    if not len(x):
        return []
    dates = index[have]
    cls, spec = asset_class(series_id), spec_for(series_id)
    cadence = CADENCE_DAYS[spec.frequency]
    out: list[Finding] = []
    absurd = (x < cls.low) | (x > cls.high)
    if absurd.any():
        i = int(absurd.argmax())
        on = pd.Timestamp(dates[i])
        out.append(Finding(series_id, on, f"implausible value {_number(x[i])} on {on:%Y-%m-%d} "
                                          f"(plausible for {cls.name}: {_number(cls.low)} to {_number(cls.high)})"))
    y, when = x[~absurd], dates[~absurd]  # an absurd value is reported once, above, not again as two moves
    if len(y) > 1:
        move = np.diff(np.log(y) if cls.log_moves else y)
        days = np.diff(when).astype("timedelta64[D]").astype(float)
        limit = cls.max_move * np.sqrt(np.maximum(1.0, days / cadence))
        bad = np.abs(move) > limit
        if bad.any():
            i = int(bad.argmax())
            size = (f"x{np.exp(move[i]):.3g}" if move[i] > 0 else f"-{1 - np.exp(move[i]):.1%}") if cls.log_moves \
                else f"{move[i]:+.3g} points"
            span = "one observation" if days[i] <= cadence else f"{days[i]:.0f} days"
            on = pd.Timestamp(when[i + 1])
            out.append(Finding(series_id, on,
                               f"implausible move on {on:%Y-%m-%d}: {_number(y[i])} -> {_number(y[i + 1])} "
                               f"({size} in {span}; the limit for {cls.name} is {_limit_text(cls, limit[i])})"))
    run = np.concatenate([[0], np.cumsum(x[1:] != x[:-1])])  # run id of each observation
    lengths = np.bincount(run)
    longest = int(lengths.argmax())
    if len(x) > 1 and len(lengths) == 1:
        first, last = pd.Timestamp(dates[0]), pd.Timestamp(dates[-1])
        out.append(Finding(series_id, first, f"constant: every value is {_number(x[0])} from "
                                             f"{first:%Y-%m-%d} to {last:%Y-%m-%d}; a constant series "
                                             "carries no information and the regime model cannot use it",
                           acceptable=False))
    elif lengths[longest] > MAX_FLAT[spec.frequency]:
        stuck = dates[run == longest]
        first, last = pd.Timestamp(stuck[0]), pd.Timestamp(stuck[-1])
        out.append(Finding(series_id, first, f"the same value {_number(x[run == longest][0])} on "
                                             f"{int(lengths[longest])} consecutive observations from "
                                             f"{first:%Y-%m-%d} to {last:%Y-%m-%d} (more than "
                                             f"{MAX_FLAT[spec.frequency]} is implausible for a {spec.frequency} "
                                             "series: a stale feed?)"))
    return out


def _limit_text(cls: AssetClass, limit: float) -> str:
    if not cls.log_moves:
        return f"{limit:.3g} points"
    return f"x{np.exp(limit):.3g} or -{1 - np.exp(-limit):.0%}"


def panel_findings(panel: pd.DataFrame) -> list[Finding]:
    """Every finding of every series of a raw panel, plus series that end long before the others."""
    index, table = pd.DatetimeIndex(panel.index).to_numpy(), panel.to_numpy(dtype=float)
    out = [f for j, col in enumerate(panel.columns) for f in _findings(index, table[:, j], str(col))]
    lasts = last_observations(panel)
    if lasts:
        end = max(lasts.values())
        latest = max(lasts, key=lambda c: lasts[c])
        for sid, last in lasts.items():
            limit = ENDS_EARLY_FACTOR * max_age_days(sid)
            if (end - last).days > limit:
                out.append(Finding(sid, last, f"ends on {last:%Y-%m-%d}, {(end - last).days} days before the "
                                              f"latest series ({latest} ends {end:%Y-%m-%d}; more than {limit} "
                                              f"days is implausible for a {spec_for(sid).frequency} series)"))
    return sorted(out, key=lambda f: (f.date, f.series_id))


def check_plausibility(
    panel: pd.DataFrame, accept: Iterable[str] = (), origins: Mapping[str, str] | str | None = None
) -> list[Finding]:
    """Refuse an implausible raw panel, or warn about what was accepted on purpose.

    Parameters
    ----------
    panel : pd.DataFrame
        Raw panel (dates x series ids).
    accept : iterable of str
        Series ids whose findings are accepted on purpose: logged as warnings, not raised.
    origins : mapping or str, optional
        Where each series (mapping) or the whole panel (str) came from, for messages.

    Returns
    -------
    list of Finding
        The accepted findings (empty for a plausible panel).

    Raises
    ------
    DataError
        For the earliest finding of a series not in ``accept`` (and for a constant series
        in any case), naming the series, where it came from, the date and the limit.
    """
    accept = set(accept)
    findings = panel_findings(panel)
    refused = [f for f in findings if f.series_id not in accept or not f.acceptable]
    for f in findings:
        if f not in refused:
            logger.warning("%s: %s (accepted on purpose)", series_where(f.series_id, origins), f.message)
    if refused:
        f = refused[0]
        more = f" (+{len(refused) - 1} more)" if len(refused) > 1 else ""
        fix = (f"; if it is real, accept it with --accept-implausible {f.series_id}" if f.acceptable
               else "; fix or remove the series")
        raise DataError(f"{series_where(f.series_id, origins)}: {f.message}{fix}{more}")
    return findings
