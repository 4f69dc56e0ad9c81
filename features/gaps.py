"""Holes inside a series: refused, or bridged on purpose with a warning.

Every value is carried forward on the business-day calendar until its series' next
observation, so a hole inside a series is bridged by its last value: a three-year hole in
gold would become three years of one gold price in every feature, and a model would learn
from it without a word. A hole longer than its series' normal spacing allows
(:data:`MAX_GAP_DAYS`, by the series' frequency in :mod:`features.series`) is therefore
refused, naming the series, its file and the dates, unless the series is bridged on purpose
(``--bridge-gaps <series>`` or ``[data] bridge_gaps``), which logs a warning naming them.

The limits leave room for what real data do: a cluster of market holidays (the longest in
``../shared/data`` is 7 days, after 2001-09-11), a data vendor's outage of a couple of weeks,
one or two late monthly releases. Series that *end* early are not holes: :mod:`features.ragged`
handles them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.errors import DataError
from features.series import spec_for
from features.validation import series_where

logger = logging.getLogger(__name__)

#: Longest spacing, in calendar days, between two consecutive observations of a series, by its
#: frequency: a month for daily series (holidays and short outages pass, a multi-month hole
#: does not), six weeks for weekly and three months (two missing releases) for monthly ones.
MAX_GAP_DAYS: dict[str, int] = {"daily": 31, "weekly": 45, "monthly": 95}


@dataclass(frozen=True)
class Gap:
    """A hole in a series: its last observation before and its first after."""

    series_id: str
    before: pd.Timestamp
    after: pd.Timestamp

    @property
    def days(self) -> int:
        """Calendar days between the two observations."""
        return int((self.after - self.before).days)

    def describe(self) -> str:
        """``no values between 2018-01-02 and 2021-01-04 (1098 days; a daily series may pause 31)``."""
        spec = spec_for(self.series_id)
        return (f"no values between {self.before:%Y-%m-%d} and {self.after:%Y-%m-%d} ({self.days} days; "
                f"a {spec.frequency} series may pause {MAX_GAP_DAYS[spec.frequency]})")


def series_gaps(values: pd.Series, series_id: str) -> list[Gap]:
    """The holes of one series longer than :data:`MAX_GAP_DAYS` allows for its frequency."""
    return _gaps(pd.DatetimeIndex(values.index).to_numpy(), values.to_numpy(dtype=float), series_id)


def _gaps(dates: np.ndarray, values: np.ndarray, series_id: str) -> list[Gap]:
    """:func:`series_gaps` on arrays: ``dates`` (datetime64) and ``values`` (NaN = no observation)."""
    seen = dates[~np.isnan(values)]
    if len(seen) < 2:
        return []
    steps = np.diff(seen) // np.timedelta64(1, "D")  # whole calendar days, as Timedelta.days counts them
    limit = MAX_GAP_DAYS[spec_for(series_id).frequency]
    return [Gap(series_id, pd.Timestamp(seen[i]), pd.Timestamp(seen[i + 1])) for i in np.flatnonzero(steps > limit)]


def check_gaps(panel: pd.DataFrame, bridged: Iterable[str] = (),
               origins: Mapping[str, str] | str | None = None) -> list[Gap]:
    """Refuse holes inside the series of a raw panel, or warn about those bridged on purpose.

    Parameters
    ----------
    panel : pd.DataFrame
        Raw panel (dates x series ids), cut to the window used.
    bridged : iterable of str
        Series whose holes are bridged on purpose (their last value carried across): a warning
        naming the series and the dates, not an error.
    origins : mapping or str, optional
        Where each series (mapping) or the whole panel (str) came from, for messages.

    Returns
    -------
    list of Gap
        The bridged holes (empty when there is none).

    Raises
    ------
    DataError
        Naming every series with a hole that is not bridged, its first hole and how to go on.
    """
    bridged = set(bridged)
    dates, table = pd.DatetimeIndex(panel.index).to_numpy(), panel.to_numpy(dtype=float)
    gaps = [g for j, column in enumerate(panel.columns) for g in _gaps(dates, table[:, j], str(column))]
    refused: dict[str, list[Gap]] = {}
    for gap in gaps:
        if gap.series_id in bridged:
            logger.warning("%s: %s; bridged on purpose (--bridge-gaps): its last value is carried across",
                           series_where(gap.series_id, origins), gap.describe())
        else:
            refused.setdefault(gap.series_id, []).append(gap)
    if refused:
        parts = [f"{series_where(s, origins)}: {found[0].describe()}" + (f" (+{len(found) - 1} more)" if len(found) > 1 else "")
                 for s, found in refused.items()]
        flags = " ".join(f"--bridge-gaps {s}" for s in refused)
        raise DataError(f"{'; '.join(parts)}. A hole would be filled with the value before it; fill the file, start "
                        f"after the hole (--start), or bridge it on purpose with {flags}")
    return [g for g in gaps if g.series_id in bridged]
