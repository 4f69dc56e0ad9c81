"""The HMM forward filter: P(state_t | obs_1..t), which never sees the future.

hmmlearn's ``predict_proba`` returns *smoothed* posteriors P(state_t | obs_1..T) and its
forward pass is private, so the project owns this small, tested filter.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import multivariate_normal


def gaussian_log_emissions(X: np.ndarray, means: np.ndarray, covars: np.ndarray) -> np.ndarray:
    """Log density of each row of ``X`` under each state's Gaussian.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    means : ndarray of shape (n_states, n_features)
    covars : ndarray of shape (n_states, n_features, n_features)
        Full covariance matrices (hmmlearn's ``covars_`` property gives them for every
        covariance type).

    Returns
    -------
    ndarray of shape (n_samples, n_states)
    """
    return np.column_stack(
        [multivariate_normal(mean=m, cov=c, allow_singular=True).logpdf(X).reshape(-1) for m, c in zip(means, covars)]
    )


def forward_filter(
    startprob: np.ndarray, transmat: np.ndarray, log_emissions: np.ndarray, previous: np.ndarray | None = None
) -> np.ndarray:
    """Filtered state probabilities of an HMM.

    ``alpha_t ∝ (alpha_{t-1} @ A) * b_t`` normalised each step, with
    ``alpha_0 ∝ pi * b_0``. Row t depends only on emissions 0..t.

    Parameters
    ----------
    startprob : ndarray of shape (n_states,)
    transmat : ndarray of shape (n_states, n_states)
        ``transmat[i, j] = P(state_{t+1} = j | state_t = i)``.
    log_emissions : ndarray of shape (n_samples, n_states)
    previous : ndarray of shape (n_states,), optional
        Filtered probabilities of the row just before ``log_emissions[0]``, to continue
        an earlier pass (the result equals filtering the whole sequence at once).

    Returns
    -------
    ndarray of shape (n_samples, n_states)
        Rows sum to one.
    """
    n, k = log_emissions.shape
    out = np.empty((n, k))
    if n == 0:
        return out
    # Per-row shift keeps exp() in range; it cancels in the normalisation.
    b = np.exp(log_emissions - log_emissions.max(axis=1, keepdims=True))
    alpha = startprob * b[0] if previous is None else (previous @ transmat) * b[0]
    for t in range(n):
        if t:
            alpha = (alpha @ transmat) * b[t]
        total = alpha.sum()
        alpha = alpha / total if total > 0 and np.isfinite(total) else np.full(k, 1.0 / k)
        out[t] = alpha
    return out
