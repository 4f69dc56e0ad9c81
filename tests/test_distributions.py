"""Forecast distributions: bands that cover on a market with known noise, quantiles that never
cross, P(up) from the same distribution, scores with literal answers, honest levels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from features.target import forward_log_returns
from models.distribution import ReturnDistribution
from models.quantiles import (
    GRID,
    expanding_base_rate,
    expanding_quantiles,
    prob_above,
    quantile_name,
    rearrange,
)
from tests.conftest import SEED
from training.evaluation.folds import walk_forward_folds
from training.evaluation.levels import nested_shrinkage
from training.evaluation.probabilistic import (
    brier,
    category_brier,
    category_log_loss,
    covered,
    crps_from_quantiles,
    pinball,
    reliability,
)
from training.evaluation.walk_forward import WalkForwardResult

H = 5


def known_noise_market(n: int = 6000, seed: int = SEED) -> tuple[pd.Series, pd.Series]:
    """BTC-like prices whose daily log returns are N(0, sigma_t^2), sigma switching 1% <-> 4% every 750 days."""
    rng = np.random.default_rng(seed)
    sigma = np.where((np.arange(n) // 750) % 2 == 0, 0.01, 0.04)
    index = pd.bdate_range("2000-01-03", periods=n)
    price = pd.Series(100.0 * np.exp(np.cumsum(rng.normal(0.0, sigma))), index=index, name="btc_usd")
    return price, pd.Series(sigma, index=index)


def test_the_80pct_band_covers_80pct_on_a_market_with_known_noise_in_calm_and_volatile_spells():
    price, sigma = known_noise_market()
    targets = forward_log_returns(price, (H,)).set_axis([H], axis=1)
    half = len(price) // 2
    dist = ReturnDistribution((H,)).fit(targets, price, start=0, cutoff=half)
    test = price.index[half:-H]
    q = dist.predict_quantiles(pd.Series(0.0, index=test), price, H, (0.1, 0.5, 0.9))  # the true mean is zero
    y = targets[H].loc[test]
    inside = (q[0.1] <= y) & (y <= q[0.9])
    assert inside.mean() == pytest.approx(0.80, abs=0.03)
    # Conditional coverage: the band scales with volatility, once its trailing window has seen the new level.
    settled = pd.Series((np.arange(len(price)) % 750) >= dist.window, index=price.index).loc[test]
    for level in (0.01, 0.04):
        assert inside[settled & (sigma.loc[test] == level)].mean() == pytest.approx(0.80, abs=0.04)
    # The unconditional band (expanding quantiles of realised returns) cannot: far too wide in calm spells.
    base = expanding_quantiles(targets[H], H, (0.1, 0.9)).loc[test]
    base_inside = (base[0.1] <= y) & (y <= base[0.9])
    assert base_inside[sigma.loc[test] == 0.01].mean() > 0.95 and base_inside[sigma.loc[test] == 0.04].mean() < 0.7


def test_p_up_comes_from_the_same_distribution_and_rises_with_the_forecast():
    price, _ = known_noise_market(2000)
    targets = forward_log_returns(price, (H,)).set_axis([H], axis=1)
    dist = ReturnDistribution((H,)).fit(targets, price)
    dates = price.index[[-300] * 5]
    forecast = pd.Series([-0.1, -0.02, 0.0, 0.02, 0.1], index=dates)
    p = dist.predict_p_up(forecast, price, H).to_numpy()
    assert np.all(np.diff(p) > 0) and p[0] < 0.1 and p[-1] > 0.9
    q = dist.predict_quantiles(forecast, price, H)
    # P(up) is one minus the empirical CDF of the fitted shape at -forecast/scale, the scale being the one that
    # spreads the same shape into the quantiles: equal up to one residual (a cut falling on a residual).
    eps = np.sort(dist.shape_[H])
    scale = (q[GRID[-1]] - q[GRID[0]]).to_numpy() / np.subtract(*np.quantile(eps, [GRID[-1], GRID[0]]))
    expected = 1.0 - np.searchsorted(eps, -forecast.to_numpy() / scale, side="right") / len(eps)
    assert np.abs(p - expected).max() <= 1.0 / len(eps)
    # Read off the quantiles, the CDF is linear between grid levels: the same answer within one grid step.
    assert np.abs(p - prob_above(q.to_numpy(), GRID)).max() <= np.diff(GRID).max() + 1.0 / len(eps)


@settings(max_examples=30, deadline=None, derandomize=True, database=None)
@given(forecast=st.lists(st.floats(-0.5, 0.5), min_size=1, max_size=20),
       vol_seed=st.integers(0, 10_000))
def test_quantiles_never_cross(forecast, vol_seed):
    price, _ = known_noise_market(800, seed=vol_seed)
    targets = forward_log_returns(price, (H,)).set_axis([H], axis=1)
    dist = ReturnDistribution((H,), min_scores=100).fit(targets, price)
    dates = price.index[-len(forecast):]
    q = dist.predict_quantiles(pd.Series(forecast, index=dates), price, H).to_numpy()
    assert np.all(np.diff(q, axis=1) >= 0)


def test_rearrangement_sorts_crossing_quantiles_and_never_raises_the_pinball_loss():
    rng = np.random.default_rng(SEED)
    raw = rng.normal(size=(200, len(GRID)))  # wildly crossing "quantiles"
    y = rng.normal(size=200)
    fixed = rearrange(raw)
    assert np.all(np.diff(fixed, axis=1) >= 0)
    assert pinball(fixed, y, GRID).mean() <= pinball(raw, y, GRID).mean()


def test_without_enough_history_the_distribution_is_missing_not_invented():
    price, _ = known_noise_market(400)
    targets = forward_log_returns(price, (H,)).set_axis([H], axis=1)
    dist = ReturnDistribution((H,)).fit(targets, price, cutoff=200)  # < 250 realised scores
    f = pd.Series(0.0, index=price.index[-3:])
    assert dist.predict_quantiles(f, price, H).isna().all().all() and dist.predict_p_up(f, price, H).isna().all()


def test_the_fit_uses_only_targets_realised_before_the_cutoff():
    price, _ = known_noise_market(1500)
    targets = forward_log_returns(price, (H,)).set_axis([H], axis=1)
    a = ReturnDistribution((H,)).fit(targets, price, cutoff=1000)
    changed = targets.copy()
    changed.iloc[1000 - H:] = 9.9  # targets realised at or after the cut-off
    b = ReturnDistribution((H,)).fit(changed, price, cutoff=1000)
    assert np.array_equal(a.shape_[H], b.shape_[H])
    # Rows 0 .. 1000 - H - 1 realised before the cut-off, less the first 21 (no volatility estimate yet).
    assert a.n_scores_[H] == 1000 - H - 21


def test_unconditional_reference_is_point_in_time():
    y = pd.Series([0.1, -0.2, 0.3, np.nan, np.nan])
    q = expanding_quantiles(y, 2, (0.5,))
    assert np.isnan(q.iloc[1, 0]) and q.iloc[2, 0] == pytest.approx(0.1) and q.iloc[3, 0] == pytest.approx(-0.05)
    assert expanding_base_rate(y, 2).tolist()[2:] == [1.0, 0.5, pytest.approx(2 / 3)]


def test_quantile_column_names():
    assert [quantile_name(lv, 21) for lv in (0.1, 0.5, 0.9, 0.05)] == ["q10_21d", "q50_21d", "q90_21d", "q05_21d"]


# --- scores with literal answers -------------------------------------------------------------------------


def test_scores_on_literal_numbers():
    assert pinball(np.array([[1.0, 1.0]]), np.array([3.0]), (0.9, 0.1)).tolist() == [[pytest.approx(1.8), pytest.approx(0.2)]]
    assert pinball(np.array([[1.0]]), np.array([0.0]), (0.9,))[0, 0] == pytest.approx(0.1)
    assert covered(np.array([0.0, 0.0]), np.array([1.0, 1.0]), np.array([0.5, 2.0])).tolist() == [1.0, 0.0]
    assert brier(np.array([0.8, 0.3]), np.array([1, 0])).tolist() == [pytest.approx(0.04), pytest.approx(0.09)]
    P = np.array([[0.7, 0.2, 0.1], [1.0, 0.0, 0.0]])
    assert category_brier(P, np.array([0, 1])).tolist() == [pytest.approx(0.09 + 0.04 + 0.01), pytest.approx(2.0)]
    log = category_log_loss(P, np.array([0, 1]))
    assert log[0] == pytest.approx(-np.log(0.7)) and log[1] == pytest.approx(-np.log(0.01 / 1.02))  # floored


def test_crps_from_quantiles_approaches_the_closed_form_for_a_normal():
    from scipy import stats

    y = np.linspace(-3, 3, 61)
    levels = tuple(np.arange(1, 200) / 200)
    q = np.tile(stats.norm.ppf(levels), (len(y), 1))
    exact = y * (2 * stats.norm.cdf(y) - 1) + 2 * stats.norm.pdf(y) - 1 / np.sqrt(np.pi)
    assert np.allclose(crps_from_quantiles(q, y, levels), exact, atol=0.02)


def test_reliability_bins_forecasts_and_counts_outcomes():
    table = reliability(np.array([0.05, 0.07, 0.95, 0.91]), np.array([0, 1, 1, 1]), bins=10)
    assert table.n.tolist() == [2, 2] and table.observed.tolist() == [0.5, 1.0]
    assert table.mean_forecast.tolist() == [pytest.approx(0.06), pytest.approx(0.93)]


# --- honest levels ----------------------------------------------------------------------------------


def _result_with(model: np.ndarray, realized: np.ndarray, index: pd.DatetimeIndex, first: int) -> WalkForwardResult:
    folds = walk_forward_folds(len(index), 0, first, 250)
    test = index[first:]
    fold = np.concatenate([[f.number] * (f.test_end - f.cutoff) for f in folds])
    frame = pd.DataFrame({"realized": realized[first:], "model": model[first:], "zero": 0.0,
                          "expanding_mean": pd.Series(realized, index=index).expanding().mean().shift(H)[first:],
                          "regime": "calm", "fold": fold}, index=test)
    return WalkForwardResult(folds, {H: frame}, frame[["regime", "fold"]], {}, pd.DataFrame())


def test_nested_shrinkage_pulls_an_overconfident_forecast_in_and_leaves_a_calibrated_one_alone():
    class _Design:  # only the calendar is needed
        def __init__(self, index):
            self.index = index

    rng = np.random.default_rng(SEED)
    n, first = 3000, 500
    index = pd.bdate_range("2005-01-03", periods=n)
    signal = rng.normal(0, 0.01, n)
    realized = signal + rng.normal(0, 0.03, n)
    loud = _result_with(3 * signal, realized, index, first)  # right direction, three times too large
    summary, shrunk = nested_shrinkage(loud, _Design(index))
    row = summary.iloc[0]
    assert row.helps and row.mse_shrunk < 0.97 * row.mse_model
    assert "*0.3" in row.choices or "*0.4" in row.choices  # close to the right weight, 1/3
    honest = _result_with(signal, realized, index, first)
    summary, _ = nested_shrinkage(honest, _Design(index))
    assert summary.iloc[0].mse_shrunk >= 0.995 * summary.iloc[0].mse_model
    assert shrunk[H].index.equals(loud.predictions[H].index)
