"""The fitted baselines: a fair linear benchmark and the regime-conditional mean."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.errors import ModelError
from models.baselines import LINEAR_FEATURES, LinearBaseline, RegimeMeanBaseline, linear_features


def _planted_linear_market(n: int = 1500, horizon: int = 21, seed: int = 0):
    """Features that drift slowly, a forward return linear in three of them plus noise, overlapping like h-day returns."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n + horizon, 6)).cumsum(axis=0) * 0.05 + rng.normal(size=(n + horizon, 6)),
                     columns=[f"x{i}" for i in range(6)])
    X.iloc[::97, 5] = 40.0  # outliers the cap must hold back
    beta = np.array([0.06, -0.04, 0.03, 0.0, 0.0, 0.0])
    daily = rng.normal(scale=0.03, size=n + horizon)
    noise = pd.Series(daily).rolling(horizon).sum().shift(-horizon + 1).fillna(0.0).to_numpy()
    y = pd.Series(X.clip(-3, 3).to_numpy() @ beta + noise)
    return X.iloc[:n], y.iloc[:n], beta


def test_linear_baseline_recovers_a_planted_linear_market():
    X, y, beta = _planted_linear_market()
    train, test = slice(0, 1000), slice(1021, None)  # purged: the test block starts after the last window
    model = LinearBaseline(horizon=21).fit(X.iloc[train], y.iloc[train])
    planted = np.flatnonzero(beta)
    np.testing.assert_array_equal(np.sign(model.coef_[planted]), np.sign(beta[planted]))
    f = model.predict(X.iloc[test])
    y_test = y.iloc[test].to_numpy()
    r2 = 1 - np.mean((y_test - f) ** 2) / np.mean((y_test - y.iloc[train].mean()) ** 2)
    assert r2 > 0


def test_linear_baseline_falls_back_to_the_mean_on_noise():
    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.normal(size=(800, 5)), columns=list("abcde"))
    y = pd.Series(0.01 + rng.normal(scale=0.1, size=800))
    f = LinearBaseline(horizon=5).fit(X, y).predict(X)
    assert np.ptp(f) < 0.02 and abs(f.mean() - y.mean()) < 0.005


def test_linear_features_are_a_handful_of_the_columns():
    columns = pd.Index(["ret_btc_63", "vix_log", "other", "p_fear"])
    assert linear_features(columns) == ["ret_btc_63", "vix_log"]
    assert linear_features(pd.Index(["a", "b"])) == ["a", "b"]
    assert 5 <= len(LINEAR_FEATURES) <= 10


def test_regime_mean_baseline_is_the_mean_per_regime():
    labels = pd.Series(["fear"] * 100 + ["calm"] * 100 + ["stress"] * 10)
    y = pd.Series([0.2] * 100 + [0.0] * 100 + [-1.0] * 10)
    model = RegimeMeanBaseline(min_count=50).fit(labels, y)
    overall = y.mean()
    np.testing.assert_allclose(model.predict(["fear", "calm", "stress", "debasement"]), [0.2, 0.0, overall, overall])
    assert model.counts_["stress"] == 10
    with pytest.raises(ModelError):
        RegimeMeanBaseline().fit(labels, y.iloc[:5])
