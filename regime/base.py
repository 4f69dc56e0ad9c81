"""What every regime engine shares: input checks, standardisation, names, filtered outputs.

An engine (the HMM) subclasses :class:`RegimeModelMixin` and provides
``fit``, ``_filter(Z, previous)`` (causal state probabilities of standardised complete
rows), ``step_state_proba``, ``transmat_`` and ``state_means_``. Everything users and the
pipeline read (``filter_state_proba``, ``filter_proba``, ``predict``, the names) is built here
from those, identically for every engine.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from regime.naming import (
    NEUTRAL,
    check_signatures,
    name_states,
    naming_notes,
    regime_names,
    signature_scores,
)

#: Engines support 2 to this many states.
MAX_STATES = 6


class RegimeModelMixin:
    """Shared behaviour of the regime estimators (see the module docstring)."""

    n_states: int
    signatures: dict | None
    min_match: float

    # -- parameters and input -------------------------------------------------------------------
    def _check_params(self) -> None:
        if isinstance(self.n_states, bool) or not isinstance(self.n_states, (int, np.integer)) or not (
            2 <= self.n_states <= MAX_STATES
        ):
            raise ValueError(f"`n_states` must be an integer from 2 to {MAX_STATES}. Got {self.n_states!r}.")
        if self.signatures is not None:
            check_signatures(self.signatures)

    def _prepare_fit(self, X: pd.DataFrame) -> np.ndarray:
        """Check the observations, learn the standardisation and return the standardised complete rows."""
        X = pd.DataFrame(X).astype(float)
        values = X.to_numpy()
        infinite = np.isinf(values)
        if infinite.any():
            row, col = np.argwhere(infinite)[0]
            raise ValueError(
                f"regime observation '{X.columns[col]}' is infinite at {X.index[row]} "
                "(the log of a zero or negative price?): the regime model needs finite observations"
            )
        X = X.dropna()
        if len(X) < 10 * self.n_states:
            raise ValueError(f"the regime model needs at least {10 * self.n_states} complete rows. Got {len(X)}.")
        self.columns_ = list(X.columns)
        scale = X.std(ddof=0).to_numpy()
        constant = [c for c, s in zip(self.columns_, scale) if not s > 0]
        if constant:
            raise ValueError(
                f"regime observation '{constant[0]}' is constant over the {len(X)} training rows: it cannot tell regimes apart"
            )
        # Observations already in standard units (trailing z-scores) keep them: a state then
        # means the same move in every refit, whatever span it was fitted on.
        standard = not getattr(self, "standardize", True)
        self.mean_ = np.zeros(len(scale)) if standard else X.mean().to_numpy()
        self.scale_ = np.ones(len(scale)) if standard else scale
        self.n_train_ = len(X)
        return self._standardise(X)

    def _standardise(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        return (np.asarray(X, dtype=float) - self.mean_) / self.scale_

    def _name_states(self, means: np.ndarray) -> None:
        self.signature_scores_ = signature_scores(means, self.columns_, self.signatures, self.min_match)
        self.labels_ = name_states(means, self.columns_, self.signatures, self.min_match)
        self.naming_notes_ = naming_notes(self.signature_scores_, self.labels_)

    # -- names ----------------------------------------------------------------------------------
    @property
    def label_names(self) -> tuple[str, ...]:
        """Every regime name, in display order (the phases, then ``calm``), whether or not a state has it."""
        return regime_names(self.signatures)

    def state_match(self) -> pd.DataFrame:
        """Each state's name, its match with that name's phase and its best match, for display.

        Returns
        -------
        pd.DataFrame
            Rows ``state_0 ...``; columns ``label``, ``match`` (NaN for ``calm``: no phase),
            ``best_phase``, ``best_match``.
        """
        check_is_fitted(self, "labels_")
        scores = self.signature_scores_
        rows = []
        for state, label in zip(scores.index, self.labels_):
            row = scores.loc[state]
            best = row.idxmax() if row.notna().any() else None
            rows.append({"label": label, "match": row[label] if label != NEUTRAL else np.nan,
                         "best_phase": best, "best_match": row[best] if best else np.nan})
        return pd.DataFrame(rows, index=scores.index)

    # -- filtered outputs -----------------------------------------------------------------------
    def filter_state_proba(self, X: pd.DataFrame) -> pd.DataFrame:
        """Filtered probabilities P(state_t | obs_1..t) per state (columns ``state_0`` ...).

        State ``i`` is named ``labels_[i]``. Rows with missing observations get NaN and do
        not advance the filter, so the output at t depends only on rows <= t. Nothing is
        remembered between calls.
        """
        check_is_fitted(self, "labels_")
        X = pd.DataFrame(X)
        if list(X.columns) != self.columns_:
            X = X[self.columns_]
        values = X.to_numpy(dtype=float)
        ok = ~np.isnan(values).any(axis=1)
        out = np.full((len(X), int(self.n_states)), np.nan)
        if ok.any():
            out[ok] = self._filter(self._standardise(values[ok]))
        return pd.DataFrame(out, index=X.index, columns=[f"state_{i}" for i in range(int(self.n_states))])

    def aggregate(self, state_proba: np.ndarray | pd.DataFrame) -> np.ndarray:
        """State probabilities summed into regime names (columns in :attr:`label_names` order)."""
        values = np.asarray(state_proba, dtype=float)
        labels = np.asarray(self.labels_, dtype=object)
        return np.column_stack([values[:, labels == name].sum(axis=1) if (labels == name).any()
                                else np.where(np.isnan(values).any(axis=1), np.nan, 0.0)
                                for name in self.label_names])

    def filter_proba(self, X: pd.DataFrame) -> pd.DataFrame:
        """Filtered probabilities P(regime_t | obs_1..t), one column ``p_<name>`` per regime name.

        A name no state has gets probability 0; warm-up rows get NaN.
        """
        states = self.filter_state_proba(X)
        return pd.DataFrame(self.aggregate(states), index=states.index, columns=[f"p_{n}" for n in self.label_names])

    def predict(self, X: pd.DataFrame) -> pd.Series:
        """Most probable regime name per row under the filtered probabilities (None in the warm-up)."""
        proba = self.filter_proba(X)
        names = np.array(self.label_names, dtype=object)
        values = proba.to_numpy()
        labels = np.where(np.isnan(values).any(axis=1), None, names[np.nan_to_num(values, nan=-1).argmax(axis=1)])
        return pd.Series(labels, index=proba.index, name="regime")
