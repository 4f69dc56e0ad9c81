"""The whole chain as one estimator: contract, and the future cannot move past forecasts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from features.errors import DataError, ModelError
from models.pipeline import RegimeForecastPipeline, panel_from_frame
from training.evaluation.distributions import (
    distribution_scores,
    walk_forward_distributions,
)
from training.evaluation.walk_forward import run_walk_forward

FAST = {"hmm_n_init": 1, "lgbm_params": {"n_estimators": 40}}


def _shock_after(panel: pd.DataFrame, cut: str, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    out = panel.copy()
    future = out.index > pd.Timestamp(cut)
    out.loc[future] = out.loc[future] * rng.uniform(0.7, 1.3, size=out.loc[future].shape)
    return out


def test_predict_output_contract(small_panel):
    pipe = RegimeForecastPipeline(horizons=(5, 21), **FAST).fit(small_panel)
    out = pipe.predict(small_panel)
    names = ("fear", "debasement", "stress", "tightening", "calm")
    existing = ["date", "regime", *(f"p_{n}" for n in names), "forecast_5d", "forecast_21d"]
    distribution = [f"{c}_{h}d" for h in (5, 21) for c in ("q10", "q50", "q90", "p_up")]
    outlook = [f"p_{n}_{h}d" for h in (5, 21) for n in names] + ["spell_left_days"]
    assert list(out.columns) == existing + distribution + outlook  # regimes, forecasts, then the distributions
    assert out["date"].is_monotonic_increasing and out["date"].dt.day_of_week.lt(5).all()
    assert set(out["regime"]) <= set(names)
    assert np.allclose(out[[f"p_{n}" for n in names]].sum(axis=1), 1.0)
    for h in (5, 21):
        assert np.allclose(out[[f"p_{n}_{h}d" for n in names]].sum(axis=1), 1.0)
        assert (out[f"q10_{h}d"] <= out[f"q50_{h}d"]).all() and (out[f"q50_{h}d"] <= out[f"q90_{h}d"]).all()
        assert out[f"p_up_{h}d"].between(0, 1).all()
    assert out["spell_left_days"].gt(0).all()
    assert out.notna().all().all()
    assert clone(pipe).get_params()["horizons"] == (5, 21)


def test_future_data_cannot_move_past_forecasts_of_a_fitted_chain(small_panel):
    pipe = RegimeForecastPipeline(horizons=(21,), **FAST).fit(small_panel.loc[:"2020-12-31"])
    cut = "2021-06-30"
    a = pipe.predict(small_panel).set_index("date")
    b = pipe.predict(_shock_after(small_panel, cut)).set_index("date")
    pd.testing.assert_frame_equal(a.loc[:cut], b.loc[:cut])
    assert not a.loc[cut:].iloc[5:].equals(b.loc[cut:].iloc[5:])


CUT = "2021-09-30"


@pytest.fixture(scope="module")
def walk_forward_runs(small_panel):
    """The walk-forward on the small demo panel and on a copy whose data after CUT was rewritten."""
    template = RegimeForecastPipeline(horizons=(5, 21), **FAST)
    designs, runs = [], []
    for panel in (small_panel, _shock_after(small_panel, CUT)):
        designs.append(template.make_design(panel))
        runs.append(run_walk_forward(designs[-1], template, 504, 126, baselines=True))
    return template, designs, runs


def test_future_data_cannot_move_walk_forward_forecasts(walk_forward_runs):
    """Training path: every fold refits HMM and forecaster; out-of-sample forecasts up to T stay put."""
    template, designs, runs = walk_forward_runs
    for h in (5, 21):
        a, b = (r.predictions[h].loc[:CUT] for r in runs)
        cols = ["model", "linear", "no_regime", "momentum", "zero"]
        pd.testing.assert_frame_equal(a[cols], b[cols])
        assert (a.index <= pd.Timestamp(CUT)).all() and len(a) > 100
    # The new outputs too: quantiles, P(up), regime forecasts and spells of every fold, and the
    # distributions the evaluation scores (with their unconditional reference).
    a, b = (r.regimes.loc[:CUT] for r in runs)
    pd.testing.assert_frame_equal(a, b)
    assert {"q10_21d", "p_up_21d", "p_fear_21d", "spell_left_days"} <= set(a.columns)
    dists = [walk_forward_distributions(r, d, template) for r, d in zip(runs, designs)]
    for h in (5, 21):
        x, y = (dist[h] for dist in dists)
        pd.testing.assert_frame_equal(x.quantiles.loc[:CUT], y.quantiles.loc[:CUT])
        pd.testing.assert_frame_equal(x.base_quantiles.loc[:CUT], y.base_quantiles.loc[:CUT])
        cols = ["p_up", "base_p_up", "regime", "fold"]
        pd.testing.assert_frame_equal(x.frame.loc[:CUT, cols], y.frame.loc[:CUT, cols])


def test_walk_forward_bands_are_the_folds_own_and_cover_the_demo_market(walk_forward_runs):
    """The q10/q90 each fold's chain printed are the evaluated ones; on the demo market they cover ~80%."""
    template, designs, runs = walk_forward_runs
    dists = walk_forward_distributions(runs[0], designs[0], template)
    for h in (5, 21):
        fc = dists[h]
        np.testing.assert_allclose(fc.quantiles[0.1], runs[0].regimes[f"q10_{h}d"], rtol=1e-12)
        np.testing.assert_allclose(fc.quantiles[0.9], runs[0].regimes[f"q90_{h}d"], rtol=1e-12)
        np.testing.assert_allclose(fc.frame["p_up"], runs[0].regimes[f"p_up_{h}d"], rtol=1e-12)
    scores = distribution_scores(dists, n_boot=0).set_index(["horizon", "group"])
    assert scores.loc[(5, "all"), "coverage"] == pytest.approx(0.80, abs=0.06)
    assert scores.loc[(21, "all"), "coverage"] == pytest.approx(0.80, abs=0.10)  # ~25 independent months


