"""One unit for people: the models compute log returns, people read simple percentages.

A forward log return ``r`` is the price change ``exp(r) - 1``; every number a person reads
(forecasts, bands, contributions) goes through :func:`format_pct`, and machine outputs (CSV,
the pyfunc, serving) keep the log returns under names and documentation that say so.
"""

from __future__ import annotations

import numpy as np


def simple_pct(log_return: float) -> float:
    """The price change in percent of a log return: ``100 * (exp(r) - 1)``."""
    return float(np.expm1(log_return) * 100)


def format_pct(log_return: float, digits: int = 1) -> str:
    """A log return as a signed simple percentage (``0.0953 -> "+10.0%"``; NaN -> ``"–"``)."""
    if log_return is None or not np.isfinite(log_return):
        return "–"
    return f"{simple_pct(log_return):+.{digits}f}%"
