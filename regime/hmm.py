"""A sklearn-style regime estimator around ``hmmlearn.hmm.GaussianHMM``."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import pandas as pd
from hmmlearn.hmm import GaussianHMM
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from features.errors import DataError
from regime.base import RegimeModelMixin
from regime.filtering import forward_filter, gaussian_log_emissions
from regime.naming import MIN_MATCH, prototypes

logger = logging.getLogger(__name__)

from regime.choices import COVARIANCE_TYPES  # noqa: E402


class RegimeHMM(RegimeModelMixin, BaseEstimator):
    """Gaussian HMM on standardised macro observations with earned names and filtered probabilities.

    Parameters
    ----------
    n_states : int
        Hidden states (2 to 6). Each is named by its best-matching thesis phase or
        ``calm`` (see :mod:`regime.naming`), so several states may share a name.
    covariance_type : {"diag", "full"}
        Emission covariance of each state. "diag" has far fewer parameters and, on the
        real data, reaches the same optimum from every start (docs/decisions.md).
    n_init : int
        Seeded restarts; the fit with the highest log-likelihood wins.
    n_iter : int
        Maximum EM iterations per restart.
    tol : float
        EM convergence threshold on the log-likelihood gain.
    signatures : mapping, optional
        Phase -> {observation: expected direction}; default
        :data:`regime.naming.DEFAULT_SIGNATURES`.
    min_match : float
        Smallest standardised move of a state's mean that counts as up or down.
    anchor : float
        Strength, in pseudo-days, of the thesis's prior on the state means: each state
        starts at a signature's prototype (:func:`regime.naming.prototypes`; the last state
        at the average) and its mean is the MAP estimate under a Gaussian prior centred
        there, worth ``anchor`` days of data. 0 fits the states freely from ``n_init``
        k-means restarts. Anchored, the fit is deterministic and each state stays the
        regime its signature describes unless the data move it away; names are still only
        given when the fitted means meet every defining move. Every state then shares the
        training data's (diagonal) covariance, which is not re-estimated: states are told
        apart by where they sit, not by how volatile they are.
    standardize : bool
        Standardise each observation by its training mean and spread (for raw moves); False
        for observations already in standard units (trailing z-scores), so a state keeps its
        meaning from refit to refit.
    random_state : int, RandomState or None
        Seeds the restarts.

    Attributes
    ----------
    model_ : GaussianHMM
        The winning fit.
    labels_ : list of str
        Name of each HMM state.
    signature_scores_ : pd.DataFrame
        Match of each state (rows) with each phase (columns).
    naming_notes_ : list of str
        Phases no state matches, in plain words (empty when every phase is named).
    columns_ : list of str
        Observation names seen in ``fit``.
    mean_, scale_ : ndarray
        Standardisation learned in ``fit``.
    converged_ : bool
        Whether the winning restart met ``tol`` before ``n_iter`` (hmmlearn's own flag
        is also true when ``n_iter`` was merely reached).
    score_ : float
        Log-likelihood of the training data under the winning fit.
    n_train_ : int
        Complete rows the model was fitted on.
    """

    def __init__(
        self,
        n_states: int = 3,
        covariance_type: str = "diag",
        n_init: int = 3,
        n_iter: int = 200,
        tol: float = 1e-3,
        signatures: Mapping[str, Mapping[str, float]] | None = None,
        min_match: float = MIN_MATCH,
        anchor: float = 0.0,
        standardize: bool = True,
        random_state: int | np.random.RandomState | None = 0,
    ) -> None:
        self.n_states = n_states
        self.covariance_type = covariance_type
        self.n_init = n_init
        self.n_iter = n_iter
        self.tol = tol
        self.signatures = signatures
        self.min_match = min_match
        self.anchor = anchor
        self.standardize = standardize
        self.random_state = random_state

    # -- fitting ------------------------------------------------------------------------------
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
            A fitted model (e.g. the previous walk-forward fold's) to start EM from instead of
            the ``n_init`` seeded restarts: refits then move the states a little rather than
            re-draw them (the restarts are used when the warm start fails).

        Raises
        ------
        ValueError
            For bad parameters, too few rows, or infinite observations (naming the column
            and the first date).
        DataError
            When hmmlearn cannot fit the observations (one line naming the model and its inputs).
        """
        self._check_params()
        if self.covariance_type not in COVARIANCE_TYPES:
            raise ValueError(f"`covariance_type` must be one of {', '.join(COVARIANCE_TYPES)}. Got {self.covariance_type!r}.")
        if int(self.n_init) < 1:
            raise ValueError(f"`n_init` must be an integer >= 1. Got {self.n_init}.")
        if not (isinstance(self.anchor, (int, float)) and np.isfinite(self.anchor) and self.anchor >= 0):
            raise ValueError(f"`anchor` must be a number >= 0. Got {self.anchor!r}.")
        Z = self._prepare_fit(X)
        self.prototypes_ = prototypes(self.columns_, int(self.n_states), self.signatures)
        # Small problem: BLAS/OpenMP threads (k-means init, Cholesky per EM step) only add
        # overhead, and spin badly on a busy 2-core machine (6x slower measured).
        warm = init is not None and getattr(init, "columns_", None) == self.columns_ and init.n_states == self.n_states
        advice = (f"the regime model ({self.n_states}-state Gaussian HMM on {', '.join(map(str, self.columns_))}) cannot be fitted "
                  f"on these {len(Z)} rows")
        try:
            with threadpool_limits(1):
                candidates = [self._refit_from(Z, init)] if warm else []
                if not warm or not np.isfinite(candidates[0][1]):
                    candidates += (self._anchored(Z) if self.anchor > 0
                                   else self._restarts(Z, check_random_state(self.random_state)))
        except (ValueError, np.linalg.LinAlgError) as exc:  # hmmlearn's own refusal, e.g. covars not positive-definite
            raise DataError(f"{advice} (hmmlearn: {str(exc).strip().splitlines()[0]}); an observation that barely moves "
                            "or too few rows do this: try fewer states (--n-states) or more data") from None
        finite = [(m, s) for m, s in candidates if np.isfinite(s)]
        if not finite:
            raise DataError(f"{advice}: every restart ended without a finite likelihood; try fewer states "
                            "(--n-states) or more data")
        # Highest likelihood wins; near-ties (float noise) go to the earliest candidate, so the
        # choice does not hinge on the last bits.
        top = max(s for _, s in finite)
        best, best_score = next((m, s) for m, s in finite if s >= top - 1e-6 * abs(top))
        self.model_ = best
        self.score_ = float(best_score)
        self.converged_ = bool(best.monitor_.converged and best.monitor_.iter < self.n_iter)
        if not self.converged_:
            logger.warning("HMM did not converge within n_iter=%d (tol=%g)", self.n_iter, self.tol)
        self._name_states(best.means_)
        return self

    def _new_model(self, random_state: int, init_params: str) -> GaussianHMM:
        anchored = self.anchor > 0
        return GaussianHMM(
            n_components=int(self.n_states), covariance_type=self.covariance_type, n_iter=self.n_iter, tol=self.tol,
            random_state=random_state, init_params=init_params, min_covar=1e-3,
            # Anchored: MAP means under the thesis's prior, the covariance kept at the data's.
            **({"means_prior": self.prototypes_, "means_weight": float(self.anchor), "params": "stm"} if anchored else {}),
            # One pseudo-count per transition (a Dirichlet(2) prior, MAP estimate): no transition
            # is ever impossible, so a surprising day cannot make every state's probability vanish.
            transmat_prior=2.0,
        )

    def _restarts(self, Z: np.ndarray, rng: np.random.RandomState) -> list[tuple[GaussianHMM, float]]:
        """Fit ``n_init`` seeded restarts; return each with its log-likelihood."""
        out = []
        for _ in range(int(self.n_init)):
            model = self._new_model(rng.randint(np.iinfo(np.int32).max), "stmc")
            model.fit(Z)
            out.append((model, float(model.score(Z))))
        return out

    def _anchored(self, Z: np.ndarray) -> list[tuple[GaussianHMM, float]]:
        """One deterministic fit started at the prototypes (persistent states, the data's covariance)."""
        k = int(self.n_states)
        model = self._new_model(0, "")
        model.startprob_ = np.full(k, 1.0 / k)
        model.transmat_ = np.full((k, k), 0.05 / (k - 1)) + np.eye(k) * (0.95 - 0.05 / (k - 1))
        model.means_ = self.prototypes_.copy()
        model.covars_ = self._data_covars(Z)
        model.fit(Z)
        return [(model, float(model.score(Z)))]

    def _data_covars(self, Z: np.ndarray) -> np.ndarray:
        """The training rows' covariance, one copy per state (what an anchored fit keeps)."""
        cov = np.atleast_2d(np.cov(Z.T)) + 1e-3 * np.eye(Z.shape[1])
        per_state = cov if self.covariance_type == "full" else np.diag(cov)
        return np.repeat(per_state[None], int(self.n_states), axis=0)

    def _refit_from(self, Z: np.ndarray, init: "RegimeHMM") -> tuple[GaussianHMM, float]:
        """EM started from ``init``'s parameters, carried into this fit's standardisation."""
        old = init.model_
        ratio = init.scale_ / self.scale_
        model = self._new_model(0, "")
        model.startprob_ = old.startprob_.copy()
        model.transmat_ = old.transmat_.copy()
        model.means_ = old.means_ * ratio + (init.mean_ - self.mean_) / self.scale_
        covars = old.covars_ * np.outer(ratio, ratio)  # full matrices whatever the type
        model.covars_ = covars if self.covariance_type == "full" else np.diagonal(covars, axis1=1, axis2=2).copy()
        if self.anchor > 0:
            model.covars_ = self._data_covars(Z)
        model.fit(Z)
        return model, float(model.score(Z))

    # -- the fitted model ---------------------------------------------------------------------
    @property
    def transmat_(self) -> np.ndarray:
        """State transition matrix, ``transmat_[i, j] = P(state_{t+1} = j | state_t = i)``."""
        check_is_fitted(self, "model_")
        return self.model_.transmat_

    @property
    def state_means_(self) -> np.ndarray:
        """Standardised mean of each observation in each state, shape (n_states, n_features)."""
        check_is_fitted(self, "model_")
        return self.model_.means_

    def _log_emissions(self, Z: np.ndarray) -> np.ndarray:
        return gaussian_log_emissions(Z, self.model_.means_, self.model_.covars_)

    def _filter(self, Z: np.ndarray, previous: np.ndarray | None = None) -> np.ndarray:
        """Forward filter over standardised complete rows (a pure function of the fitted parameters)."""
        m = self.model_
        return forward_filter(m.startprob_, m.transmat_, self._log_emissions(Z), previous)

    def step_state_proba(self, history: pd.DataFrame, candidates: pd.DataFrame) -> np.ndarray:
        """Today's filtered state probabilities for each candidate observation, after ``history``.

        ``P(state_t | history, x) ∝ (p_{t-1} @ A) * b(x)`` for each row ``x`` of
        ``candidates`` taken alone (what-if observations for today), where ``p_{t-1}`` is the
        filter at the end of the complete rows of ``history`` (``startprob`` when none).
        """
        check_is_fitted(self, "model_")
        past = pd.DataFrame(history)[self.columns_].dropna()
        m = self.model_
        prior = m.startprob_ if past.empty else self._filter(self._standardise(past))[-1] @ m.transmat_
        logpost = np.log(np.clip(prior, 1e-300, None)) + self._log_emissions(
            self._standardise(pd.DataFrame(candidates)[self.columns_]))
        post = np.exp(logpost - logpost.max(axis=1, keepdims=True))
        return post / post.sum(axis=1, keepdims=True)

    def predictive_log_likelihood(self, X: pd.DataFrame, previous: np.ndarray | None = None) -> np.ndarray:
        """Causal one-step predictive log density ``log p(x_t | x_1..t-1)`` of each complete row.

        Scores a model on data it was not fitted on (out-of-sample log-likelihood):
        row t uses the filter up to t-1 only. ``previous`` continues from an earlier pass.
        """
        check_is_fitted(self, "model_")
        Z = self._standardise(pd.DataFrame(X)[self.columns_].dropna())
        logb = self._log_emissions(Z)
        filt = self._filter(Z, previous)
        m = self.model_
        start = m.startprob_ if previous is None else np.asarray(previous, float) @ m.transmat_
        priors = np.vstack([start, filt[:-1] @ m.transmat_])
        shift = logb.max(axis=1)
        # Back to the observations' own units: the standardisation's Jacobian.
        return np.log((priors * np.exp(logb - shift[:, None])).sum(axis=1)) + shift - np.log(self.scale_).sum()
