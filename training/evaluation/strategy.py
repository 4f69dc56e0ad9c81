"""An illustrative long/flat BTC strategy driven by a forecast, against buy-and-hold.

Illustrative only: no costs, no slippage, positions taken at the business-day close
after the forecast is known. It answers "would acting on the sign of the forecast have
changed the ride?", not "is this tradable?".
"""

from __future__ import annotations

import numpy as np
import pandas as pd

PERIODS_PER_YEAR = 252


def long_flat_returns(forecast: pd.Series, log_price: pd.Series) -> pd.DataFrame:
    """Daily log returns of holding BTC when the forecast is positive, else cash (0).

    The position decided at close t earns the return from t to t+1, so no future price
    enters a decision. Returns columns ``position``, ``strategy`` and ``buy_and_hold``
    over the forecast's dates (the last date, with no next return, is dropped).
    """
    daily = log_price.shift(-1) - log_price
    position = (forecast > 0).astype(float)
    frame = pd.DataFrame({"position": position, "buy_and_hold": daily.reindex(forecast.index)})
    frame["strategy"] = frame["position"] * frame["buy_and_hold"]
    return frame.dropna()


def performance(log_returns: pd.Series, position: pd.Series | None = None) -> dict[str, float]:
    """Annualised return and volatility, Sharpe (zero rate), max drawdown and turnover per year."""
    r = log_returns.to_numpy()
    if len(r) == 0:
        return {k: float("nan") for k in ("ann_return", "ann_vol", "sharpe", "max_drawdown", "turnover")}
    ann_ret = float(np.expm1(r.mean() * PERIODS_PER_YEAR))
    ann_vol = float(r.std(ddof=1) * np.sqrt(PERIODS_PER_YEAR)) if len(r) > 1 else float("nan")
    sharpe = float(r.mean() / r.std(ddof=1) * np.sqrt(PERIODS_PER_YEAR)) if len(r) > 1 and r.std() > 0 else float("nan")
    wealth = np.exp(np.cumsum(r))
    drawdown = float((wealth / np.maximum.accumulate(np.maximum(wealth, 1.0)) - 1).min())
    turnover = float(np.abs(np.diff(position.to_numpy())).sum() / len(r) * PERIODS_PER_YEAR) if position is not None else 0.0
    return {"ann_return": ann_ret, "ann_vol": ann_vol, "sharpe": sharpe, "max_drawdown": drawdown, "turnover": turnover}


def strategy_table(predictions: dict[int, pd.DataFrame], log_price: pd.Series) -> pd.DataFrame:
    """Long/flat on each horizon's out-of-sample model forecast vs buy-and-hold over the same days."""
    rows = []
    for h, frame in predictions.items():
        daily = long_flat_returns(frame["model"].dropna(), log_price)
        rows.append({"horizon": h, "strategy": "long/flat on forecast", **performance(daily["strategy"], daily["position"])})
        rows.append({"horizon": h, "strategy": "buy and hold", **performance(daily["buy_and_hold"])})
    return pd.DataFrame(rows)
