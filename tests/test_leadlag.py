"""Lead-lag statistics: Newey-West by hand, a planted lag is found, regime split, Granger, events, CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from features.errors import ConfigError
from training.evaluation.metrics import long_run_variance
from training.thesis.leadlag import (
    LagScan,
    analyze_metal,
    best_lags,
    breakouts,
    event_study,
    granger_tests,
    ols_hac,
    scan_pvalue,
    trailing_return,
    verdict,
)

# --- Newey-West ---------------------------------------------------------------------------------


def test_newey_west_se_of_a_mean_matches_hand_computation():
    # y = 1, 2, 4, 3, 5: mean 3, residuals -2, -1, 1, 0, 2; sum u^2 = 10.
    # lag-1 products: (-1)(-2) + (1)(-1) + (0)(1) + (2)(0) = 1; lag-2: (1)(-2) + 0 + (2)(1) = 0.
    y = np.array([1.0, 2.0, 4.0, 3.0, 5.0])
    X = np.ones((5, 1))
    assert ols_hac(y, X, 0).se[0] == pytest.approx(np.sqrt(10 / 25))  # White / HC0
    assert ols_hac(y, X, 1).se[0] == pytest.approx(np.sqrt((10 + 2 * 0.5 * 1) / 25))  # w1 = 1/2
    assert ols_hac(y, X, 2).se[0] == pytest.approx(np.sqrt((10 + 2 * (2 / 3) * 1 + 2 * (1 / 3) * 0) / 25))
    assert ols_hac(y, X, 1).coef[0] == pytest.approx(3.0)


def test_newey_west_slope_matches_explicit_sums():
    rng = np.random.default_rng(0)
    n, L = 12, 3
    x = rng.standard_normal(n)
    y = 0.5 + 2.0 * x + rng.standard_normal(n)
    X = np.column_stack([np.ones(n), x])
    fit = ols_hac(y, X, L)
    u = fit.resid
    S = sum(u[t] ** 2 * np.outer(X[t], X[t]) for t in range(n))
    for lag in range(1, L + 1):
        w = 1 - lag / (L + 1)
        for t in range(lag, n):
            G = u[t] * u[t - lag] * np.outer(X[t], X[t - lag])
            S = S + w * (G + G.T)
    bread = np.linalg.inv(X.T @ X)
    assert fit.cov == pytest.approx(bread @ S @ bread)
    assert fit.coef == pytest.approx(np.linalg.lstsq(X, y, rcond=None)[0])
    assert long_run_variance(u[:, None], L)[0] == pytest.approx(
        u @ u + 2 * sum((1 - lag / (L + 1)) * u[lag:] @ u[:-lag] for lag in range(1, L + 1)))


# --- a synthetic market with a planted lead ----------------------------------------------------

PLANTED_LAG, WINDOW = 30, 21


def _planted_market(n: int = 2500, beta: float = 0.05, seed: int = 1, regime_only: bool = False):
    """Silver is a random walk; BTC's daily return follows silver's 21-day return as it stood
    PLANTED_LAG + 1 days before, so BTC's next-day return loads on silver's return lagged PLANTED_LAG.
    With ``regime_only`` the lead exists only on 'debasement' days (blocks of 100 days)."""
    rng = np.random.default_rng(seed)
    idx = pd.bdate_range("2010-01-04", periods=n, name="date")
    silver = pd.Series(np.exp(np.cumsum(0.01 * rng.standard_normal(n))) * 20, index=idx)
    lead = trailing_return(silver, WINDOW).shift(PLANTED_LAG + 1).fillna(0.0)
    regimes = pd.Series(np.where((np.arange(n) // 100) % 2 == 0, "fear", "debasement"), index=idx, dtype=object)
    on = (regimes == "debasement").to_numpy() if regime_only else np.ones(n, bool)
    btc_ret = np.where(on, beta * lead.to_numpy(), 0.0) + 0.01 * rng.standard_normal(n)
    btc = pd.Series(np.exp(np.cumsum(btc_ret)) * 100, index=idx)
    gold = pd.Series(np.exp(np.cumsum(0.008 * rng.standard_normal(n))) * 1200, index=idx)
    return pd.DataFrame({"btc_usd": btc, "silver_usd": silver, "gold_usd": gold}), regimes


def _fwd(btc: pd.Series, h: int) -> pd.Series:
    from features.target import forward_log_returns

    return forward_log_returns(btc, (h,))[f"fwd_{h}d"]


def test_planted_lag_is_found_with_a_significant_t_stat():
    aligned, _ = _planted_market()
    res = analyze_metal(aligned, "silver", None, max_lag=60, horizon=1, window=WINDOW, n_shifts=20)
    best = res.best.loc["all"]
    assert int(best.lag) == PLANTED_LAG
    assert best.t > 5 and best.p < 1e-6
    assert best.p_scan == pytest.approx(1 / 21)  # beats every circular shift
    assert res.xcorr["all"].idxmax() == PLANTED_LAG
    assert "strongest lag is 30 business days" in verdict(res) and "significant, in the thesis's direction" in verdict(res)
    # gold has nothing to do with BTC here: no lag survives the scan
    gold = analyze_metal(aligned, "gold", None, max_lag=60, horizon=1, window=WINDOW, n_shifts=20)
    assert gold.best.loc["all"].p_scan > 0.05
    assert "not significant" in verdict(gold)


def test_longer_horizon_shifts_the_peak_by_half_the_window():
    aligned, _ = _planted_market()
    h = 5
    scan = LagScan.build(trailing_return(aligned["silver_usd"], WINDOW), _fwd(aligned["btc_usd"], h), list(range(61)), h)
    best = best_lags(scan.run()).loc["all"]
    assert abs(int(best.lag) - (PLANTED_LAG + 1 - (h + 1) / 2)) <= 1  # L = D - (h + 1) / 2 with D = lag + 1
    assert best.t > 5


def test_regime_split_finds_the_lead_only_in_debasement():
    aligned, regimes = _planted_market(regime_only=True, beta=0.08)
    x, y = trailing_return(aligned["silver_usd"], WINDOW), _fwd(aligned["btc_usd"], 1)
    scan = LagScan.build(x, y, list(range(61)), 1, regimes)
    table = scan.run()
    at = table[table.lag == PLANTED_LAG].set_index("group")
    assert at.loc["debasement", "t"] > 5
    assert abs(at.loc["fear", "t"]) < 3
    assert at.loc["debasement minus fear", "t"] > 3
    best = best_lags(table)
    assert int(best.loc["debasement", "lag"]) == PLANTED_LAG
    p = scan_pvalue(scan, best, n_shifts=10)
    assert p["debasement"] == pytest.approx(1 / 11)


def test_lag_scan_equals_ols_with_newey_west_and_regime_interactions():
    aligned, regimes = _planted_market(n=800, regime_only=True)
    x, y = trailing_return(aligned["silver_usd"], WINDOW), _fwd(aligned["btc_usd"], 5)
    scan = LagScan.build(x, y, [0, 7, 30], 5, regimes)
    table = scan.run().set_index(["lag", "group"])
    xl = scan.lagged()[:, 1]  # lag 7
    overall = ols_hac(scan.y, np.column_stack([np.ones_like(xl), xl]), 5)
    assert table.loc[(7, "all"), "beta"] == pytest.approx(overall.coef[1])
    assert table.loc[(7, "all"), "se"] == pytest.approx(overall.se[1])
    D = scan.dummies  # columns: fear, debasement
    inter = ols_hac(scan.y, np.column_stack([D, D * xl[:, None]]), 5)
    assert table.loc[(7, "fear"), "se"] == pytest.approx(inter.se[2])
    assert table.loc[(7, "debasement"), "beta"] == pytest.approx(inter.coef[3])
    diff_se = np.sqrt(inter.cov[3, 3] + inter.cov[2, 2] - 2 * inter.cov[2, 3])
    assert table.loc[(7, "debasement minus fear"), "se"] == pytest.approx(diff_se)


def test_regressors_only_use_the_past():
    aligned, _ = _planted_market(n=600)
    x = trailing_return(aligned["silver_usd"], WINDOW)
    y = _fwd(aligned["btc_usd"], 1)
    cut = 400
    changed = aligned["silver_usd"].copy()
    changed.iloc[cut:] *= 3.0
    a = LagScan.build(x, y, [0, 5], 1).lagged()
    b = LagScan.build(trailing_return(changed, WINDOW), y, [0, 5], 1)
    rows = b.rows < cut
    assert np.array_equal(a[rows], b.lagged()[rows])


def test_scan_pvalue_is_not_fooled_by_independent_series():
    aligned, _ = _planted_market(beta=0.0, seed=3)
    scan = LagScan.build(trailing_return(aligned["silver_usd"], 63), _fwd(aligned["btc_usd"], 21), list(range(127)), 21)
    best = best_lags(scan.run())
    assert scan_pvalue(scan, best, n_shifts=30)["all"] > 0.05


# --- Granger and the event study ---------------------------------------------------------------


def test_granger_detects_a_weekly_lead_and_not_its_absence():
    rng = np.random.default_rng(2)
    idx = pd.bdate_range("2012-01-02", periods=3000, name="date")
    metal = pd.Series(np.exp(np.cumsum(0.01 * rng.standard_normal(len(idx)))), index=idx)
    wk = np.log(metal.resample("W-FRI").last()).diff().fillna(0.0)
    btc_w = 0.8 * wk.shift(1).fillna(0.0) + 0.02 * rng.standard_normal(len(wk))
    btc = pd.Series(np.exp(np.cumsum(btc_w.to_numpy())), index=wk.index).reindex(idx, method="ffill").bfill()
    led = granger_tests(btc, metal, [1, 4]).set_index(["group", "weeks"])
    assert led.loc[("all", 1), "p"] < 1e-6 and led.loc[("all", 1), "sum_coef"] == pytest.approx(0.8, abs=0.15)
    other = pd.Series(np.exp(np.cumsum(0.01 * rng.standard_normal(len(idx)))), index=idx)
    assert granger_tests(btc, other, [1]).set_index("group").loc["all", "p"] > 0.01


def test_breakouts_are_new_highs_spaced_by_the_cooldown():
    idx = pd.bdate_range("2020-01-01", periods=400)
    prices = pd.Series(np.r_[np.linspace(10, 5, 300), np.linspace(5, 20, 100)], index=idx)
    events = breakouts(prices, lookback=252, cooldown=30)
    assert len(events) >= 2
    assert events[0] > idx[300] and all(np.diff(idx.get_indexer(events)) >= 30)


def test_event_study_sees_a_planted_response():
    rng = np.random.default_rng(4)
    idx = pd.bdate_range("2012-01-02", periods=2000, name="date")
    events = idx[np.arange(300, 1900, 80)]
    ret = 0.01 * rng.standard_normal(len(idx))
    for e in idx.get_indexer(events):
        ret[e + 1:e + 11] += 0.01  # +10 % over the ten days after each event
    btc = pd.Series(np.exp(np.cumsum(ret)), index=idx)
    study = event_study(btc, events, 30, [10, 30], n_boot=500)
    at10 = study.summary.set_index(["group", "day"]).loc[("all", 10)]
    assert at10.mean_excess == pytest.approx(0.1 - 0.005, abs=0.03)  # minus the drift it adds to every date
    assert at10.lo > 0 and at10.p < 0.001
    with pytest.raises(ConfigError):
        event_study(btc, events, 30, [40])


# --- the command --------------------------------------------------------------------------------


def test_leadlag_command_on_the_demo_source(tmp_path, monkeypatch):
    from training.cli import app

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlflow.db")
    out = tmp_path / "ll"
    result = CliRunner().invoke(app, ["leadlag", "--source", "demo", "--metal", "silver", "--max-lag", "42",
                                      "--shifts", "5", "--fit-hmm", "--output-dir", str(out)])
    assert result.exit_code == 0, result.output
    assert "strongest lag" in result.output and "Granger" in result.output and "breakouts" in result.output
    assert (out / "leadlag_silver.png").stat().st_size > 10_000
    assert (out / "events_silver.png").stat().st_size > 10_000
    assert set(pd.read_csv(out / "regressions_silver.csv").group) >= {"all", "fear", "debasement"}


@pytest.mark.parametrize("args", [["--metal", "copper"], ["--max-lag", "-1"], ["--horizon", "0"], ["--shifts", "-2"]])
def test_leadlag_rejects_bad_options(args):
    from training.cli import app

    result = CliRunner().invoke(app, ["leadlag", "--source", "demo", *args])
    assert isinstance(result.exception, ConfigError)


@pytest.mark.slow
@pytest.mark.realdata
def test_leadlag_on_real_data_runs_and_is_finite(shared_data):
    from features.config import DataConfig, FeatureConfig
    from features.design import build_design
    from features.sources import load_panel
    from training.thesis.leadlag import fit_regimes

    design = build_design(load_panel(DataConfig(source="csv", data_dir=str(shared_data))), FeatureConfig(), (21,))
    regimes = fit_regimes(design)
    res = analyze_metal(design.aligned, "silver", regimes, n_shifts=5, start=design.index[design.first_complete()])
    assert np.isfinite(res.best.loc["all", ["beta", "t", "p"]].astype(float)).all()
    assert {"fear", "debasement"} <= set(res.best.index)
    assert len(res.events.events) >= 3


@pytest.mark.parametrize("share", [0.2, 0.6, 1.0])
def test_a_groups_hac_variance_on_its_rows_is_bitwise_the_whole_time_lines(share):
    """Summing only the group's rows (and the pairs of them a lag apart) gives the long-run variance of the
    zero-padded matrix to the last bit: the lag scan's shortcut changes no number."""
    from training.thesis.leadlag import _Support

    rng = np.random.default_rng(3)
    member = rng.random(400) < share
    member[:5] = True
    V = rng.standard_normal((400, 7))
    padded = np.where(member[:, None], V, 0.0)
    support = _Support.of(member, 21)
    got = support.long_run_variance(padded[support.index], len(V))
    assert np.array_equal(got, long_run_variance(padded, 21))


def test_the_metals_in_threads_give_the_one_by_one_results():
    from training.thesis.leadlag import analyze_metals

    aligned, regimes = _planted_market(n=1500)
    both = analyze_metals(aligned, ("silver", "gold"), regimes, max_lag=20, horizon=1, window=WINDOW, n_shifts=5)
    for metal, res in both.items():
        alone = analyze_metal(aligned, metal, regimes, max_lag=20, horizon=1, window=WINDOW, n_shifts=5)
        pd.testing.assert_frame_equal(res.regressions, alone.regressions, check_exact=True)
        pd.testing.assert_frame_equal(res.best, alone.best, check_exact=True)
