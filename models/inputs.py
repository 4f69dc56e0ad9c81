"""Input checks shared by the project's regressors: scikit-learn's validation, columns by name.

The forecasters are fitted on DataFrames of named features. At prediction time a DataFrame's
columns are selected *by name* (reordered columns give the same forecast, extra ones are
ignored, a missing one is a clear error) and the values checked as scikit-learn does (NaN
allowed, inf not). Other input (arrays) goes through scikit-learn's ``validate_data`` and is
taken by position, as for any sklearn estimator.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_array, validate_data

from features.errors import ModelError


def validate_fit_input(estimator: BaseEstimator, X, y) -> tuple[np.ndarray, np.ndarray]:
    """Check ``X`` (NaN allowed, inf not) and ``y`` (finite) for ``fit``; record the feature names.

    Sets ``n_features_in_`` and, for a DataFrame with string column names,
    ``feature_names_in_`` on ``estimator``.
    """
    return validate_data(estimator, X, y, ensure_all_finite="allow-nan", y_numeric=True, dtype=np.float64)


def validate_predict_input(estimator: BaseEstimator, X) -> np.ndarray:
    """The feature matrix for ``predict``: a DataFrame's columns in the order seen in ``fit``.

    Raises
    ------
    ModelError
        ``X`` is a DataFrame that lacks features the estimator was fitted on.
    """
    names = getattr(estimator, "feature_names_in_", None)
    if names is not None and isinstance(X, pd.DataFrame):
        if list(X.columns) == list(names):  # already in fit's order (the pipeline's own matrix): no selection
            return check_array(X.to_numpy(dtype=np.float64), ensure_all_finite="allow-nan")
        missing = [str(c) for c in names if c not in X.columns]
        if missing:
            shown = ", ".join(missing[:5]) + (f" (and {len(missing) - 5} more)" if len(missing) > 5 else "")
            raise ModelError(
                f"{type(estimator).__name__}: the input lacks {len(missing)} feature(s) seen in fit: {shown}"
            )
        # Names and count now match fit by construction: check the values only (a third of
        # the cost of ``validate_data`` on a one-row frame, which matters for warm daily updates).
        return check_array(X[list(names)].to_numpy(dtype=np.float64), ensure_all_finite="allow-nan")
    return validate_data(estimator, X, reset=False, ensure_all_finite="allow-nan", dtype=np.float64)
