"""The HMM forward filter: P(state_t | obs_1..t), which never sees the future.

hmmlearn's ``predict_proba`` returns *smoothed* posteriors P(state_t | obs_1..T) and its
forward pass is private, so the project owns this small, tested filter.
"""

from __future__ import annotations

import numpy as np


def gaussian_log_emissions(X: np.ndarray, means: np.ndarray, covars: np.ndarray) -> np.ndarray:
    """Log density of each row of ``X`` under each state's Gaussian.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    means : ndarray of shape (n_states, n_features)
    covars : ndarray of shape (n_states, n_features, n_features)
        Full covariance matrices (hmmlearn's ``covars_`` property gives them for every
        covariance type); each must be positive definite.

    Returns
    -------
    ndarray of shape (n_samples, n_states)
    """
    X = np.atleast_2d(np.asarray(X, dtype=float))
    d = X.shape[1]
    out = np.empty((X.shape[0], len(means)))
    for k, (m, c) in enumerate(zip(means, covars)):
        L = np.linalg.cholesky(c)
        sol = np.linalg.solve(L, (X - m).T)  # L^-1 (x - m), one column per row of X
        out[:, k] = -0.5 * (d * np.log(2 * np.pi) + 2 * np.log(np.diag(L)).sum() + (sol * sol).sum(axis=0))
    return out


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

    Raises
    ------
    ValueError
        For a non-finite emission density or when every state's probability vanishes: the
        filter never silently restarts from uniform probabilities.
    """
    n, k = log_emissions.shape
    out = np.empty((n, k))
    if n == 0:
        return out
    # A state may have zero density (-inf); NaN, +inf or a row where every state has zero density may not.
    usable = ~np.isnan(log_emissions).any(axis=1) & np.isfinite(log_emissions.max(axis=1))
    if not usable.all():
        bad = int(np.flatnonzero(~usable)[0])
        raise ValueError(f"non-finite emission densities at row {bad}: the filter cannot use them")
    # Per-row shift keeps exp() in range; it cancels in the normalisation.
    b = np.exp(log_emissions - log_emissions.max(axis=1, keepdims=True))
    start = startprob if previous is None else previous @ transmat
    fast = _compiled_forward(start, transmat, b)
    if fast is not None:
        return fast
    return _python_forward(start, transmat, b)


def _compiled_forward(start: np.ndarray, transmat: np.ndarray, b: np.ndarray) -> np.ndarray | None:
    """hmmlearn's compiled scaled forward pass (private API; None when unavailable or when it fails).

    It computes the same recursion as :func:`_python_forward` about 200 times faster; a test
    checks the two agree at every row. Any trouble (a missing module, a vanished
    probability) falls back to the Python loop, which raises the clear errors.
    """
    try:
        from hmmlearn import _hmmc
    except ImportError:  # pragma: no cover - hmmlearn without its extension
        return None
    with np.errstate(all="ignore"):
        try:
            _, alpha, _ = _hmmc.forward_scaling(np.ascontiguousarray(start, dtype=float),
                                                np.ascontiguousarray(transmat, dtype=float),
                                                np.ascontiguousarray(b, dtype=float))
        except Exception:  # noqa: BLE001 - any failure of the private routine: use the reference loop
            return None
    return alpha if np.isfinite(alpha).all() else None


def _python_forward(start: np.ndarray, transmat: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The reference forward recursion: ``alpha_t ∝ (alpha_{t-1} @ A) * b_t``, normalised each row."""
    n, k = b.shape
    out = np.empty((n, k))
    alpha = start * b[0]
    for t in range(n):
        if t:
            alpha = (alpha @ transmat) * b[t]
        total = alpha.sum()
        if not total > 0:
            raise ValueError(f"the filter's probabilities vanished at row {t} (every state has zero probability)")
        alpha = alpha / total
        out[t] = alpha
    return out
