"""scikit-learn's estimator contract (``parametrize_with_checks``) on the project's estimators.

The two regressors (``LGBMForecaster``, ``LinearBaseline``) pass every check. The checks that
cannot apply are listed below by name with the reason, and run as strict expected failures:
when one starts passing (a fix landed) the test fails, so the mark is dropped, not forgotten.
(The expected failures are handled in the test body rather than with sklearn's
``expected_failed_checks``: pytest then does not format the checks' long tracebacks, which
took two thirds of the file's time.)

Deliberately not run: ``check_dataframe_column_names_consistency`` (sklearn runs it only on its
own estimators). It requires an error when a DataFrame's columns come in another order; the
project's regressors select them by name instead (tested at the end of this file).
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from features.errors import ModelError
from models.baselines import LinearBaseline
from models.forecaster import LGBMForecaster
from models.pipeline import RegimeForecastPipeline
from regime.base import RegimeModelMixin
from regime.hmm import RegimeHMM

_SMALL = "needs at least 10 x n_states complete rows; the check fits on fewer"
_NAMES = "predict returns regime names (strings); sklearn compares a non-classifier's outputs as numbers"
_SEQUENTIAL = "a forward filter: each row's probabilities depend on the rows before it, by design"
_VALIDATION = "fit validates with pandas, not sklearn's check_array (regime/, issue 12)"

REGIME_EXPECTED_FAILURES = {
    "check_n_features_in_after_fitting": _SMALL,
    "check_complex_data": _SMALL,
    "check_fit2d_1sample": _SMALL,
    "check_fit2d_1feature": _SMALL,
    "check_estimators_pickle": _NAMES,
    "check_fit_idempotent": _NAMES,
    "check_methods_sample_order_invariance": _SEQUENTIAL,
    "check_methods_subset_invariance": _SEQUENTIAL,
    "check_estimators_nan_inf": "rows with NaN are dropped on purpose (the warm-up); inf is refused with a message naming the column",
    "check_estimators_empty_data_messages": _VALIDATION,
    "check_estimator_sparse_array": _VALIDATION,
    "check_estimator_sparse_matrix": _VALIDATION,
    "check_fit1d": _VALIDATION,
    "check_fit2d_predict1d": _VALIDATION,
    "check_n_features_in": "no n_features_in_ (it records columns_ instead)",
}

_PANEL = "fit takes a raw panel (DatetimeIndex, series ids such as btc_usd), not a numeric matrix: tests/test_pipeline.py"
PIPELINE_EXPECTED_FAILURES = {
    **{name: _PANEL for name in (
        "check_fit_score_takes_y", "check_estimators_overwrite_params", "check_dont_overwrite_parameters",
        "check_estimators_fit_returns_self", "check_readonly_memmap_input", "check_n_features_in_after_fitting",
        "check_positive_only_tag_during_fit", "check_estimators_dtypes", "check_complex_data", "check_dtype_object",
        "check_estimators_empty_data_messages", "check_pipeline_consistency", "check_estimators_nan_inf",
        "check_estimator_sparse_tag", "check_estimator_sparse_array", "check_estimator_sparse_matrix",
        "check_estimators_pickle", "check_f_contiguous_array_estimator", "check_methods_sample_order_invariance",
        "check_methods_subset_invariance", "check_fit2d_1sample", "check_fit2d_1feature", "check_dict_unchanged",
        "check_fit_idempotent", "check_fit_check_is_fitted", "check_n_features_in", "check_fit1d",
        "check_fit2d_predict1d",
    )},
    "check_parameters_default_constructible": "the default `feature_config` is a FeatureConfig instance (models/pipeline.py)",
}


def expected_failures(estimator) -> dict[str, str]:
    """Checks that cannot pass for ``estimator``, with the reason (none for the regressors)."""
    if isinstance(estimator, RegimeModelMixin):
        return REGIME_EXPECTED_FAILURES
    if isinstance(estimator, RegimeForecastPipeline):
        return PIPELINE_EXPECTED_FAILURES
    return {}


def check_name(check) -> str:
    """The name of a check as ``parametrize_with_checks`` yields it (a partial, maybe nested)."""
    while isinstance(check, partial):
        check = check.func
    return check.__name__


@parametrize_with_checks(
    [LGBMForecaster(), LinearBaseline(), RegimeHMM(n_states=2, n_init=1),
     RegimeForecastPipeline()]
)
def test_sklearn_estimator_contract(estimator, check):
    reason = expected_failures(estimator).get(check_name(check))
    if reason is None:
        check(estimator)
        return
    try:
        check(estimator)
    except Exception:  # noqa: BLE001 - any failure of an expected-to-fail check
        failed = True
    else:
        failed = False
    if not failed:
        pytest.fail(f"{check_name(check)} now passes on {type(estimator).__name__}: drop its expected failure ({reason})")
    pytest.xfail(reason)


def _named_frame(seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(300, 4)), columns=["a", "b", "c", "d"])
    y = pd.Series(X["a"] - 2 * X["b"] + 0.5 * X["d"] + rng.normal(scale=0.1, size=300))
    return X, y


@pytest.mark.parametrize(
    "estimator", [LinearBaseline(), LGBMForecaster({"min_child_samples": 20})], ids=lambda e: type(e).__name__
)
def test_columns_are_selected_by_name(estimator):
    X, y = _named_frame()
    model = estimator.fit(X, y)
    base = model.predict(X)
    assert np.ptp(base) > 0  # not a constant forecast: column order would matter if used
    np.testing.assert_array_equal(model.predict(X[X.columns[::-1]]), base)
    np.testing.assert_array_equal(model.predict(X.assign(extra=1.0)), base)
    assert list(model.feature_names_in_) == ["a", "b", "c", "d"]
    with pytest.raises(ModelError, match=r"lacks 2 feature\(s\) seen in fit: b, d"):
        model.predict(X.drop(columns=["b", "d"]))
