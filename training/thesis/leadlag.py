"""Does metal strength lead Bitcoin? Lead-lag statistics on point-in-time series.

Pure computations on pandas objects (no printing, no plotting, no MLflow). Conventions:

* **lag L** (business days): the metal's trailing ``window``-day log return *ending L
  days before* the forecast date t, i.e. ``log m[t-L] - log m[t-L-window]``. It only
  uses data up to t.
* **target**: BTC's forward ``horizon``-day log return from t
  (:func:`features.target.forward_log_returns`, the project's only forward-looking code).
* **regime** on date t: the filtered (point-in-time) regime label, so conditioning on it
  uses no future data either.

A daily drift that follows the metal's return as it stood D days earlier shows up
most strongly at ``L = D - (horizon + 1) / 2`` (the forward window averages it).

Scanning many lags and reporting the best is a multiple test: :func:`scan_pvalue` gives
the family-wise p-value of the best lag by circularly shifting the metal series
against BTC (which keeps both series' autocorrelation and breaks their alignment).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from features.design import Design
from features.errors import ConfigError, DataError
from features.target import forward_log_returns, target_name
from models.pipeline import RegimeForecastPipeline
from regime.naming import regime_names
from training.evaluation.metrics import bartlett_weights

#: The group of the lead-lag tables that tests the lead's difference between the phases
#: (debasement's slope minus fear's), not a regime of its own.
DIFFERENCE = "debasement minus fear"

METALS: dict[str, str] = {"silver": "silver_usd", "gold": "gold_usd"}
ALL = "all"


# --------------------------------------------------------------------------------------
# OLS with Newey-West standard errors
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OLSResult:
    """Coefficients of an OLS fit with their HAC (Newey-West) inference.

    Attributes
    ----------
    coef, se, t, p : ndarray
        Estimates, standard errors, t-statistics and two-sided normal p-values.
    cov : ndarray
        HAC covariance of ``coef``.
    resid : ndarray
        Residuals.
    n : int
        Observations used.
    """

    coef: np.ndarray
    se: np.ndarray
    t: np.ndarray
    p: np.ndarray
    cov: np.ndarray
    resid: np.ndarray
    n: int


def newey_west_cov(X: np.ndarray, resid: np.ndarray, lags: int) -> np.ndarray:
    """Newey-West (Bartlett kernel) covariance of OLS coefficients.

    ``V = (X'X)^-1 S (X'X)^-1`` with ``S = G0 + sum_{l=1..lags} w_l (Gl + Gl')`` and
    ``Gl = sum_t u_t u_{t-l} x_t x_{t-l}'``; no small-sample correction (``lags=0``
    gives White's HC0).

    Parameters
    ----------
    X : ndarray of shape (n, k)
        Regressors (rows in time order).
    resid : ndarray of shape (n,)
        OLS residuals.
    lags : int
        Bandwidth; use at least the forecast horizon for overlapping forward returns.
    """
    g = X * resid[:, None]
    S = g.T @ g
    for lag, w in enumerate(bartlett_weights(min(int(lags), len(g) - 1)), start=1):
        gl = g[lag:].T @ g[:-lag]
        S += w * (gl + gl.T)
    bread = np.linalg.pinv(X.T @ X)
    return bread @ S @ bread


def _normal_p(t: np.ndarray | float) -> np.ndarray:
    return 2 * stats.norm.sf(np.abs(t))


def ols_hac(y: np.ndarray, X: np.ndarray, lags: int) -> OLSResult:
    """OLS of ``y`` on ``X`` (include a constant column yourself) with Newey-West errors.

    Parameters
    ----------
    y : ndarray of shape (n,)
    X : ndarray of shape (n, k)
    lags : int
        Newey-West bandwidth (see :func:`newey_west_cov`).
    """
    y = np.asarray(y, dtype=float)
    X = np.asarray(X, dtype=float)
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ coef
    cov = newey_west_cov(X, resid, lags)
    se = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(se > 0, coef / se, np.nan)
    return OLSResult(coef, se, t, _normal_p(t), cov, resid, len(y))


# --------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------
def trailing_return(prices: pd.Series, window: int) -> pd.Series:
    """Trailing ``window``-day log return ``log p[t] - log p[t-window]`` (known at t)."""
    logp = np.log(prices.astype(float))
    return logp - logp.shift(window)


def fit_regimes(design: Design, n_states: int | None = None, random_state: int = 0) -> pd.Series:
    """Filtered regime labels of a :class:`RegimeHMM` fitted on ``design.regime_obs``.

    The HMM's parameters see the whole sample; the labels are filtered probabilities'
    argmax, so each date's label uses observations up to that date only. The model has the
    default settings of the training config (states, covariance, restarts) unless
    ``n_states`` is given.
    """
    from training.config import ModelConfig

    m = ModelConfig()
    obs = design.regime_obs.iloc[design.first_complete():]
    chain = RegimeForecastPipeline(n_states=n_states or m.n_states, hmm_n_init=m.hmm_n_init,
                                   covariance_type=m.covariance_type, regime_anchor=m.regime_anchor)
    hmm = chain.make_regime_model(random_state).fit(obs)
    return hmm.predict(obs).reindex(design.index)


def _regime_groups(regimes: pd.Series | None) -> list[str]:
    if regimes is None:
        return []
    order = regime_names()
    present = set(regimes.dropna().astype(str))
    return [r for r in order if r in present] + sorted(present - set(order))


# --------------------------------------------------------------------------------------
# Predictive regressions at every lag
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LagScan:
    """A metal return and BTC's forward return on the rows every scanned lag can use.

    Build it with :meth:`build`; :meth:`run` regresses y on the metal return lagged by
    each lag, overall and per regime (the regime on t).
    """

    x: np.ndarray  # metal trailing return over the whole index (NaN where unknown)
    rows: np.ndarray  # positions of the rows used (y known, x known at every lag)
    y: np.ndarray  # BTC forward return on ``rows``
    dummies: np.ndarray  # (len(rows), n_groups) one-hot regime on t
    groups: list[str]
    lags: np.ndarray
    hac_lags: int

    @classmethod
    def build(
        cls,
        metal_ret: pd.Series,
        btc_fwd: pd.Series,
        lags: list[int],
        hac_lags: int,
        regimes: pd.Series | None = None,
    ) -> "LagScan":
        """Common sample of all lags: rows where BTC's forward return and every lagged metal return are known."""
        x = metal_ret.reindex(btc_fwd.index).to_numpy(float)
        lag_arr = np.asarray(sorted(set(int(v) for v in lags)))
        pos = np.arange(len(x))
        known = np.isfinite(btc_fwd.to_numpy(float)) & (pos >= lag_arr.max())
        for lag in lag_arr:
            known[lag_arr.max():] &= np.isfinite(x[lag_arr.max() - lag: len(x) - lag])
        rows = pos[known]
        groups = _regime_groups(regimes)
        reg = regimes.reindex(btc_fwd.index).astype(object).to_numpy()[rows] if regimes is not None else None
        dummies = np.column_stack([(reg == g).astype(float) for g in groups]) if groups else np.empty((len(rows), 0))
        return cls(x, rows, btc_fwd.to_numpy(float)[rows], dummies, groups, lag_arr, int(hac_lags))

    def lagged(self, x: np.ndarray | None = None) -> np.ndarray:
        """Matrix of ``x[t - L]`` for the used rows (rows) and each lag (columns)."""
        x = self.x if x is None else x
        return x[self.rows[:, None] - self.lags[None, :]]

    def _fit(self, X: np.ndarray, d: np.ndarray, rows: _Support) -> tuple[np.ndarray, ...]:
        """Slope, corr and slope influence per column of X on the rows where d = 1.

        The influence is zero outside the group, so it is returned on the group's rows only
        (``rows``); every value equals the one computed on all rows.
        """
        n = d.sum()
        xbar = d @ X / n
        ybar = d @ self.y / n
        Xc = (X - xbar) * d[:, None]
        yc = (self.y - ybar) * d
        sxx = np.einsum("ij,ij->j", Xc, Xc)
        xy = Xc.T @ yc
        beta = xy / sxx
        corr = xy / np.sqrt(sxx * (yc @ yc))
        Xg = Xc[rows.index]
        resid = yc[rows.index, None] - Xg * beta
        return beta, corr, Xg * resid / sxx

    def _parts(self, min_obs: int) -> dict[str, np.ndarray]:
        """Indicator of each group's rows: everything, then each regime with at least ``min_obs`` rows."""
        if len(self.rows) < min_obs:
            raise DataError(f"too little overlapping data for predictive regressions ({len(self.rows)} rows, need {min_obs})")
        parts = {ALL: np.ones(len(self.rows))}
        parts.update({g: self.dummies[:, j] for j, g in enumerate(self.groups) if self.dummies[:, j].sum() >= min_obs})
        return parts

    def _supports(self, parts: dict[str, np.ndarray]) -> dict[str, _Support]:
        """Rows and Newey-West pairs of each group (and of the phases' difference): they do not depend on x."""
        supports = {g: _Support.of(d > 0, self.hac_lags) for g, d in parts.items()}
        if "fear" in parts and "debasement" in parts:
            supports[DIFFERENCE] = _Support.of((parts["fear"] + parts["debasement"]) > 0, self.hac_lags)
        return supports

    def statistics(
        self, x: np.ndarray | None = None, min_obs: int = 60, supports: dict[str, _Support] | None = None
    ) -> dict[str, tuple[np.ndarray, ...]]:
        """Per group: slope, HAC standard error, t and correlation at each lag, and the number of rows.

        The numbers of :meth:`run` without the table; ``supports`` (from an earlier call on the
        same scan, as :func:`scan_pvalue` passes) saves working out the groups' rows again.
        """
        X = self.lagged(x)
        parts = self._parts(min_obs)
        supports = self._supports(parts) if supports is None else supports
        fits = {g: self._fit(X, d, supports[g]) for g, d in parts.items()}
        if "fear" in fits and "debasement" in fits:
            db, fb = fits["debasement"], fits["fear"]
            infl = np.empty((supports[DIFFERENCE].size, X.shape[1]))
            infl[supports[DIFFERENCE].position[supports["debasement"].index]] = db[2]
            infl[supports[DIFFERENCE].position[supports["fear"].index]] = 0.0 - fb[2]
            fits[DIFFERENCE] = (db[0] - fb[0], np.full_like(db[0], np.nan), infl)
            parts[DIFFERENCE] = parts["fear"] + parts["debasement"]
        out = {}
        for g, (beta, corr, infl) in fits.items():
            se = np.sqrt(np.clip(supports[g].long_run_variance(infl, len(X)), 0.0, None))
            with np.errstate(divide="ignore", invalid="ignore"):
                t = np.where(se > 0, beta / se, np.nan)
            out[g] = (beta, se, t, corr, int(parts[g].sum()))
        return out

    def run(self, x: np.ndarray | None = None, min_obs: int = 60) -> pd.DataFrame:
        """Slope, HAC standard error, t, p and correlation per lag and group.

        For the overall group and each regime with at least ``min_obs`` rows: the slope
        of ``y_t = a + b x_{t-L}`` (per regime: the interaction model, i.e. OLS on the
        regime's rows with the Newey-West sum over the whole time line); group
        ``debasement minus fear`` (:data:`DIFFERENCE`) tests ``b_debasement - b_fear``: is the
        metals' lead stronger in the thesis's phase two than in phase one?

        Parameters
        ----------
        x : ndarray, optional
            Replacement metal series (e.g. circularly shifted) on the full index.
        min_obs : int
            Smaller groups are skipped.

        Returns
        -------
        pd.DataFrame
            Columns ``lag, group, beta, se, t, p, corr, n``.
        """
        frames = [pd.DataFrame({"lag": self.lags, "group": g, "beta": beta, "se": se, "t": t, "p": _normal_p(t),
                                "corr": corr, "n": n})
                  for g, (beta, se, t, corr, n) in self.statistics(x, min_obs).items()]
        return pd.concat(frames, ignore_index=True)


@dataclass(frozen=True)
class _Support:
    """The rows of one group and, per Newey-West lag, the pairs of its rows that far apart.

    A group's slope influence is zero outside its rows, so the long-run variance sums only
    these pairs: in the same order as the sum over the whole time line, hence the same value
    to the last bit, for a fraction of the work.
    """

    index: np.ndarray | slice  # the group's rows (a slice when it is every row)
    position: np.ndarray  # position of each row among the group's rows (-1 outside)
    pairs: list[tuple[np.ndarray | slice, np.ndarray | slice]]  # per lag 1..: (later, earlier) positions

    @property
    def size(self) -> int:
        """Number of rows in the group."""
        return int((self.position >= 0).sum())

    @classmethod
    def of(cls, member: np.ndarray, lags: int) -> "_Support":
        n = len(member)
        lags = min(int(lags), n - 1)
        if member.all():
            return cls(slice(None), np.arange(n), [(slice(lag, None), slice(None, -lag)) for lag in range(1, lags + 1)])
        index = np.flatnonzero(member)
        position = np.full(n, -1)
        position[index] = np.arange(len(index))
        pairs = []
        for lag in range(1, lags + 1):
            later = index[index >= lag]
            earlier = position[later - lag]
            keep = earlier >= 0
            pairs.append((position[later[keep]], earlier[keep]))
        return cls(index, position, pairs)

    def long_run_variance(self, V: np.ndarray, n: int) -> np.ndarray:
        """:func:`~training.evaluation.metrics.long_run_variance` of a matrix that is ``V`` on these rows of ``n``, zero elsewhere."""
        out = np.einsum("ij,ij->j", V, V)
        for (later, earlier), w in zip(self.pairs, bartlett_weights(len(self.pairs)), strict=True):
            out += 2 * w * np.einsum("ij,ij->j", V[later], V[earlier])
        return out


def best_lags(regressions: pd.DataFrame) -> pd.DataFrame:
    """Per group, the lag with the largest |t| (the strongest evidence either way)."""
    idx = regressions.dropna(subset=["t"]).assign(abs_t=lambda d: d.t.abs()).groupby("group")["abs_t"].idxmax()
    return regressions.loc[idx].set_index("group")


def scan_pvalue(scan: LagScan, best: pd.DataFrame, n_shifts: int = 100, random_state: int = 0) -> pd.Series:
    """Family-wise p-value of each group's best |t| (``best``, from :func:`best_lags`) over the lags.

    The metal series is circularly shifted against BTC and the regimes by random offsets
    of at least ``max lag + hac_lags + 252`` days; the p-value is the share of shifts
    whose max |t| over all lags reaches the observed one (with the +1 correction).

    Returns
    -------
    pd.Series
        Index: group; NaN if ``n_shifts`` is 0.
    """
    observed = best["t"].abs()
    if n_shifts <= 0:
        return pd.Series(np.nan, index=observed.index, name="p_scan")
    finite = np.flatnonzero(np.isfinite(scan.x))
    a, b = finite[0], finite[-1] + 1
    min_shift = int(scan.lags.max()) + scan.hac_lags + 252
    if b - a <= 2 * min_shift:
        raise DataError(f"too little history ({b - a} days) for a lag scan up to {scan.lags.max()} days")
    rng = np.random.default_rng(random_state)
    exceed = pd.Series(0, index=observed.index)
    supports = scan._supports(scan._parts(60))
    for shift in rng.integers(min_shift, b - a - min_shift, size=n_shifts):
        x = scan.x.copy()
        x[a:b] = np.roll(scan.x[a:b], shift)
        null = pd.Series({g: _max_abs(stats[2]) for g, stats in scan.statistics(x, supports=supports).items()})
        exceed += (null.reindex(observed.index) >= observed).astype(int)
    return ((exceed + 1) / (n_shifts + 1)).rename("p_scan")


def _max_abs(t: np.ndarray) -> float:
    """Largest |t| ignoring NaN (NaN when there is none), as a table's group maximum gives it."""
    finite = np.abs(t[~np.isnan(t)])
    return float(finite.max()) if len(finite) else np.nan


# --------------------------------------------------------------------------------------
# Granger-style tests on weekly returns
# --------------------------------------------------------------------------------------
def weekly_returns(prices: pd.DataFrame) -> pd.DataFrame:
    """Weekly (Friday-to-Friday) log returns of business-day prices."""
    return np.log(prices.astype(float).resample("W-FRI").last()).diff()


def _lag_matrix(s: pd.Series, p: int) -> pd.DataFrame:
    return pd.concat({i: s.shift(i) for i in range(1, p + 1)}, axis=1)


def granger_test(btc_w: pd.Series, metal_w: pd.Series, p: int, rows: pd.Series | None = None) -> dict:
    """F-test that ``p`` weekly lags of the metal add nothing to an AR(p) of BTC.

    Parameters
    ----------
    btc_w, metal_w : pd.Series
        Weekly log returns on the same index.
    p : int
        Lags (weeks) of both series.
    rows : pd.Series of bool, optional
        Weeks whose equation is used (e.g. those starting in a regime); lags are taken
        on the full series first.

    Returns
    -------
    dict
        ``weeks, F, p, F_robust, p_robust, n, sum_coef``: the classical F-test, a
        heteroskedasticity-robust (HC0) Wald version and the sum of the metal lags'
        coefficients (the total response).
    """
    X = pd.concat([_lag_matrix(btc_w, p).add_prefix("b"), _lag_matrix(metal_w, p).add_prefix("m")], axis=1)
    frame = pd.concat([btc_w.rename("y"), X], axis=1).dropna()
    if rows is not None:
        frame = frame[rows.reindex(frame.index, fill_value=False).astype(bool)]
    n, k = len(frame), 2 * p + 1
    if n < k + 10:
        return {"weeks": p, "F": np.nan, "p": np.nan, "F_robust": np.nan, "p_robust": np.nan, "n": n, "sum_coef": np.nan}
    y = frame["y"].to_numpy()
    Xu = np.column_stack([np.ones(n), frame.drop(columns="y").to_numpy()])
    Xr = Xu[:, : p + 1]
    full = ols_hac(y, Xu, 0)
    ssr_u = float(full.resid @ full.resid)
    restricted, *_ = np.linalg.lstsq(Xr, y, rcond=None)
    ssr_r = float(np.sum((y - Xr @ restricted) ** 2))
    F = ((ssr_r - ssr_u) / p) / (ssr_u / (n - k))
    g = full.coef[p + 1:]
    V = full.cov[p + 1:, p + 1:]
    F_rob = float(g @ np.linalg.pinv(V) @ g) / p
    return {"weeks": p, "F": F, "p": float(stats.f.sf(F, p, n - k)), "F_robust": F_rob,
            "p_robust": float(stats.f.sf(F_rob, p, n - k)), "n": n, "sum_coef": float(g.sum())}


def granger_tests(
    btc: pd.Series, metal: pd.Series, orders: list[int], regimes: pd.Series | None = None
) -> pd.DataFrame:
    """:func:`granger_test` for each lag order, overall and per regime.

    The regime of a week is the filtered label at the close of the previous week, so it
    is known before the week's returns.

    Returns
    -------
    pd.DataFrame
        Columns ``group, weeks, F, p, F_robust, p_robust, n, sum_coef``.
    """
    weekly = weekly_returns(pd.concat({"btc": btc, "metal": metal}, axis=1))
    groups: list[tuple[str, pd.Series | None]] = [(ALL, None)]
    if regimes is not None:
        prior = regimes.astype(object).resample("W-FRI").last().shift(1)
        groups += [(r, prior == r) for r in _regime_groups(regimes)]
    rows = [{"group": g, **granger_test(weekly["btc"], weekly["metal"], p, sel)} for p in orders for g, sel in groups]
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------
# Event study of silver breakouts
# --------------------------------------------------------------------------------------
def breakouts(prices: pd.Series, lookback: int = 252, cooldown: int = 63) -> pd.DatetimeIndex:
    """Dates of new ``lookback``-day closing highs, at least ``cooldown`` days apart.

    A date qualifies when its close exceeds every close of the previous ``lookback``
    days (data up to t only); after an event, new highs within ``cooldown`` days are
    part of the same breakout.
    """
    prior_high = prices.shift(1).rolling(lookback, min_periods=lookback).max()
    hits = np.flatnonzero((prices > prior_high).to_numpy())
    events, last = [], -np.inf
    for i in hits:
        if i - last >= cooldown:
            events.append(i)
            last = i
    return prices.index[events]


@dataclass(frozen=True)
class EventStudy:
    """BTC's cumulative log return after events, in excess of its unconditional drift.

    Attributes
    ----------
    events : pd.Series
        Regime label (or ``all``) on each event date.
    paths : pd.DataFrame
        Index: days after the event (1..K); columns ``<group>_mean``, ``<group>_lo``,
        ``<group>_hi`` (bootstrap band) and ``drift`` (average path over all dates).
    summary : pd.DataFrame
        Per group and checkpoint day: events, mean excess return, band, t-stat, p-value.
    level : float
        Coverage of the band.
    """

    events: pd.Series
    paths: pd.DataFrame
    summary: pd.DataFrame
    level: float = 0.9
    groups: list[str] = field(default_factory=list)


def event_study(
    btc: pd.Series,
    event_dates: pd.DatetimeIndex,
    max_days: int,
    checkpoints: list[int],
    regimes: pd.Series | None = None,
    n_boot: int = 2000,
    level: float = 0.9,
    random_state: int = 0,
) -> EventStudy:
    """Average path of BTC after ``event_dates`` with a bootstrap band, overall and by regime.

    Each event's path is ``log btc[t+k] - log btc[t]`` minus the average of that same
    forward return over all dates (BTC's strong drift would otherwise look like a
    response). Events are resampled with replacement for the band; the t-test treats
    events as independent (they are at least the breakout cooldown apart).
    """
    if max_days < 1 or any(c < 1 or c > max_days for c in checkpoints):
        raise ConfigError(f"event-study checkpoints must lie in 1..{max_days}. Got {checkpoints}.")
    fwd = forward_log_returns(btc, tuple(range(1, max_days + 1)))
    drift = fwd.loc[event_dates.min():].mean() if len(event_dates) else fwd.mean()
    excess = fwd.reindex(event_dates) - drift
    labels = pd.Series(ALL, index=event_dates, dtype=object)
    groups = [ALL]
    if regimes is not None:
        labels = regimes.reindex(event_dates).astype(object).fillna("unknown")
        groups += _regime_groups(labels[labels != "unknown"])
    rng = np.random.default_rng(random_state)
    alpha = (1 - level) / 2
    cols: dict[str, np.ndarray] = {"drift": drift.to_numpy()}
    summary = []
    for g in groups:
        part = excess if g == ALL else excess[(labels == g).to_numpy()]
        band = pd.DataFrame(np.nan, index=[alpha, 1 - alpha], columns=part.columns)
        if len(part) >= 2 and n_boot > 0:
            values = part.to_numpy()
            draws = values[rng.integers(0, len(values), (n_boot, len(values)))]
            counts = np.isfinite(draws).sum(axis=1)
            boots = np.where(counts > 0, np.nansum(draws, axis=1) / np.maximum(counts, 1), np.nan)
            band = pd.DataFrame(boots, columns=part.columns).quantile([alpha, 1 - alpha])
        lo, hi = band.iloc[0].to_numpy(), band.iloc[1].to_numpy()
        cols.update({f"{g}_mean": part.mean().to_numpy(), f"{g}_lo": lo, f"{g}_hi": hi})
        for c in checkpoints:
            v = part[target_name(c)].dropna()
            sd = v.std(ddof=1) if len(v) >= 3 else np.nan
            t = v.mean() / (sd / np.sqrt(len(v))) if sd > 0 else np.nan
            summary.append({"group": g, "day": c, "events": len(v), "mean_excess": v.mean(),
                            "lo": lo[c - 1], "hi": hi[c - 1], "t": t,
                            "p": 2 * stats.t.sf(abs(t), len(v) - 1) if np.isfinite(t) else np.nan})
    paths = pd.DataFrame(cols, index=pd.RangeIndex(1, max_days + 1, name="day"))
    return EventStudy(labels.rename("regime"), paths, pd.DataFrame(summary), level, groups)


# --------------------------------------------------------------------------------------
# The whole analysis for one metal
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LeadLagResult:
    """Every lead-lag statistic of one metal against BTC.

    Attributes
    ----------
    metal : str
    window, horizon : int
        Trailing metal-return window and BTC forward horizon (business days).
    xcorr : pd.DataFrame
        Correlation of the lagged metal return with BTC's forward return; index ``lag``,
        a column per group.
    regressions : pd.DataFrame
        :meth:`LagScan.run`.
    best : pd.DataFrame
        :func:`best_lags` with the family-wise ``p_scan`` column.
    granger : pd.DataFrame
        :func:`granger_tests`.
    events : EventStudy
        :func:`event_study` of the metal's breakouts.
    n_shifts : int
        Circular shifts behind ``p_scan`` (its smallest possible value is ``1 / (n_shifts + 1)``).
    """

    metal: str
    window: int
    horizon: int
    xcorr: pd.DataFrame
    regressions: pd.DataFrame
    best: pd.DataFrame
    granger: pd.DataFrame
    events: EventStudy
    n_shifts: int


def analyze_metal(
    aligned: pd.DataFrame,
    metal: str,
    regimes: pd.Series | None = None,
    max_lag: int = 126,
    horizon: int = 21,
    window: int = 63,
    n_shifts: int = 100,
    start: pd.Timestamp | None = None,
    random_state: int = 0,
) -> LeadLagResult:
    """Cross-correlations, predictive regressions, Granger tests and an event study.

    Parameters
    ----------
    aligned : pd.DataFrame
        Point-in-time business-day panel (``Design.aligned``) with ``btc_usd`` and the metal.
    metal : {"silver", "gold"}
    regimes : pd.Series, optional
        Filtered regime label per date (NaN before the HMM's first complete row).
    max_lag : int
        Largest lag in business days (lags 0..max_lag are scanned).
    horizon : int
        BTC forward horizon in business days.
    window : int
        Trailing window of the metal's return.
    n_shifts : int
        Circular shifts for the family-wise p-value (0 skips it).
    start : pd.Timestamp, optional
        First forecast date used (e.g. where the features are complete).
    random_state : int
    """
    if metal not in METALS:
        raise ConfigError(f"`--metal` must be one of {', '.join(METALS)} or both. Got '{metal}'.")
    if max_lag < 0 or horizon < 1 or window < 1:
        raise ConfigError(f"need max_lag >= 0, horizon >= 1, window >= 1. Got {max_lag}, {horizon}, {window}.")
    btc, price = aligned["btc_usd"], aligned[METALS[metal]]
    metal_ret = trailing_return(price, window)
    btc_fwd = forward_log_returns(btc, (horizon,))[target_name(horizon)]
    if start is not None:
        btc_fwd = btc_fwd.where(btc_fwd.index >= start)
        regimes = regimes.where(regimes.index >= start) if regimes is not None else None
    scan = LagScan.build(metal_ret, btc_fwd, list(range(0, max_lag + 1)), horizon, regimes)
    regressions = scan.run()
    best = best_lags(regressions)
    best = best.join(scan_pvalue(scan, best, n_shifts, random_state))
    orders = sorted({w for w in (1, 2, 4, 8, 13, 26) if w * 5 <= max(max_lag, 5)})
    since = start if start is not None else aligned.index[0]
    events = breakouts(price)
    events = events[events >= since]
    checkpoints = sorted({c for c in (horizon, 63, max_lag) if 1 <= c <= max(max_lag, horizon)})
    return LeadLagResult(
        metal=metal, window=window, horizon=horizon,
        xcorr=regressions[regressions.group != DIFFERENCE].pivot(index="lag", columns="group", values="corr"),
        regressions=regressions, best=best,
        granger=granger_tests(btc.loc[since:], price.loc[since:], orders, regimes),
        events=event_study(btc, events, max(max_lag, horizon), checkpoints, regimes, random_state=random_state),
        n_shifts=n_shifts,
    )


def analyze_metals(aligned: pd.DataFrame, metals: Iterable[str], regimes: pd.Series | None = None,
                   **kwargs: Any) -> dict[str, LeadLagResult]:
    """:func:`analyze_metal` for each of ``metals`` (the other arguments as there), one thread each.

    The metals share nothing, and their lag scans spend their time in NumPy, which releases
    the GIL: on two cores two metals take about the time of one. The results are those of
    calling :func:`analyze_metal` for one metal after the other.
    """
    from concurrent.futures import ThreadPoolExecutor

    metals = list(metals)
    with ThreadPoolExecutor(max_workers=max(1, len(metals))) as pool:
        futures = {m: pool.submit(analyze_metal, aligned, m, regimes, **kwargs) for m in metals}
    return {m: f.result() for m, f in futures.items()}


def _call(beta: float, p: float, p_scan: float, floor: float, alpha: float) -> str:
    """Plain-language reading of one best-lag estimate."""
    if np.isfinite(p_scan) and p_scan <= floor and floor >= alpha:
        return "too few circular shifts to judge the lag scan"
    p_used = p_scan if np.isfinite(p_scan) else p
    if p_used >= alpha:
        return ("not significant once the lag scan is accounted for" if p < alpha and np.isfinite(p_scan)
                else "not significant")
    return "significant, in the thesis's direction" if beta > 0 else "significant, but against the thesis"


def verdict(result: LeadLagResult, alpha: float = 0.05) -> str:
    """Honest sentences on the strongest lag overall and in debasement, with nominal and scan-adjusted p."""
    floor = 1.0 / (result.n_shifts + 1)
    parts = []
    for group, label in ((ALL, "Overall"), ("debasement", "In debasement")):
        if group not in result.best.index:
            continue
        b = result.best.loc[group]
        p_scan = float(b.get("p_scan", np.nan))
        adj = "" if not np.isfinite(p_scan) else (
            f", lag-scan p<={floor:.3f} (no shift matched it)" if p_scan <= floor else f", lag-scan p={p_scan:.3f}")
        parts.append(f"{label} the strongest lag is {int(b.lag)} business days: beta={b.beta:+.3f}, HAC t={b.t:+.2f}, "
                     f"nominal p={b.p:.2g}{adj}: {_call(b.beta, b.p, p_scan, floor, alpha)}.")
    head = (f"{result.metal.capitalize()} ({result.window}-day return lagged L days vs BTC's {result.horizon}-day "
            f"forward return, {len(result.xcorr)} lags scanned). ")
    return head + " ".join(parts)
