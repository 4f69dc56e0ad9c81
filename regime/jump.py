"""A second regime engine: the statistical jump model (PyPI ``jumpmodels``).

A jump model clusters standardised observations into ``n_states`` centres while paying a
fixed penalty ``jump_penalty`` for every change of state (Nystrup et al. 2020; Shu, Yu &
Mulvey 2024). It has no emission densities: a day's state is the end of the cheapest path
of states up to that day. Fitting is delegated to ``jumpmodels.jump.JumpModel``; the online
inference (the cheapest path *ending* at t, from data up to t only) is the forward pass of
its dynamic programme, written out here so it can be continued and asked what-if
questions; it equals ``JumpModel.predict_proba_online`` (tested).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from jumpmodels.jump import JumpModel
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from regime.base import RegimeModelMixin
from regime.naming import MIN_MATCH


class RegimeJumpModel(RegimeModelMixin, BaseEstimator):
    """Statistical jump model on standardised macro observations, named like the HMM.

    Parameters
    ----------
    n_states : int
        States (2 to 6), named by their best-matching thesis phase or ``calm``.
    jump_penalty : float
        Cost of one change of state, in units of half a squared standard deviation: higher
        gives longer spells.
    n_init : int
        k-means++ initialisations of the coordinate descent; the lowest objective wins.
    max_iter : int
        Coordinate-descent iterations per initialisation.
    signatures : mapping, optional
        Phase -> {observation: expected direction} (see :mod:`regime.naming`).
    min_match : float
        Smallest match (in standard deviations) that earns a phase's name.
    random_state : int
        Seeds the initialisations.

    Attributes
    ----------
    model_ : jumpmodels.jump.JumpModel
        The fitted jump model.
    centers_ : ndarray of shape (n_states, n_features)
        State centres in standardised units.
    labels_, signature_scores_, naming_notes_, columns_, mean_, scale_, n_train_
        As for :class:`regime.hmm.RegimeHMM`.
    score_ : float
        Minus the fitted objective (higher is better, like a log-likelihood).
    converged_ : bool
        Always true: the coordinate descent stops at a fixed point or at ``max_iter``.
    """

    def __init__(
        self,
        n_states: int = 3,
        jump_penalty: float = 50.0,
        n_init: int = 10,
        max_iter: int = 1000,
        signatures: Mapping[str, Mapping[str, float]] | None = None,
        min_match: float = MIN_MATCH,
        random_state: int = 0,
    ) -> None:
        self.n_states = n_states
        self.jump_penalty = jump_penalty
        self.n_init = n_init
        self.max_iter = max_iter
        self.signatures = signatures
        self.min_match = min_match
        self.random_state = random_state

    def fit(self, X: pd.DataFrame, y: None = None, init: object | None = None) -> "RegimeJumpModel":
        """Fit on complete observation rows (a DataFrame with named columns).

        ``init`` (a previous fit, as the walk-forward passes) is accepted for the common
        interface and not used: the jump model's restarts already agree with each other.
        """
        self._check_params()
        if not (isinstance(self.jump_penalty, (int, float)) and np.isfinite(self.jump_penalty) and self.jump_penalty >= 0):
            raise ValueError(f"`jump_penalty` must be a number >= 0. Got {self.jump_penalty!r}.")
        Z = self._prepare_fit(X)
        with threadpool_limits(1):
            model = JumpModel(n_components=int(self.n_states), jump_penalty=float(self.jump_penalty),
                              random_state=int(self.random_state), n_init=int(self.n_init), max_iter=int(self.max_iter))
            model.fit(Z, sort_by=None)
        self.model_ = model
        self.centers_ = np.asarray(model.centers_, dtype=float)
        self.penalty_ = np.asarray(model.jump_penalty_mx, dtype=float)
        counts = np.zeros((int(self.n_states),) * 2)
        labels = np.asarray(model.labels_, dtype=int)
        np.add.at(counts, (labels[:-1], labels[1:]), 1.0)
        # Empirical transitions, with one pseudo-count per cell so no transition is impossible.
        self._transmat = (counts + 1.0) / (counts + 1.0).sum(axis=1, keepdims=True)
        self.score_ = -float(model.val_)
        self.converged_ = True
        self._name_states(self.centers_)
        return self

    @property
    def transmat_(self) -> np.ndarray:
        """Empirical transition matrix of the fitted state path (one pseudo-count per cell)."""
        check_is_fitted(self, "model_")
        return self._transmat

    @property
    def state_means_(self) -> np.ndarray:
        """State centres in standardised units, shape (n_states, n_features)."""
        check_is_fitted(self, "model_")
        return self.centers_

    def _values(self, Z: np.ndarray, previous: np.ndarray | None = None) -> np.ndarray:
        """Forward dynamic programme: cost of the cheapest state path ending in each state at each row."""
        loss = 0.5 * ((Z[:, None, :] - self.centers_[None, :, :]) ** 2).sum(axis=2)
        values = np.empty_like(loss)
        prev = previous
        for t in range(len(loss)):
            values[t] = loss[t] if prev is None else loss[t] + (prev[:, None] + self.penalty_).min(axis=0)
            prev = values[t]
        return values

    def _one_hot(self, values: np.ndarray) -> np.ndarray:
        out = np.zeros_like(values)
        out[np.arange(len(values)), values.argmin(axis=1)] = 1.0
        return out

    def _filter(self, Z: np.ndarray) -> np.ndarray:
        """Online states of standardised complete rows: the end of the cheapest path so far (one-hot)."""
        return self._one_hot(self._values(Z))

    def step_state_proba(self, history: pd.DataFrame, candidates: pd.DataFrame) -> np.ndarray:
        """Today's online state for each candidate observation, after the complete rows of ``history``."""
        check_is_fitted(self, "model_")
        past = pd.DataFrame(history)[self.columns_].dropna()
        Zc = self._standardise(pd.DataFrame(candidates)[self.columns_])
        if past.empty:
            return self._one_hot(self._values(Zc))
        last = self._values(self._standardise(past))[-1]
        loss = 0.5 * ((Zc[:, None, :] - self.centers_[None, :, :]) ** 2).sum(axis=2)
        return self._one_hot(loss + (last[:, None] + self.penalty_).min(axis=0))
