"""A bundled synthetic market with planted regimes: no network, deterministic per seed.

The world moves between five persistent regimes (a Markov chain, mean spell about three
months, stress shorter) in the order the thesis tells:

* **calm**: small moves, BTC drifts up on its own.
* **fear** (phase one): gold and silver rally, real yields fall, the dollar eases, BTC
  lags (a slight negative drift). Fear is followed by debasement three times in four.
* **debasement** (phase two): the Fed balance sheet and M2 grow, breakevens rise, the
  dollar weakens, and BTC catches up: its daily drift is positive and proportional to
  silver's 63-day return as it stood 21 business days before (the planted lead).
* **stress**: a liquidation: VIX spikes, equities, metals and BTC are all sold.
* **tightening**: real yields and the dollar rise, risk assets slip.

Series ids, calendars and units match ``../shared/data``: BTC every calendar day, markets
and FRED series on business days, WALCL weekly (Wednesday), M2SL monthly (first of month).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

REGIMES: tuple[str, ...] = ("calm", "fear", "debasement", "stress", "tightening")
#: Planted lead: BTC daily drift in debasement per unit of lagged 63-day silver return.
LEAD_BETA = 0.04
LEAD_LAG = 21
#: Where a spell that ends goes next (rows: from, columns: to, in ``REGIMES`` order): the
#: thesis's sequence calm -> fear -> debasement -> calm, with stress and tightening beside it.
_NEXT = np.array([
    [0.0, 0.45, 0.15, 0.15, 0.25],
    [0.15, 0.0, 0.75, 0.05, 0.05],
    [0.6, 0.1, 0.0, 0.1, 0.2],
    [0.3, 0.6, 0.1, 0.0, 0.0],
    [0.6, 0.2, 0.0, 0.2, 0.0],
])
#: Daily probability of staying, per regime (stress spells are short).
_STAY = np.array([0.985, 0.985, 0.985, 0.95, 0.985])

# Daily drift / volatility per regime (calm, fear, debasement, stress, tightening).
_GOLD_MU = np.array([0.0001, 0.0025, 0.0004, -0.0020, -0.0008])
_SILVER_EXTRA_MU = np.array([0.0, 0.0012, 0.0004, -0.0010, -0.0004])
_DXY_MU = np.array([0.0, -0.0004, -0.0015, 0.0010, 0.0012])
_REAL_MU = np.array([0.0, -0.008, 0.001, 0.0, 0.010])
_BE_MU = np.array([0.0, -0.002, 0.008, -0.006, -0.002])
_VIX_LEVEL = np.log(np.array([14.0, 21.0, 18.0, 36.0, 19.0]))
_SPX_MU = np.array([0.0005, -0.0002, 0.0004, -0.0040, -0.0008])
_BTC_MU = np.array([0.0010, -0.0020, 0.0050, -0.0080, -0.0015])
_BTC_SD = np.array([0.032, 0.025, 0.034, 0.045, 0.030])
_WALCL_MU = np.array([0.0005, 0.0008, 0.0040, 0.0015, -0.0010])
_M2_MU = np.array([0.0003, 0.0003, 0.0008, 0.0004, 0.0001])


@dataclass(frozen=True)
class DemoMarket:
    """A synthetic raw panel and the truth planted in it.

    Attributes
    ----------
    panel : pd.DataFrame
        Raw panel in the csv-source format (calendar-day index, NaN where unobserved).
    regimes : pd.Series
        True regime name on each business day.
    """

    panel: pd.DataFrame
    regimes: pd.Series


def _markov_path(n: int, rng: np.random.Generator, stay_scale: float = 1.0) -> np.ndarray:
    """A path of regime numbers: stay with :data:`_STAY` (scaled), else move by :data:`_NEXT`."""
    states = np.empty(n, dtype=int)
    states[0] = 0
    stay = 1 - (1 - _STAY) * stay_scale
    for t in range(1, n):
        prev = states[t - 1]
        states[t] = prev if rng.random() < stay[prev] else rng.choice(len(REGIMES), p=_NEXT[prev])
    return states


def generate_demo_market(
    seed: int = 7, start: str = "2012-01-02", end: str = "2024-12-31", stay: float = 0.985
) -> DemoMarket:
    """Simulate the demo market.

    Parameters
    ----------
    seed : int
        Seed of the generator; the same seed gives the same market.
    start, end : str
        First and last calendar date.
    stay : float
        Daily probability of remaining in a calm, fear, debasement or tightening spell
        (0.985: mean spell ~67 days); stress spells end 3.3 times as often.
    """
    rng = np.random.default_rng(seed)
    bdays = pd.bdate_range(start, end, name="date")
    n = len(bdays)
    s = _markov_path(n, rng, (1 - stay) / (1 - 0.985))
    z = rng.standard_normal((n, 8))

    gold = _GOLD_MU[s] + 0.009 * z[:, 0]
    silver = 1.3 * gold + _SILVER_EXTRA_MU[s] + 0.012 * z[:, 1]
    dxy = _DXY_MU[s] + 0.004 * z[:, 2]
    real = np.cumsum(_REAL_MU[s] + 0.035 * z[:, 3]) + 0.5
    breakeven = np.empty(n)
    breakeven[0] = 2.2
    for t in range(1, n):  # mean-reverting around 2.2 % so it stays plausible
        breakeven[t] = breakeven[t - 1] + 0.01 * (2.2 - breakeven[t - 1]) + _BE_MU[s[t]] + 0.012 * z[t, 4]
    spx = _SPX_MU[s] + 0.009 * z[:, 5]
    vix = np.empty(n)
    vix[0] = _VIX_LEVEL[0]
    for t in range(1, n):
        vix[t] = vix[t - 1] + 0.06 * (_VIX_LEVEL[s[t]] - vix[t - 1]) + 0.05 * z[t, 6]

    log_silver = np.log(20.0) + np.cumsum(silver)
    lead = pd.Series(log_silver).diff(63).shift(LEAD_LAG).fillna(0.0).to_numpy()
    btc_bday_mu = _BTC_MU[s] + np.where(s == 2, LEAD_BETA * lead, 0.0)

    # BTC trades every calendar day; a weekend day carries the regime of the Friday before.
    days = pd.date_range(start, end, freq="D", name="date")
    pos = np.clip(bdays.searchsorted(days, side="right") - 1, 0, n - 1)
    btc_ret = btc_bday_mu[pos] * 5 / 7 + _BTC_SD[s[pos]] * np.sqrt(5 / 7) * rng.standard_normal(len(days))
    btc = pd.Series(np.exp(np.log(10.0) + np.cumsum(btc_ret)), index=days)

    dgs10 = real + breakeven + 0.05 * rng.standard_normal(n)
    dgs2 = dgs10 - (0.8 + np.cumsum(0.01 * z[:, 7]))
    market = pd.DataFrame(
        {
            "silver_usd": np.exp(log_silver),
            "gold_usd": np.exp(np.log(1600.0) + np.cumsum(gold)),
            "dxy": np.exp(np.log(90.0) + np.cumsum(dxy)),
            "usd_broad": np.exp(np.log(110.0) + np.cumsum(0.8 * dxy + 0.001 * rng.standard_normal(n))),
            "dgs10": np.round(dgs10, 2),
            "dgs2": np.round(dgs2, 2),
            "dfii10": np.round(real, 2),
            "t10yie": np.round(breakeven, 2),
            "vix": np.round(np.exp(vix), 2),
            "sp500": np.exp(np.log(1300.0) + np.cumsum(spx)),
        },
        index=bdays,
    )
    walcl_daily = np.exp(np.log(3.0e6) + np.cumsum(_WALCL_MU[s] / 5 + 0.0005 * rng.standard_normal(n)))
    wednesdays = bdays[bdays.day_of_week == 2]
    walcl = pd.Series(walcl_daily, index=bdays).reindex(wednesdays)
    month_starts = pd.date_range(start, end, freq="MS")
    m2_daily = np.exp(np.log(10000.0) + np.cumsum(_M2_MU[s] + 0.0005 * rng.standard_normal(n)))
    m2 = pd.Series(m2_daily, index=bdays).asof(month_starts)

    panel = pd.concat(
        [btc.rename("btc_usd"), market, walcl.rename("walcl"), m2.rename("m2sl")], axis=1
    ).sort_index()
    panel = panel.loc[start:end]
    panel.index.name = "date"
    regimes = pd.Series(np.array(REGIMES, dtype=object)[s], index=bdays, name="regime")
    return DemoMarket(panel=panel, regimes=regimes)
