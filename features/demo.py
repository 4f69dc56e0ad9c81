"""A bundled synthetic market with planted regimes: no network, deterministic per seed.

The world switches between three persistent regimes (a Markov chain, mean spell about
three months):

* **calm**: small moves, BTC drifts up on its own.
* **fear**: gold and silver rally, VIX and the dollar rise, real yields fall, equities
  slip, BTC consolidates (no drift, lower volatility).
* **debasement**: the dollar weakens, breakevens rise, and BTC follows the metals'
  *earlier* strength: its daily drift is proportional to silver's 63-day return as it
  stood 21 business days before (the planted lead).

Series ids, calendars and units match ``../shared/data``: BTC every calendar day, markets
and FRED series on business days, WALCL weekly (Wednesday), M2SL monthly (first of month).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

REGIMES: tuple[str, ...] = ("calm", "fear", "debasement")
#: Planted lead: BTC daily drift in debasement per unit of lagged 63-day silver return.
LEAD_BETA = 0.04
LEAD_LAG = 21

# Daily drift / volatility per regime (calm, fear, debasement).
_GOLD_MU = np.array([0.0001, 0.0020, 0.0006])
_SILVER_EXTRA_MU = np.array([0.0, 0.0012, 0.0004])
_DXY_MU = np.array([0.0, 0.0012, -0.0015])
_REAL_MU = np.array([0.0, -0.008, 0.001])
_BE_MU = np.array([0.0, -0.004, 0.008])
_VIX_LEVEL = np.log(np.array([14.0, 30.0, 19.0]))
_SPX_MU = np.array([0.0005, -0.0010, 0.0003])
_BTC_MU = np.array([0.0012, 0.0, 0.0004])
_BTC_SD = np.array([0.032, 0.022, 0.034])
_WALCL_MU = np.array([0.0005, 0.0010, 0.0040])


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


def _markov_path(n: int, stay: float, rng: np.random.Generator) -> np.ndarray:
    states = np.empty(n, dtype=int)
    states[0] = 0
    for t in range(1, n):
        if rng.random() < stay:
            states[t] = states[t - 1]
        else:
            states[t] = rng.choice([s for s in range(3) if s != states[t - 1]])
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
        Daily probability of remaining in the current regime (0.985: mean spell ~67 days).
    """
    rng = np.random.default_rng(seed)
    bdays = pd.bdate_range(start, end, name="date")
    n = len(bdays)
    s = _markov_path(n, stay, rng)
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
    m2_daily = np.exp(np.log(10000.0) + np.cumsum(0.0003 + 0.0004 * (s == 2) + 0.0005 * rng.standard_normal(n)))
    m2 = pd.Series(m2_daily, index=bdays).asof(month_starts)

    panel = pd.concat(
        [btc.rename("btc_usd"), market, walcl.rename("walcl"), m2.rename("m2sl")], axis=1
    ).sort_index()
    panel = panel.loc[start:end]
    panel.index.name = "date"
    regimes = pd.Series(np.array(REGIMES, dtype=object)[s], index=bdays, name="regime")
    return DemoMarket(panel=panel, regimes=regimes)
