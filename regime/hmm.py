"""A sklearn-style regime estimator around ``hmmlearn.hmm.GaussianHMM``."""

from __future__ import annotations

import hashlib
import logging

import numpy as np
import pandas as pd
from hmmlearn.hmm import GaussianHMM
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from regime.filtering import forward_filter, gaussian_log_emissions
from regime.naming import LABELS_BY_COUNT, name_states

logger = logging.getLogger(__name__)


class RegimeHMM(BaseEstimator):
    """Gaussian HMM on standardised macro observations with named, filtered regimes.

    Parameters
    ----------
    n_states : {2, 3}
        2 gives fear/debasement, 3 adds calm.
    covariance_type : str
        Passed to ``GaussianHMM`` ("full", "diag", ...).
    n_init : int
        Seeded restarts; the fit with the highest log-likelihood wins.
    n_iter : int
        Maximum EM iterations per restart.
    tol : float
        EM convergence threshold on the log-likelihood gain.
    random_state : int, RandomState or None
        Seeds the restarts.

    Attributes
    ----------
    model_ : GaussianHMM
        The winning fit.
    labels_ : list of str
        Name of each HMM state (see :mod:`regime.naming`).
    columns_ : list of str
        Observation names seen in ``fit``.
    mean_, scale_ : ndarray
        Standardisation learned in ``fit``.
    converged_ : bool
        Whether the winning restart met ``tol`` before ``n_iter`` (hmmlearn's own flag
        is also true when ``n_iter`` was merely reached).
    score_ : float
        Log-likelihood of the training data under the winning fit.
    """

    def __init__(
        self,
        n_states: int = 3,
        covariance_type: str = "full",
        n_init: int = 3,
        n_iter: int = 200,
        tol: float = 1e-3,
        random_state: int | np.random.RandomState | None = 0,
    ) -> None:
        self.n_states = n_states
        self.covariance_type = covariance_type
        self.n_init = n_init
        self.n_iter = n_iter
        self.tol = tol
        self.random_state = random_state

    @property
    def label_names(self) -> tuple[str, ...]:
        """Regime names in a fixed display order (fear, debasement[, calm])."""
        return LABELS_BY_COUNT[self.n_states]

    def _standardise(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        return (np.asarray(X, dtype=float) - self.mean_) / self.scale_

    def fit(self, X: pd.DataFrame, y: None = None, init: "RegimeHMM | None" = None) -> "RegimeHMM":
        """Fit on complete observation rows (a DataFrame with named columns).

        Rows with missing values are dropped; the sequence is treated as contiguous.

        Parameters
        ----------
        X : pd.DataFrame
            Observations.
        y : None
            Ignored.
        init : RegimeHMM, optional
            A fitted model (e.g. the previous walk-forward fold's) to start EM from instead
            of ``n_init`` random restarts: refits then move the states a little rather than
            re-draw them, which keeps labels stable across refits and is faster ("full" and
            "diag" covariances; other types use the restarts).
        """
        if self.n_states not in LABELS_BY_COUNT:
            raise ValueError(f"`n_states` must be 2 or 3. Got {self.n_states}.")
        if int(self.n_init) < 1:
            raise ValueError(f"`n_init` must be an integer >= 1. Got {self.n_init}.")
        X = pd.DataFrame(X).dropna()
        if len(X) < 10 * self.n_states:
            raise ValueError(f"RegimeHMM needs at least {10 * self.n_states} complete rows. Got {len(X)}.")
        self.columns_ = list(X.columns)
        self.mean_ = X.mean().to_numpy()
        self.scale_ = X.std(ddof=0).replace(0.0, 1.0).to_numpy()
        Z = self._standardise(X)
        # Small problem: BLAS/OpenMP threads (k-means init, Cholesky per EM step) only add
        # overhead, and spin badly on a busy 2-core machine (6x slower measured).
        with threadpool_limits(1):
            if (init is not None and list(init.columns_) == self.columns_ and init.n_states == self.n_states
                    and self.covariance_type in ("full", "diag")):
                best, best_score = self._refit_from(Z, init)
            else:
                best, best_score = self._best_of_restarts(Z, check_random_state(self.random_state))
        self.model_ = best
        self.score_ = float(best_score)
        self.converged_ = bool(best.monitor_.converged and best.monitor_.iter < self.n_iter)
        if not self.converged_:
            logger.warning("HMM did not converge within n_iter=%d (tol=%g)", self.n_iter, self.tol)
        self.labels_ = name_states(best.means_, self.columns_)
        return self

    def _best_of_restarts(self, Z: np.ndarray, rng: np.random.RandomState) -> tuple[GaussianHMM, float]:
        """Fit ``n_init`` seeded restarts; return the one with the highest log-likelihood."""
        best, best_score = None, -np.inf
        for _ in range(int(self.n_init)):
            model = GaussianHMM(
                n_components=self.n_states,
                covariance_type=self.covariance_type,
                n_iter=self.n_iter,
                tol=self.tol,
                random_state=rng.randint(np.iinfo(np.int32).max),
                init_params="stmc",
                min_covar=1e-3,
            )
            model.fit(Z)
            score = model.score(Z)
            if np.isfinite(score) and score > best_score:
                best, best_score = model, score
        if best is None:
            raise RuntimeError("every HMM restart failed to produce a finite likelihood")
        return best, float(best_score)

    def _refit_from(self, Z: np.ndarray, init: "RegimeHMM") -> tuple[GaussianHMM, float]:
        """EM started from ``init``'s parameters, carried into this fit's standardisation."""
        old = init.model_
        ratio = init.scale_ / self.scale_
        model = GaussianHMM(
            n_components=self.n_states, covariance_type=self.covariance_type, n_iter=self.n_iter, tol=self.tol,
            init_params="", min_covar=1e-3, random_state=0,
        )
        model.startprob_ = old.startprob_.copy()
        model.transmat_ = old.transmat_.copy()
        model.means_ = old.means_ * ratio + (init.mean_ - self.mean_) / self.scale_
        covars = old.covars_ * np.outer(ratio, ratio)  # full matrices whatever the type
        model.covars_ = covars if self.covariance_type == "full" else np.diagonal(covars, axis1=1, axis2=2).copy()
        model.fit(Z)
        score = model.score(Z)
        if not np.isfinite(score):
            return self._best_of_restarts(Z, check_random_state(self.random_state))
        return model, float(score)

    @property
    def transmat_(self) -> np.ndarray:
        """State transition matrix, ``transmat_[i, j] = P(state_{t+1} = j | state_t = i)`` (HMM order)."""
        check_is_fitted(self, "model_")
        return self.model_.transmat_

    def filter_state_proba(self, X: pd.DataFrame) -> pd.DataFrame:
        """Filtered probabilities P(state_t | obs_1..t) per HMM state (columns ``state_0`` ...).

        State ``i`` is named ``labels_[i]``. Rows with missing observations get NaN and do
        not advance the filter, so the output at t depends only on rows <= t.
        """
        check_is_fitted(self, "model_")
        X = pd.DataFrame(X)[self.columns_]
        ok = X.notna().all(axis=1).to_numpy()
        out = pd.DataFrame(np.nan, index=X.index, columns=[f"state_{i}" for i in range(self.n_states)])
        if ok.any():
            out.loc[ok] = self._filtered(self._standardise(X[ok]))
        return out

    def filter_proba(self, X: pd.DataFrame) -> pd.DataFrame:
        """Filtered probabilities P(regime_t | obs_1..t) for each row, one column ``p_<label>`` per regime name.

        Rows with missing observations get NaN and do not advance the filter, so the
        output at t depends only on rows <= t.
        """
        states = self.filter_state_proba(X).to_numpy()
        order = [self.labels_.index(n) for n in self.label_names]
        return pd.DataFrame(states[:, order], index=pd.DataFrame(X).index,
                            columns=[f"p_{n}" for n in self.label_names])

    def _filtered(self, Z: np.ndarray) -> np.ndarray:
        """Forward filter over standardised rows, continuing the previous call when ``Z`` extends it.

        A warm daily update sends the same history plus a new day: the rows seen last time
        are recognised by a hash and only the new rows are filtered (the result is
        identical to a full pass: the same arithmetic in the same order).
        """
        m = self.model_
        params = (m.startprob_, m.transmat_, m.means_, m.covars_)

        def digest(rows: np.ndarray) -> bytes:  # the rows and the parameters that filtered them
            h = hashlib.sha1(rows.tobytes())
            for p in params:
                h.update(np.ascontiguousarray(p).tobytes())
            return h.digest()

        cache = getattr(self, "_filter_cache", None)
        start, previous, head = 0, None, np.empty((0, self.n_states))
        if cache is not None and 0 < cache[0] <= len(Z) and digest(Z[: cache[0]]) == cache[1]:
            start, previous, head = cache[0], cache[2][-1], cache[2]
        logb = gaussian_log_emissions(Z[start:], m.means_, m.covars_)
        probs = np.vstack([head, forward_filter(m.startprob_, m.transmat_, logb, previous)])
        self._filter_cache = (len(Z), digest(Z), probs)
        return probs

    def predict(self, X: pd.DataFrame) -> pd.Series:
        """Most probable regime name per row under the filtered probabilities."""
        proba = self.filter_proba(X)
        names = np.array(self.label_names, dtype=object)
        values = proba.to_numpy()
        labels = np.where(np.isnan(values).any(axis=1), None, names[np.nan_to_num(values, nan=-1).argmax(axis=1)])
        return pd.Series(labels, index=proba.index, name="regime")
