"""SHAP explanations: additivity, family totals, readable narratives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.builder import feature_family
from models.explain import (
    describe_feature,
    explain_pipeline,
    narrative,
    percentile_in_history,
    top_drivers,
)
from models.pipeline import RegimeForecastPipeline


@pytest.fixture(scope="module")
def explained(small_panel):
    pipe = RegimeForecastPipeline(horizons=(21,), hmm_n_init=1, lgbm_params={"n_estimators": 60}).fit(small_panel)
    design = pipe.make_design(small_panel)
    return pipe, design, explain_pipeline(pipe, design, 21)


def test_shap_values_plus_base_value_add_up_to_the_forecast(explained):
    pipe, design, expl = explained
    total = expl.base_value + expl.values.sum(axis=1)
    np.testing.assert_allclose(total.to_numpy(), expl.forecast.to_numpy(), atol=1e-9)
    served = pipe.predict_design(design)["forecast_21d"].reindex(expl.forecast.index)
    np.testing.assert_allclose(served.to_numpy(), expl.forecast.to_numpy(), atol=1e-12)


def test_family_totals_equal_the_sum_of_their_features(explained):
    _, _, expl = explained
    fam = expl.by_family()
    np.testing.assert_allclose(fam.sum(axis=1), expl.values.sum(axis=1), atol=1e-12)
    metals = [c for c in expl.values.columns if feature_family(c) == "metals"]
    np.testing.assert_allclose(fam["metals"], expl.values[metals].sum(axis=1), atol=1e-12)
    assert "regime" in fam.columns  # regime probabilities are a driver family of their own


def test_top_drivers_are_ordered_by_absolute_contribution(explained):
    _, _, expl = explained
    date = expl.values.index[-1]
    top = top_drivers(expl, date, 5)
    assert len(top) == 5
    assert (np.diff(np.abs(top["contribution"].to_numpy())) <= 1e-15).all()
    assert top["percentile"].between(0, 100).all()


def test_percentile_in_history_is_point_in_time():
    idx = pd.bdate_range("2024-01-01", periods=5)
    feats = pd.DataFrame({"x": [1.0, 5.0, 3.0, 2.0, 100.0]}, index=idx)
    assert percentile_in_history(feats, idx[3])["x"] == 50  # 2.0 is above 1.0 and itself among 4 values
    assert percentile_in_history(feats, idx[4])["x"] == 100


def test_narrative_speaks_in_units(explained):
    _, _, expl = explained
    date = expl.values.index[-1]
    text = narrative(expl, date, "fear")
    assert text.startswith(f"{date:%Y-%m-%d}: forecast ") and "% over 21 business days in a fear regime" in text
    assert "pts)" in text and "Main drivers:" in text
    assert describe_feature("ret_silver_63") == "silver's 63-day return"
    assert describe_feature("chg_dfii10_21") == "21-day change in the real 10y yield"
