"""Illustrative strategy, regime quality and driver stability on literal data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.config import FeatureConfig
from models.pipeline import RegimeForecastPipeline
from training.evaluation.regime_quality import (
    agreement,
    mean_spell_length,
    refit_flip_rate,
)
from training.evaluation.scores import fold_scores
from training.evaluation.strategy import long_flat_returns, performance
from training.evaluation.walk_forward import run_walk_forward


def test_long_flat_uses_the_next_day_return_only():
    idx = pd.bdate_range("2024-01-01", periods=4)
    logp = pd.Series([0.0, 0.1, 0.05, 0.25], index=idx)
    fc = pd.Series([1.0, -1.0, 1.0, 1.0], index=idx)
    out = long_flat_returns(fc, logp)
    assert list(out.index) == list(idx[:3])  # the last day has no next return
    assert out["strategy"].tolist() == pytest.approx([0.1, 0.0, 0.2])
    assert out["buy_and_hold"].tolist() == pytest.approx([0.1, -0.05, 0.2])


def test_performance_literal():
    r = pd.Series([0.01, -0.02, 0.01, 0.0])
    p = performance(r, pd.Series([1.0, 0.0, 1.0, 1.0]))
    assert p["ann_return"] == pytest.approx(np.expm1(0.0))
    # wealth exp(.01), exp(-.01), 1, 1 -> drawdown from exp(.01) to exp(-.01)
    assert p["max_drawdown"] == pytest.approx(np.exp(-0.02) - 1)
    assert p["turnover"] == pytest.approx(2 / 4 * 252)


def test_regime_quality_literal():
    labels = pd.Series(["fear", "fear", "calm", "calm", "calm", "fear"])
    assert mean_spell_length(labels) == pytest.approx(2.0)
    a = pd.Series(["fear", "calm", "calm"], index=[0, 1, 2])
    b = pd.Series(["fear", "fear", "calm", "debasement"], index=[0, 1, 2, 3])
    assert refit_flip_rate({0: a, 1: b}) == pytest.approx(1 / 3)
    assert agreement(b, pd.Series(["fear", "fear", "fear", "fear"], index=[0, 1, 2, 3])) == 0.5


def test_walk_forward_records_labels_and_driver_importance_per_fold(small_panel):
    template = RegimeForecastPipeline(horizons=(21,), hmm_n_init=1, lgbm_params={"n_estimators": 30})
    design = template.make_design(small_panel)
    result = run_walk_forward(design, template, 504, 252, baselines=False, explain_horizon=21)
    assert set(result.fold_labels) == {f.number for f in result.folds}
    assert len(result.fold_importance) == len(result.folds)
    assert (result.fold_importance.to_numpy() >= 0).all()
    scores = fold_scores(result)
    assert set(scores.fold) <= {f.number for f in result.folds}
    assert scores.ic.dropna().between(-1, 1).all()  # NaN where a fold's forecasts are constant


def test_regime_labels_are_stable_across_walk_forward_refits(demo_market):
    # The default chain: the thesis-anchored HMM on the thesis's moves as z-scores.
    template = RegimeForecastPipeline(horizons=(21,), lgbm_params={"n_estimators": 20})
    design = template.make_design(demo_market.panel)
    result = run_walk_forward(design, template, 756, 126, baselines=False)
    assert refit_flip_rate(result.fold_labels) < 0.03
    truth = demo_market.regimes.reindex(result.regimes.index)
    chance = float((truth.value_counts(normalize=True) ** 2).sum())
    assert agreement(result.regimes["regime"], truth) > 1.5 * chance  # out of sample


def test_folds_fitted_in_threads_give_exactly_the_sequential_results(small_panel):
    template = RegimeForecastPipeline(horizons=(5, 21), hmm_n_init=1, lgbm_params={"n_estimators": 20})
    design = template.make_design(small_panel)
    one = run_walk_forward(design, template, 504, 252, baselines=True, n_jobs=1)
    two = run_walk_forward(design, template, 504, 252, baselines=True, n_jobs=2)
    for h in (5, 21):
        pd.testing.assert_frame_equal(one.predictions[h], two.predictions[h], check_exact=True)
    pd.testing.assert_frame_equal(one.regimes, two.regimes, check_exact=True)
