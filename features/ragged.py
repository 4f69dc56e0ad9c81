"""The ragged end of a raw panel: series that stop before the others, and the common date.

Sources lag or stop: a folder where gold, silver, the dollar index and VIX end four months
before BTC is an ordinary sight. Carrying their last values forward would put four-month-old
prices into every feature since; refusing the whole folder leaves the analyst with nothing.
A command therefore answers as of the *common date*, the last business day on which every
series it needs is current, and says which series end early:

* A series **ends early** when, on the latest observation of the series needed, its own last
  observation is older than its staleness limit (:func:`features.validation.max_age_days`:
  5 days for a daily series, 12 for WALCL, 96 for M2SL). Within that limit it is current: a
  weekend, a holiday, a release not out yet.
* A needed series that ends early is current until the day before its next value would have
  been published (:func:`current_through`, with its publication lag from
  :mod:`features.series`); the common date is the last business day on or before the earliest
  of these. The panel is cut there, so no value is carried past the end of its series.
* A needed series that ends more than :data:`MAX_EARLY_DAYS` beyond its staleness limit before
  the latest one is taken for a dead feed, not a lagging source: an error naming every such
  series (an earlier ``end`` answers as of an earlier date).
* A series present but not needed (an optional series in training, one a model does not use)
  that is not current on the common date is left out of the panel, not cut to.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd

from features.align import add_fed_business_days, publication_dates
from features.errors import DataError
from features.series import spec_for
from features.validation import max_age_days, series_where

#: Days beyond its staleness limit a needed series may end before the latest one and still be
#: cut to (a source that lags or paused); a series ending earlier is refused as a dead feed.
MAX_EARLY_DAYS = 365


@dataclass(frozen=True)
class EarlyEnd:
    """A series that ends early: its last observation and the last date it is current."""

    series_id: str
    last: pd.Timestamp
    current_through: pd.Timestamp


@dataclass(frozen=True)
class RaggedEnd:
    """Where the series of a panel end, and what a command does about it.

    Attributes
    ----------
    latest_series : str
        The needed series with the latest observation.
    latest : pd.Timestamp
        Its last observation.
    common : pd.Timestamp or None
        The common date when a needed series ends early (the panel is cut there), else None.
    early : tuple of EarlyEnd
        Needed series that end early, earliest first.
    left_out : tuple of EarlyEnd
        Series present but not needed that are not current on the common date (or on
        ``latest`` when nothing is cut), earliest first.
    """

    latest_series: str
    latest: pd.Timestamp
    common: pd.Timestamp | None = None
    early: tuple[EarlyEnd, ...] = ()
    left_out: tuple[EarlyEnd, ...] = ()

    def apply(self, panel: pd.DataFrame) -> pd.DataFrame:
        """``panel`` without the series left out, and without any row after the common date."""
        out = panel.drop(columns=[e.series_id for e in self.left_out])
        return out.loc[: self.common] if self.common is not None else out

    def notice(self) -> str | None:
        """One line saying which series end early, where, and what was done; None when none does."""
        parts = []
        if self.early:
            n = len(self.early)
            ends = ", ".join(f"{e.series_id} on {e.last:%Y-%m-%d}" for e in self.early)
            parts.append(f"{n} series end{'s' if n == 1 else ''} early: {ends}; the latest, {self.latest_series}, "
                         f"ends on {self.latest:%Y-%m-%d}. Using the data up to {self.common:%Y-%m-%d}, the last date "
                         "on which every series needed is current (an earlier --end, or --as-of for now and report, "
                         "picks another date)")
        if self.left_out:
            ends = ", ".join(f"{e.series_id} (ends on {e.last:%Y-%m-%d})" for e in self.left_out)
            when = self.common if self.common is not None else self.latest
            parts.append(f"left out, not needed and not current on {when:%Y-%m-%d}: {ends}")
        return "; ".join(parts) or None


def last_observations(panel: pd.DataFrame) -> dict[str, pd.Timestamp]:
    """Date of the last observation of each series of a raw panel that has one."""
    present = panel.notna().to_numpy()
    last = len(present) - 1 - present[::-1].argmax(axis=0)
    return {str(c): pd.Timestamp(panel.index[last[j]]) for j, c in enumerate(panel.columns) if present[:, j].any()}


def current_through(series_id: str, last: pd.Timestamp) -> pd.Timestamp:
    """The last date on which ``last`` is the newest value ``series_id`` can have published.

    The day before its next observation (the next business day, Fed business day for Fed
    releases, week or month) would become public by its publication lag: a market close is
    current on its own day, a Friday H.15 yield until Monday, a Wednesday WALCL until the
    Thursday after next.
    """
    spec = spec_for(series_id)
    last = pd.Timestamp(last)
    if spec.frequency == "monthly":
        following = last + pd.DateOffset(months=1)
    elif spec.frequency == "weekly":
        following = last + pd.Timedelta(days=7)
    elif spec.daily_lag_bdays:
        following = add_fed_business_days(pd.DatetimeIndex([last]), 1)[0]
    else:
        following = last + pd.offsets.BDay(1)
    return publication_dates(pd.DatetimeIndex([following]), series_id)[0] - pd.Timedelta(days=1)


def ragged_end(panel: pd.DataFrame, needs: Iterable[str],
               origins: Mapping[str, str] | str | None = None) -> RaggedEnd:
    """Which series of ``panel`` end early, the common date, and the series to leave out.

    Parameters
    ----------
    panel : pd.DataFrame
        Raw panel (dates x series ids), already cut to the window asked for.
    needs : iterable of str
        Series the command needs (the core series for training, a model's input series);
        those absent from ``panel`` are ignored here.
    origins : mapping or str, optional
        Where each series (mapping) or the whole panel (str) came from, for messages.

    Returns
    -------
    RaggedEnd
        Apply it with :meth:`RaggedEnd.apply`.

    Raises
    ------
    DataError
        Naming every needed series that ends more than :data:`MAX_EARLY_DAYS` beyond its
        staleness limit before the latest one.
    """
    lasts = last_observations(panel)
    needed = [s for s in dict.fromkeys(needs) if s in lasts]
    if not needed:
        raise DataError("the panel has none of the series needed: " + ", ".join(needs))
    latest_series = max(needed, key=lambda s: lasts[s])
    latest = lasts[latest_series]
    behind = {s: (latest - lasts[s]).days for s in needed}
    early = sorted((EarlyEnd(s, lasts[s], current_through(s, lasts[s])) for s in needed
                    if behind[s] > max_age_days(s)), key=lambda e: (e.last, e.series_id))
    common = pd.offsets.BDay().rollback(min(min(e.current_through for e in early), latest)) if early else None
    dead = [e for e in early if behind[e.series_id] > max_age_days(e.series_id) + MAX_EARLY_DAYS]
    if dead:
        ends = "; ".join(f"{series_where(e.series_id, origins)} ends on {e.last:%Y-%m-%d}, "
                         f"{behind[e.series_id]} days before the latest series" for e in dead)
        raise DataError(f"{ends} ({latest_series} ends on {latest:%Y-%m-%d}); a needed series that ends more than "
                        f"{MAX_EARLY_DAYS} days beyond its staleness limit before the others is a dead feed, not a "
                        f"lagging source: fix or replace the file, or pass --end {common:%Y-%m-%d} (--as-of for now "
                        "and report) to answer as of then")
    when = common if common is not None else latest
    left_out = sorted((EarlyEnd(s, last, current_through(s, last)) for s, last in lasts.items()
                       if s not in needed and (when - last).days > max_age_days(s)),
                      key=lambda e: (e.last, e.series_id))
    return RaggedEnd(latest_series, latest, common, tuple(early), tuple(left_out))
