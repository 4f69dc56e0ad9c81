"""``regime now`` pieces: spell length, error bands, what would flip the regime, the whole state."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from regime.hmm import RegimeHMM
from training.thesis.now import (
    describe_move,
    error_quantiles,
    regime_flips,
    spell,
)


def test_spell_counts_the_trailing_run():
    idx = pd.bdate_range("2024-01-01", periods=7)
    regimes = pd.Series([None, "fear", "fear", "calm", "debasement", "debasement", "debasement"], index=idx)
    assert spell(regimes) == (3, idx[4])
    assert spell(pd.Series(["calm"] * 4, index=idx[:4])) == (4, idx[0])


def test_error_quantiles_per_horizon_ignore_unrealized_rows():
    oos = pd.DataFrame({
        "horizon": [5] * 5 + [21] * 3,
        "realized": [0.1, 0.2, 0.3, 0.4, np.nan, 1.0, 1.0, 1.0],
        "model": [0.0] * 5 + [0.5, 0.5, 0.5],
    })
    q = error_quantiles(oos, (0.0, 1.0))
    assert q.loc[5, "lo"] == pytest.approx(0.1) and q.loc[5, "hi"] == pytest.approx(0.4) and q.loc[5, "n"] == 4
    assert q.loc[21, "lo"] == pytest.approx(0.5) and q.loc[21, "n"] == 3


def test_describe_move_uses_plain_units():
    assert describe_move("vix", np.log(20.0), np.log(30.0)) == "VIX 20.0 -> 30.0"
    assert describe_move("silver", 0.0, np.log(1.1)) == "silver 21-day return +0.0% -> +10.0%"
    assert "10y breakeven" in describe_move("breakeven", -0.1, 0.2)


def test_describe_move_of_z_scored_observations_is_in_standard_deviations():
    assert describe_move("gold", -0.5, 1.25, zscored=True) == "gold (gold's log return, z-score) -0.50 -> +1.25 sd"


@pytest.fixture(scope="module", params=["hmm"])
def fitted_model(request, small_panel):
    from features.config import FeatureConfig
    from features.design import build_design

    design = build_design(small_panel, FeatureConfig(), (21,))
    obs = design.regime_obs.iloc[design.first_complete():]
    model = RegimeHMM(n_states=3, n_init=2)
    return model.fit(obs), obs


def _winner(model, history: pd.DataFrame, raw: np.ndarray) -> str:
    today = pd.DataFrame([raw], columns=model.columns_)
    return model.label_names[int(model.aggregate(model.step_state_proba(history, today)).argmax())]


def test_regime_flips_are_the_smallest_moves_that_flip(fitted_model):
    model, obs = fitted_model
    history, today = obs.iloc[:-1], obs.iloc[-1]
    current = _winner(model, history, today.to_numpy(float))
    assert current == model.predict(obs).iloc[-1]  # the what-if step reproduces the filter
    flips = regime_flips(model, history, today, step=0.01)
    assert len(flips) and (flips.to_regime != current).all()
    assert flips.move_sd.abs().is_monotonic_increasing
    for r in flips.itertuples():
        j = list(obs.columns).index(r.observation)
        moved = today.to_numpy(float).copy()
        moved[j] += r.move
        assert _winner(model, history, moved) == r.to_regime
        assert r.move == pytest.approx(r.move_sd * model.scale_[j])
        smaller = today.to_numpy(float).copy()
        smaller[j] += (abs(r.move_sd) - 0.01) * np.sign(r.move_sd) * model.scale_[j]
        assert _winner(model, history, smaller) != r.to_regime


@pytest.mark.slow
def test_current_state_of_a_fitted_pipeline(small_panel):
    from models.explain import explain_pipeline
    from models.pipeline import RegimeForecastPipeline
    from training.thesis.now import current_state

    pipe = RegimeForecastPipeline(horizons=(5, 21), hmm_n_init=1, lgbm_params={"n_estimators": 60}).fit(small_panel)
    design = pipe.make_design(small_panel)
    expl = explain_pipeline(pipe, design, 21)
    errors = pd.DataFrame({"lo": [-0.05, -0.2], "hi": [0.06, 0.25], "n": [100, 90]}, index=pd.Index([5, 21], name="horizon"))
    state = current_state(pipe, design, expl, errors, top=4)  # the model's own distribution wins over errors
    assert state.date == design.index[-1]
    assert state.proba.sum() == pytest.approx(1.0)
    assert state.regime == state.proba.idxmax()
    assert state.spell_days >= 1 and state.spell_start <= state.date
    fc = state.forecasts
    assert state.band_source == "forecast distribution" and state.band == (0.1, 0.9)
    assert (fc.lo < fc["median"]).all() and (fc["median"] < fc.hi).all() and fc.p_up.between(0, 1).all()
    assert (fc.hi - fc.lo).loc[21] > (fc.hi - fc.lo).loc[5]  # a month is more uncertain than a week
    latest = pipe.predict_design(design).iloc[-1]
    assert fc.loc[21, "hi"] == pytest.approx(latest["q90_21d"]) and fc.loc[5, "p_up"] == pytest.approx(latest["p_up_5d"])
    assert sorted(state.fan) == [5, 21] and state.fan[21].is_monotonic_increasing
    assert list(state.outlook.columns) == ["fear", "debasement", "stress", "tightening", "calm"] and list(state.outlook.index) == [5, 21]
    assert np.allclose(state.outlook.sum(axis=1), 1.0) and state.spell_left > 0
    assert len(state.drivers) == 4 and state.drivers.percentile.between(0, 100).all()
    assert (state.flips.to_regime != state.regime).all()
    assert "21 business days" in state.narrative
    del pipe.distribution_  # a model trained before distributions existed: bands from past errors
    old = current_state(pipe, design, expl, errors, top=4)
    assert old.band_source == "out-of-sample errors"
    assert old.forecasts.loc[21, "hi"] - old.forecasts.loc[21, "forecast"] == pytest.approx(0.25)
    no_band = current_state(pipe, design, expl, None)
    assert no_band.forecasts.lo.isna().all() and no_band.band_source == "none"
