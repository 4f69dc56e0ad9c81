"""Metrics against hand-computed values on tiny data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from models.baselines import expanding_mean_forecast, momentum_forecast
from training.evaluation.metrics import (
    autocovariances,
    block_bootstrap_indices,
    diebold_mariano,
    diebold_mariano_statistic,
    hit_rate,
    hln_correction,
    mae,
    newey_west_variance,
    oos_r2,
    score_forecast,
    spearman_ic,
)


def test_spearman_ic_literal():
    assert spearman_ic(np.array([1.0, 2, 3, 4]), np.array([10.0, 20, 30, 40])) == pytest.approx(1.0)
    assert spearman_ic(np.array([1.0, 2, 3, 4]), np.array([40.0, 30, 20, 10])) == pytest.approx(-1.0)
    # ranks (1,2,3,4) vs (2,1,4,3): d² = 1+1+1+1 = 4 -> 1 - 6*4/(4*15) = 0.6
    assert spearman_ic(np.array([1.0, 2, 3, 4]), np.array([2.0, 1, 4, 3])) == pytest.approx(0.6)
    assert np.isnan(spearman_ic(np.zeros(4), np.arange(4.0)))


def test_oos_r2_hit_rate_mae_literal():
    y = np.array([0.1, -0.2, 0.3])
    f = np.array([0.05, -0.1, 0.1])
    bench = np.zeros(3)
    # SSE(f) = .0025+.01+.04 = .0525 ; SSE(0) = .01+.04+.09 = .14 -> 1 - .0525/.14 = .625
    assert oos_r2(f, y, bench) == pytest.approx(0.625)
    assert oos_r2(bench, y, bench) == 0.0
    assert hit_rate(f, y) == 1.0
    assert hit_rate(np.array([1.0, 1.0, -1.0]), y) == pytest.approx(1 / 3)
    assert mae(f, y) == pytest.approx((0.05 + 0.1 + 0.2) / 3)


def test_newey_west_reduces_to_variance_of_mean_without_lags():
    x = np.array([1.0, 2.0, 3.0, 4.0])
    assert newey_west_variance(x, 0) == pytest.approx(np.var(x) / 4)
    # deviations (-1.5, -.5, .5, 1.5): gamma0 = 1.25, gamma1 = (.75 - .25 + .75)/4 = .3125,
    # Bartlett weight 1/2 -> (1.25 + 2 * .5 * .3125) / 4 = .390625
    assert newey_west_variance(x, 1) == pytest.approx(0.390625)


def test_diebold_mariano_sign_and_power():
    rng = np.random.default_rng(0)
    y = rng.normal(size=500)
    good = y + rng.normal(scale=0.5, size=500)
    bad = y + rng.normal(scale=1.5, size=500)
    stat, p = diebold_mariano(y, good, bad, horizon=1)
    assert stat < -5 and p < 1e-6
    stat2, _ = diebold_mariano(y, bad, good, horizon=1)
    assert stat2 == pytest.approx(-stat)


def test_diebold_mariano_by_hand():
    # d = (1,2,3,2,1,0,1,2,3,5): mean 2, deviations (-1,0,1,0,-1,-2,-1,0,1,3);
    # gamma0 = 18/10, gamma1 = (0+0+0+0+2+2+0+0+3)/10 = .7, gamma2 = (-1+0-1+0+1+0-1+0)/10 = -.2
    d = np.array([1.0, 2, 3, 2, 1, 0, 1, 2, 3, 5])
    np.testing.assert_allclose(autocovariances(d, 2), [1.8, 0.7, -0.2])
    # h = 2: V = (1.8 + 2 * .7) / 10 = .32 -> DM = 2 / sqrt(.32) = 5 / sqrt(2) (uniform weight on
    # gamma1; the Bartlett weight 1/2 would give V = .25 and DM = 4, overstating the evidence)
    assert diebold_mariano_statistic(d, 2) == pytest.approx(5 / np.sqrt(2))
    # h = 3: V = (1.8 + 2 * (.7 - .2)) / 10 = .28
    assert diebold_mariano_statistic(d, 3) == pytest.approx(2 / np.sqrt(0.28))
    assert diebold_mariano_statistic(d, 1) == pytest.approx(2 / np.sqrt(0.18))
    # HLN: sqrt((10 + 1 - 4 + 2/10) / 10) = sqrt(.72) -> 5 / sqrt(2) * sqrt(.72) = 3, t with 9 df
    assert hln_correction(10, 2) == pytest.approx(np.sqrt(0.72))
    zero = np.zeros(10)
    stat, p = diebold_mariano(zero, np.sqrt(d), zero, horizon=2)  # losses d against a perfect benchmark
    assert stat == pytest.approx(3.0)
    assert p == pytest.approx(2 * stats.t.sf(3.0, df=9)) and p == pytest.approx(0.014956, abs=1e-6)


@pytest.mark.parametrize("horizon", [1, 5, 21, 63])
def test_hln_statistic_is_the_dm_statistic_times_the_correction(horizon):
    rng = np.random.default_rng(horizon)
    n = 600
    y = np.convolve(rng.normal(size=n + horizon - 1), np.ones(horizon), "valid")  # overlapping h-sums
    f, b = y + rng.normal(scale=2.0, size=n), y + rng.normal(scale=2.2, size=n)
    d = (y - f) ** 2 - (y - b) ** 2
    stat, p = diebold_mariano(y, f, b, horizon)
    assert stat == pytest.approx(diebold_mariano_statistic(d, horizon) * hln_correction(n, horizon))
    assert abs(stat) < abs(diebold_mariano_statistic(d, horizon))  # the correction only shrinks
    assert p == pytest.approx(2 * stats.t.sf(abs(stat), df=n - 1))


def test_diebold_mariano_falls_back_to_bartlett_when_uniform_variance_is_negative():
    # d = (2,0,1,3,-1,2,0,1,2,0): mean 1, deviations (1,-1,0,2,-2,1,-1,0,1,-1); gamma0 = 1.4,
    # gamma1 = -9/10. h = 2: uniform V = (1.4 - 1.8) / 10 < 0 -> Bartlett V = (1.4 - .9) / 10 = .05
    d = np.array([2.0, 0, 1, 3, -1, 2, 0, 1, 2, 0])
    np.testing.assert_allclose(autocovariances(d, 1), [1.4, -0.9])
    assert diebold_mariano_statistic(d, 2) == pytest.approx(1 / np.sqrt(0.05))


def test_diebold_mariano_undefined_cases_are_nan():
    y = np.arange(20.0)
    assert all(np.isnan(diebold_mariano(y[:9], y[:9] + 1, y[:9] - 1, 1)))  # too few rows
    assert all(np.isnan(diebold_mariano(y, y + 1, y - 1, 5)))  # equal losses: zero variance


def test_expanding_mean_only_uses_realised_targets():
    y = pd.Series([1.0, 2.0, 3.0, 4.0, 5.0])
    m = expanding_mean_forecast(y, horizon=2)
    # at row 2 only row 0's 2-day target has been realised; at row 4 rows 0..2
    assert np.isnan(m.iloc[1]) and m.iloc[2] == 1.0 and m.iloc[4] == pytest.approx(2.0)


def test_momentum_is_trailing_and_rescaled():
    logp = pd.Series(np.arange(100.0) * 0.01)
    m = momentum_forecast(logp, horizon=21, lookback=63)
    assert m.iloc[70] == pytest.approx(0.63 * 21 / 63)
    assert m.iloc[:63].isna().all()


def test_block_bootstrap_keeps_blocks_contiguous():
    idx = block_bootstrap_indices(n_rows=50, block=10, n_boot=20, random_state=1)
    assert idx.shape == (20, 50)
    assert (idx >= 0).all() and (idx < 50).all()
    assert (np.diff(idx[:, :10], axis=1) == 1).all()


def test_score_forecast_intervals_cover_the_point_estimate():
    rng = np.random.default_rng(3)
    y = rng.normal(size=600)
    f = 0.5 * y + rng.normal(size=600)
    s = score_forecast(f, y, np.zeros(600), horizon=5, n_boot=300)
    assert s.ic_lo < s.ic < s.ic_hi and s.ic_lo > 0
    assert s.r2_lo < s.r2_oos < s.r2_hi
    assert s.n_nonoverlap == 120
