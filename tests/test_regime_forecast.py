"""The regime forecast: P(regime at t+h) and the expected rest of a spell from the fitted dynamics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hmmlearn.hmm import GaussianHMM

from regime import RegimeHMM
from regime.forecast import expected_spell_left, regime_forecast, regime_outlook
from tests.conftest import SEED
from training.evaluation.folds import Fold
from training.evaluation.probabilistic import category_brier
from training.evaluation.regime_forecast import (
    regime_forecast_scores,
    unconditional_frequencies,
)
from training.evaluation.walk_forward import WalkForwardResult

OBS = ["gold", "silver", "dollar", "real_yield", "breakeven", "vix"]


def test_forecast_is_the_filtered_row_times_powers_of_the_transition_matrix():
    A = np.array([[0.9, 0.1], [0.2, 0.8]])
    proba = pd.DataFrame([[1.0, 0.0], [0.5, 0.5], [np.nan, np.nan]], columns=["state_0", "state_1"])
    out = regime_forecast(proba, A, ["fear", "debasement"], ("fear", "debasement"), (1, 2))
    assert list(out.columns) == ["p_fear_1d", "p_debasement_1d", "p_fear_2d", "p_debasement_2d"]
    assert out.iloc[0].tolist() == pytest.approx([0.9, 0.1, 0.83, 0.17])
    assert out.iloc[1].tolist() == pytest.approx([0.55, 0.45, 0.585, 0.415])
    assert out.iloc[2].isna().all()  # the warm-up stays missing


def test_states_sharing_a_name_are_summed_and_every_horizon_sums_to_one():
    rng = np.random.default_rng(SEED)
    A = rng.dirichlet(np.ones(4), size=4)
    proba = pd.DataFrame(rng.dirichlet(np.ones(4), size=50))
    labels = ["fear", "calm", "calm", "debasement"]
    out = regime_forecast(proba, A, labels, ("fear", "debasement", "calm"), (5, 63))
    for h in (5, 63):
        assert np.allclose(out[[f"p_{n}_{h}d" for n in ("fear", "debasement", "calm")]].sum(axis=1), 1.0)
    ahead = proba.to_numpy() @ np.linalg.matrix_power(A, 5)
    assert np.allclose(out["p_calm_5d"], ahead[:, 1] + ahead[:, 2])
    with pytest.raises(ValueError, match="not among the regime names"):
        regime_forecast(proba, A, ["fear", "calm", "calm", "other"], ("fear", "calm"), (5,))


def test_expected_spell_matches_a_geometric_stay_and_a_simulation_with_shared_names():
    A = np.array([[0.95, 0.05], [0.25, 0.75]])
    proba = pd.DataFrame([[0.9, 0.1], [0.1, 0.9]])
    left = expected_spell_left(proba, A, ["fear", "calm"], ("fear", "calm"))
    assert left.tolist() == pytest.approx([0.95 / 0.05, 0.75 / 0.25])
    # Two states named "calm": leaving one for the other does not end the spell.
    B = np.array([[0.8, 0.15, 0.05], [0.1, 0.6, 0.3], [0.3, 0.3, 0.4]])
    start = np.array([0.0, 0.7, 0.3])
    calm = expected_spell_left(pd.DataFrame([start]), B, ["fear", "calm", "calm"], ("fear", "calm")).iloc[0]
    rng = np.random.default_rng(SEED)
    state = rng.choice(3, size=20_000, p=start)
    steps = np.zeros(len(state))
    alive = np.ones(len(state), dtype=bool)
    while alive.any():
        u = rng.random(len(state))
        state = np.where(alive, (B[state].cumsum(axis=1) < u[:, None]).sum(axis=1), state)
        alive &= state != 0
        steps += alive
    assert calm == pytest.approx(steps.mean(), rel=0.03)
    assert np.isinf(expected_spell_left(pd.DataFrame([[1.0, 0.0]]), np.eye(2), ["fear", "calm"], ("fear", "calm"))[0])


@pytest.fixture(scope="module")
def planted_chain():
    """A persistent 3-state chain (stay 0.97) with Gaussian observations, an HMM fitted on its first half."""
    truth = GaussianHMM(n_components=3, covariance_type="full")
    truth.startprob_ = np.full(3, 1 / 3)
    truth.transmat_ = np.full((3, 3), 0.015) + np.eye(3) * 0.955
    truth.means_ = np.array([[-1, -1, 1.5, -1, -1, 1.5], [1, 1, -1, 0, 1.5, 0], [0, 0, 0, 1, 0, -1]], dtype=float)
    truth.covars_ = np.tile(np.eye(6) * 0.8, (3, 1, 1))
    X, states = truth.sample(3000, random_state=np.random.RandomState(SEED))
    obs = pd.DataFrame(X, columns=OBS, index=pd.bdate_range("2010-01-01", periods=len(X)))
    hmm = RegimeHMM(n_states=3, n_init=2, random_state=0).fit(obs.iloc[:1500])
    return hmm, obs, states


def test_forecast_of_a_planted_persistent_chain_beats_the_unconditional_frequencies(planted_chain):
    hmm, obs, _ = planted_chain
    filtered = hmm.filter_state_proba(obs)
    labels = hmm.predict(obs)
    names = list(hmm.label_names)
    outcome_code = labels.map({n: i for i, n in enumerate(names)})
    test = obs.index[1500:]
    base = pd.Series(labels.iloc[:1500]).value_counts(normalize=True).reindex(names).fillna(0).to_numpy()
    for h in (5, 21):
        fc = regime_forecast(filtered, hmm.transmat_, hmm.labels_, names, (h,))
        y = outcome_code.shift(-h).loc[test].dropna().astype(int)
        model = category_brier(fc.loc[y.index].to_numpy(), y.to_numpy()).mean()
        unconditional = category_brier(np.tile(base, (len(y), 1)), y.to_numpy()).mean()
        assert model < 0.8 * unconditional, (h, model, unconditional)


def test_scores_of_a_walk_forward_regime_forecast(planted_chain):
    """The scoring path (persistence, point-in-time frequencies) on the planted chain as one fold."""
    hmm, obs, _ = planted_chain
    horizons = (5, 21)
    names = list(hmm.label_names)
    labels = hmm.predict(obs)
    out = regime_outlook(hmm.filter_state_proba(obs), hmm.transmat_, hmm.labels_, names, horizons)
    test = obs.index[1500:]
    regimes = pd.concat([labels.rename("regime"), hmm.filter_proba(obs), out], axis=1).loc[test].assign(fold=0)
    result = WalkForwardResult([Fold(0, 0, 1500, 3000)], {}, regimes, {0: labels}, pd.DataFrame())
    freq = unconditional_frequencies(result, names)
    first = test[0]
    assert freq.loc[first].tolist() == pytest.approx(
        labels.loc[:first].value_counts(normalize=True).reindex(names).fillna(0).tolist())
    table = regime_forecast_scores(result, horizons, n_boot=50).set_index(["horizon", "group"])
    for h in horizons:
        row = table.loc[(h, "all")]
        assert row.n == 1500 - h
        assert row.brier_model < row.brier_unconditional and row.brier_model < row.brier_persistence
        assert row.brier_skill_vs_unconditional_lo > 0
        assert row.log_model < row.log_unconditional
    assert out["spell_left_days"].gt(0).all()
