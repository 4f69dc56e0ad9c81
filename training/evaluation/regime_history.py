"""Do the regime labels tell the story an analyst knows? Shares of labels on days the thesis describes.

Three sets of days, each defined from the raw prices alone (never from the regime model), so
that they check the labels rather than restate them:

* **phase one** (the thesis's fear): the metals' mean 63-day log return above
  :data:`PHASE_ONE_METALS` and above BTC's: defensive capital went to the metals first;
* **liquidation** (neither phase): log VIX up more than :data:`SPIKE` over 5 days with VIX
  above :data:`VIX_LEVEL`, gold and the S&P 500 down over the same 5 days: everything sold;
* **catch-up** (the thesis's debasement): BTC's 63-day log return above the metals' by more
  than :data:`CATCH_UP`, while the Fed balance sheet grew over 63 days.

On the real data's walk-forward labels most phase-one days should be fear, few liquidation
days fear, and most catch-up days debasement (docs/decisions.md states the figures).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from regime.naming import DEBASEMENT, FEAR

#: Metals' mean 63-day log return above which a quarter counts as a strong metals rally.
PHASE_ONE_METALS = 0.08
#: 5-day rise of log VIX that counts as a spike, and the VIX level it must reach.
SPIKE, VIX_LEVEL = 0.25, 25.0
#: Margin (63-day log returns) by which BTC must beat the metals to count as catching up.
CATCH_UP = 0.15


def history_days(aligned: pd.DataFrame) -> dict[str, pd.Series]:
    """The three sets of days (boolean Series on ``aligned``'s index); a set whose series are absent is left out.

    Parameters
    ----------
    aligned : pd.DataFrame
        Point-in-time raw series on the business-day calendar (``Design.aligned``).
    """
    prices = [c for c in ("btc_usd", "gold_usd", "silver_usd", "vix", "sp500", "walcl") if c in aligned]
    logp = np.log(aligned[prices].astype(float))
    out: dict[str, pd.Series] = {}
    metals = (logp["gold_usd"].diff(63) + logp["silver_usd"].diff(63)) / 2
    btc = logp["btc_usd"].diff(63)
    out["phase_one"] = (metals > PHASE_ONE_METALS) & (metals > btc)
    if "sp500" in aligned:
        out["liquidation"] = ((logp["vix"].diff(5) > SPIKE) & (aligned["vix"] > VIX_LEVEL)
                              & (logp["gold_usd"].diff(5) < 0) & (logp["sp500"].diff(5) < 0))
    if "walcl" in aligned:
        out["catch_up"] = (btc - metals > CATCH_UP) & (logp["walcl"].diff(63) > 0)
    return out


def history_checks(labels: pd.Series, aligned: pd.DataFrame) -> dict[str, float]:
    """Shares of the labelled days of each set that carry the name the thesis expects.

    Returns
    -------
    dict
        ``phase_one_fear``, ``liquidation_fear`` (should be low), ``catch_up_debasement``, and
        ``n_<set>`` (labelled days in each set); NaN where a set has no labelled day.
    """
    labels = labels.dropna()
    expected = {"phase_one": FEAR, "liquidation": FEAR, "catch_up": DEBASEMENT}
    out: dict[str, float] = {}
    for name, days in history_days(aligned).items():
        on = days.reindex(labels.index, fill_value=False).astype(bool)
        out[f"n_{name}"] = float(on.sum())
        out[f"{name}_{expected[name]}"] = float((labels[on] == expected[name]).mean()) if on.any() else float("nan")
    return out
