"""Point-in-time features: hand-computed values, publication lags, and the future cannot move the past."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.align import add_fed_business_days, align_point_in_time, publication_dates
from features.builder import (
    build_features,
    feature_family,
    log_returns,
)
from features.config import FeatureConfig
from features.design import build_design
from features.errors import ConfigError, DataError
from features.observations import REGIME_OBSERVATIONS, regime_observations
from features.target import forward_log_returns


def test_log_returns_and_forward_target_on_literal_data():
    idx = pd.bdate_range("2024-01-01", periods=5)
    p = pd.DataFrame({"x": [100.0, 110.0, 121.0, 121.0, 60.5]}, index=idx)
    r = log_returns(p, (2,))
    assert np.isnan(r["ret_x_2"].iloc[1])
    assert r["ret_x_2"].iloc[2] == pytest.approx(np.log(1.21))
    fwd = forward_log_returns(p["x"], (1, 3))
    assert fwd["fwd_1d"].iloc[0] == pytest.approx(np.log(1.1))
    assert fwd["fwd_3d"].iloc[1] == pytest.approx(np.log(60.5 / 110))
    assert fwd["fwd_3d"].iloc[2:].isna().all()


def test_forward_target_rejects_bad_horizon():
    with pytest.raises(ConfigError, match="horizons"):
        forward_log_returns(pd.Series([1.0, 2.0]), (0,))


def test_weekly_and_monthly_series_enter_only_when_published():
    # WALCL for Wednesday 2024-01-03 is public on Friday 2024-01-05; M2 for January on ~March 1.
    panel = pd.DataFrame(
        {"btc_usd": 1.0, "walcl": np.nan, "m2sl": np.nan}, index=pd.date_range("2023-12-25", "2024-03-15")
    )
    panel.loc["2024-01-03", "walcl"] = 7.0e6
    panel.loc["2024-01-01", "m2sl"] = 20_000.0
    aligned = align_point_in_time(panel)
    assert aligned.loc[:"2024-01-04", "walcl"].isna().all()
    assert aligned.loc["2024-01-05", "walcl"] == 7.0e6
    assert aligned.loc[:"2024-02-29", "m2sl"].isna().all()
    assert aligned.loc["2024-03-01", "m2sl"] == 20_000.0


def test_fred_daily_yields_lag_one_business_day_and_never_backfill():
    panel = pd.DataFrame({"btc_usd": 1.0, "dgs10": np.nan}, index=pd.date_range("2024-01-01", "2024-01-12"))
    panel.loc["2024-01-05", "dgs10"] = 4.0  # a Friday: public Monday
    aligned = align_point_in_time(panel)
    assert aligned.loc[:"2024-01-05", "dgs10"].isna().all()  # no backward fill
    assert aligned.loc["2024-01-08", "dgs10"] == 4.0
    assert (aligned.loc["2024-01-08":, "dgs10"] == 4.0).all()  # carried forward


def test_fed_business_days_skip_weekends_and_federal_holidays():
    dates = pd.DatetimeIndex(["2024-05-24", "2024-05-25", "2024-05-27", "2021-12-30", "2024-07-03"])
    # Fri before Memorial Day -> Tue; Sat and the holiday itself -> Tue; Thu 2021-12-30 -> Mon
    # 2022-01-03 (the Board closes on Fri 12-31 for the Saturday New Year); Wed before the 4th -> Fri.
    assert list(add_fed_business_days(dates, 1).strftime("%Y-%m-%d")) == [
        "2024-05-28", "2024-05-28", "2024-05-28", "2022-01-03", "2024-07-05"]
    # H.10: Monday 2019-02-11's value came out in the release of Tuesday 2019-02-19 (Presidents' Day).
    assert add_fed_business_days(pd.DatetimeIndex(["2019-02-11"]), 5)[0] == pd.Timestamp("2019-02-19")


@pytest.mark.parametrize("series, lag", [("dgs10", 1), ("dgs2", 1), ("dfii10", 1), ("t10yie", 1), ("usd_broad", 5)])
def test_fed_releases_skip_holidays_and_the_holiday_row_keeps_the_old_value(series, lag):
    # Memorial Day 2024 is Monday 05-27; the panel keeps it as a row with carried values.
    panel = pd.DataFrame({"btc_usd": 1.0, series: np.nan}, index=pd.date_range("2024-05-01", "2024-06-14"))
    days = pd.bdate_range("2024-05-01", "2024-06-14").drop(pd.Timestamp("2024-05-27"))  # no value on a holiday
    panel.loc[days, series] = np.arange(len(days), dtype=float) + 1.0
    friday = pd.Timestamp("2024-05-24")
    published = add_fed_business_days(pd.DatetimeIndex([friday]), lag)[0]  # Tue 05-28 / Mon 06-03
    aligned = align_point_in_time(panel)
    assert pd.Timestamp("2024-05-27") in aligned.index  # the holiday stays a row
    value = panel.loc[friday, series]
    assert (aligned.loc[:published - pd.Timedelta(days=1), series] != value).all()
    assert aligned.loc[published, series] == value
    # Changing the Friday value moves nothing before its publication, the holiday row included.
    shocked = panel.copy()
    shocked.loc[friday, series] = -99.0
    moved = align_point_in_time(shocked)[series].fillna(0.0).ne(aligned[series].fillna(0.0))
    assert moved.index[moved].min() == published


def test_btc_is_sampled_on_business_days():
    panel = pd.DataFrame({"btc_usd": np.arange(1.0, 15.0)}, index=pd.date_range("2024-01-01", periods=14))
    aligned = align_point_in_time(panel)
    assert (aligned.index.day_of_week < 5).all()
    assert aligned.loc["2024-01-08", "btc_usd"] == 8.0  # Monday's own close, not Sunday's


@pytest.mark.parametrize("cut", ["2019-06-28", "2021-03-15"])
def test_changing_the_future_leaves_features_and_regime_inputs_unchanged(demo_market, cut):
    panel = demo_market.panel.loc["2016":"2022"]
    rng = np.random.default_rng(0)
    future = panel.index > pd.Timestamp(cut)
    shocked = panel.copy()
    shocked.loc[future] = shocked.loc[future] * rng.uniform(0.5, 1.5, size=shocked.loc[future].shape)
    cfg = FeatureConfig()
    a, b = build_design(panel, cfg, (21,)), build_design(shocked, cfg, (21,))
    pd.testing.assert_frame_equal(a.features.loc[:cut], b.features.loc[:cut])
    pd.testing.assert_frame_equal(a.regime_obs.loc[:cut], b.regime_obs.loc[:cut])
    assert not a.features.loc[cut:].iloc[30:].equals(b.features.loc[cut:].iloc[30:])  # the shock was real
    # The target is the one forward-looking column: it does move before the cut.
    t = pd.Timestamp(cut)
    before = a.targets.index[a.targets.index <= t][-5:]
    assert not np.allclose(a.targets.loc[before].to_numpy(), b.targets.loc[before].to_numpy())


def test_features_do_not_mutate_input(demo_market):
    panel = demo_market.panel.loc["2019":"2021"]
    copy = panel.copy()
    aligned = align_point_in_time(panel)
    build_features(aligned, FeatureConfig())
    regime_observations(aligned, FeatureConfig())
    pd.testing.assert_frame_equal(panel, copy)


def test_every_feature_has_a_thesis_family(demo_market):
    aligned = align_point_in_time(demo_market.panel.loc["2019":"2021"])
    names = build_features(aligned, FeatureConfig()).columns
    assert {feature_family(n) for n in names} >= {"metals", "metals (lead)", "real yields", "breakevens", "dollar", "vix & equities", "liquidity", "btc momentum"}
    assert "other" not in {feature_family(n) for n in names}


def test_too_little_history_is_a_clear_error(demo_market):
    with pytest.raises(DataError, match="too little history"):
        build_design(demo_market.panel.loc["2020-01-01":"2020-06-30"], FeatureConfig(), (21,), min_rows=252)


def test_missing_core_series_is_named(demo_market):
    with pytest.raises(DataError, match="missing series dfii10"):
        build_design(demo_market.panel.drop(columns=["dfii10"]), FeatureConfig(), (21,))


def test_feature_config_validates():
    with pytest.raises(ConfigError, match="return_windows"):
        FeatureConfig(return_windows=(0, 5))


@pytest.mark.parametrize("windows", [(21,), (5, 10, 21, 63, 126)])
def test_other_return_windows_build_a_complete_design(demo_market, windows):
    design = build_design(demo_market.panel.loc["2016":"2020"], FeatureConfig(return_windows=windows), (21,))
    assert f"ret_btc_{max(windows)}" in design.features
    first = design.first_complete()
    assert design.features.filter(like="ret_btc_").iloc[first:].notna().all().all()


def test_regime_observations_hand_computed_and_optional_ones_left_out(demo_market):
    aligned = align_point_in_time(demo_market.panel.loc["2019":"2021"])
    cfg = FeatureConfig(regime_observations=("gold", "vix", "liquidity", "metals_vs_btc"), regime_zscore_window=0)
    obs = regime_observations(aligned, cfg)
    t = aligned.index[300]
    gold = np.log(aligned["gold_usd"])
    assert obs.loc[t, "gold"] == pytest.approx(gold.loc[t] - gold.iloc[300 - 21])
    assert obs.loc[t, "vix"] == pytest.approx(np.log(aligned.loc[t, "vix"]))
    btc, silver = np.log(aligned["btc_usd"]), np.log(aligned["silver_usd"])
    expected = ((gold.loc[t] - gold.iloc[279]) + (silver.loc[t] - silver.iloc[279])) / 2 - (btc.loc[t] - btc.iloc[279])
    assert obs.loc[t, "metals_vs_btc"] == pytest.approx(expected)
    # A data set without the Fed balance sheet simply lacks that observation.
    assert list(regime_observations(aligned.drop(columns="walcl"), cfg).columns) == ["gold", "vix", "metals_vs_btc"]


def test_regime_observations_as_trailing_z_scores(demo_market):
    aligned = align_point_in_time(demo_market.panel.loc["2018":"2021"])
    raw = regime_observations(aligned, FeatureConfig(regime_zscore_window=0))
    z = regime_observations(aligned, FeatureConfig(regime_zscore_window=252))
    t = 600
    window = raw.iloc[t - 251 : t + 1]
    assert z.iloc[t].to_numpy() == pytest.approx(((raw.iloc[t] - window.mean()) / window.std()).to_numpy())
    assert z["metals"].iloc[: 21 + 251].isna().all() and z["metals"].iloc[21 + 251 :].notna().all()  # 21-day moves, then 252 of them
    # Only the past: changing the future leaves every earlier z-score as it was.
    later = aligned.copy()
    later.iloc[t + 1 :, later.columns.get_loc("gold_usd")] *= 1.5
    pd.testing.assert_frame_equal(regime_observations(later, FeatureConfig()).iloc[: t + 1], z.iloc[: t + 1])


def test_unknown_regime_observations_are_a_config_error():
    with pytest.raises(ConfigError, match="regime_observations"):
        FeatureConfig(regime_observations=("gold", "moon_phase"))
    assert set(FeatureConfig().regime_observations) <= set(REGIME_OBSERVATIONS)


def test_trailing_moments_match_pandas_and_do_not_depend_on_where_the_history_starts():
    from features.windows import trailing_moments

    rng = np.random.default_rng(3)
    values = np.cumsum(rng.normal(size=(400, 3)), axis=0) + 50.0
    values[100, 1] = np.nan
    mean, sd = trailing_moments(values, 30)
    roll = pd.DataFrame(values).rolling(30)
    np.testing.assert_allclose(mean, roll.mean().to_numpy(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(sd, roll.std().to_numpy(), rtol=1e-9, atol=1e-12)
    later_mean, later_sd = trailing_moments(values[57:], 30)
    assert np.array_equal(later_mean[40:], mean[97:], equal_nan=True)  # bitwise, not just close
    assert np.array_equal(later_sd[40:], sd[97:], equal_nan=True)
    flat_mean, flat_sd = trailing_moments(np.ones(50), 10)
    assert np.isnan(flat_sd).all() and np.allclose(flat_mean[9:], 1.0)


def test_features_and_regime_inputs_equal_their_pandas_definitions_bit_for_bit(demo_market):
    """The builder computes on NumPy arrays for speed; each value is still exactly the pandas expression that
    defines it (what the models were fitted on), with the alignment a plain forward fill of published values."""
    panel = demo_market.panel.loc["2016":"2021"]
    aligned = align_point_in_time(panel)
    for col in ("btc_usd", "walcl", "dgs10"):
        s = panel[col].dropna()
        public = pd.Series(s.to_numpy(), index=publication_dates(s.index, col))
        expected = public[~public.index.duplicated(keep="last")].reindex(aligned.index, method="ffill")
        pd.testing.assert_series_equal(aligned[col], expected, check_names=False, check_freq=False, check_exact=True)
    cfg = FeatureConfig()
    got = build_features(aligned, cfg)
    logp = np.log(aligned[["btc_usd", "silver_usd", "gold_usd", "vix", "walcl"]])
    ratio = np.log(aligned["silver_usd"] / aligned["gold_usd"])
    z = cfg.zscore_window
    expected = {
        "ret_silver_21": logp["silver_usd"] - logp["silver_usd"].shift(21),
        "ret_btc_63": logp["btc_usd"] - logp["btc_usd"].shift(63),
        "vol_btc_21": logp["btc_usd"].diff().rolling(21, min_periods=21).std() * np.sqrt(252),
        "sgr_z": (ratio - ratio.rolling(z, min_periods=z).mean()) / ratio.rolling(z, min_periods=z).std(),
        "lead_gold_63_lag42": logp["gold_usd"].diff(63).shift(42),
        "dd_btc": logp["btc_usd"] - logp["btc_usd"].rolling(z, min_periods=z).max(),
        "chg_dfii10_5": aligned["dfii10"] - aligned["dfii10"].shift(5),
        "vix_chg_21": logp["vix"] - logp["vix"].shift(21),
        "liq_walcl_63": logp["walcl"].diff(63),
    }
    for name, values in expected.items():
        pd.testing.assert_series_equal(got[name], values, check_names=False, check_freq=False, check_exact=True,
                                       obj=name)
    raw = regime_observations(aligned, FeatureConfig(regime_zscore_window=0))
    metals = (logp["gold_usd"].diff(21) + logp["silver_usd"].diff(21)) / 2
    pd.testing.assert_series_equal(raw["metals_vs_btc"], metals - logp["btc_usd"].diff(21), check_names=False,
                                   check_freq=False, check_exact=True)
    pd.testing.assert_series_equal(raw["real_yield"], aligned["dfii10"].diff(21), check_names=False,
                                   check_freq=False, check_exact=True)
    fwd = forward_log_returns(aligned["btc_usd"], (5,))["fwd_5d"]
    pd.testing.assert_series_equal(fwd, logp["btc_usd"].shift(-5) - logp["btc_usd"], check_names=False,
                                   check_freq=False, check_exact=True)