def test_missing_series_is_a_model_error(small_panel):
    pipe = RegimeForecastPipeline(horizons=(21,), **FAST).fit(small_panel)
    with pytest.raises(ModelError, match="vix"):
        pipe.predict(small_panel.drop(columns=["vix"]))


def test_panel_from_frame_accepts_iso_strings_and_ignores_extra_columns(small_panel):
    flat = small_panel.reset_index()
    flat["date"] = flat["date"].dt.strftime("%Y-%m-%d")
    flat["unrelated"] = "x"
    panel = panel_from_frame(flat, series=list(small_panel.columns))
    pd.testing.assert_frame_equal(panel, small_panel.astype(float), check_freq=False)
    with pytest.raises(ModelError, match="date"):
        panel_from_frame(flat.drop(columns=["date"]))
    bad = flat.copy()
    bad.loc[3, "date"] = "not-a-date"
    with pytest.raises(ModelError, match="not-a-date"):
        panel_from_frame(bad)


@pytest.mark.parametrize("n", [1, 3])
def test_warm_prediction_of_the_last_rows_is_bitwise_the_full_prediction(small_panel, n):
    """A warm update (``last=n``) gives exactly the full prediction's last rows, and leaves the model as it was."""
    pipe = RegimeForecastPipeline(horizons=(5, 21), **FAST).fit(small_panel)
    before = joblib_bytes(pipe)
    full = pipe.predict(small_panel).set_index("date")
    last = pipe.predict(small_panel, last=n).set_index("date")
    assert list(last.index) == list(full.index[-n:])
    pd.testing.assert_frame_equal(last, full.iloc[-n:], check_exact=True)
    assert joblib_bytes(pipe) == before  # no state changed by predict (no hidden filter cache)


def joblib_bytes(obj) -> bytes:
    import io

    import joblib

    buf = io.BytesIO()
    joblib.dump(obj, buf)
    return buf.getvalue()


def test_conflicting_duplicate_dates_in_model_input_are_refused(small_panel):
    flat = small_panel.reset_index()
    flat["date"] = flat["date"].dt.strftime("%Y-%m-%d")
    clash = flat.iloc[[10]].assign(btc_usd=flat["btc_usd"].iloc[10] * 2)
    with pytest.raises(DataError, match="duplicate dates with different values"):
        panel_from_frame(pd.concat([flat, clash]), series=list(small_panel.columns))
