"""The regime HMM: a causal filter, recovery of planted regimes, names stable across refits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hmmlearn.hmm import GaussianHMM
from sklearn.base import clone

from features.config import FeatureConfig
from features.design import build_design
from regime import RegimeHMM
from regime.filtering import forward_filter, gaussian_log_emissions
from regime.naming import name_states


@pytest.fixture(scope="module")
def known_hmm():
    """A 2-state HMM with known parameters and a sample from it."""
    h = GaussianHMM(n_components=2, covariance_type="full")
    h.startprob_ = np.array([0.6, 0.4])
    h.transmat_ = np.array([[0.95, 0.05], [0.1, 0.9]])
    h.means_ = np.array([[0.0, 0.0], [2.0, -1.0]])
    h.covars_ = np.array([np.eye(2), [[1.0, 0.3], [0.3, 0.5]]])
    X, states = h.sample(400, random_state=np.random.RandomState(3))
    return h, X, states


def test_forward_filter_matches_hmmlearn_at_the_last_step_and_in_likelihood(known_hmm):
    h, X, _ = known_hmm
    logb = gaussian_log_emissions(X, h.means_, h.covars_)
    filtered = forward_filter(h.startprob_, h.transmat_, logb)
    assert np.allclose(filtered.sum(axis=1), 1.0)
    # At the last step filtered == smoothed, which hmmlearn does compute.
    assert np.allclose(filtered[-1], h.predict_proba(X)[-1], atol=1e-8)
    for t in (1, 50, 200):  # ... and for every prefix
        assert np.allclose(filtered[t - 1], h.predict_proba(X[:t])[-1], atol=1e-8)


def test_filter_is_causal_but_smoothing_is_not(known_hmm):
    h, X, _ = known_hmm
    X2 = X.copy()
    X2[300:] = X2[300:][::-1] + 5.0  # rewrite the future
    f1 = forward_filter(h.startprob_, h.transmat_, gaussian_log_emissions(X, h.means_, h.covars_))
    f2 = forward_filter(h.startprob_, h.transmat_, gaussian_log_emissions(X2, h.means_, h.covars_))
    assert np.array_equal(f1[:300], f2[:300])
    # hmmlearn's smoothed posteriors do move: that is why they are never used as features.
    assert not np.allclose(h.predict_proba(X)[:300], h.predict_proba(X2)[:300])


def test_regime_hmm_filter_proba_is_causal(demo_market):
    design = build_design(demo_market.panel.loc["2015":"2020"], FeatureConfig(), (21,))
    obs = design.regime_obs.iloc[design.first_complete():]
    hmm = RegimeHMM(n_init=1, random_state=0).fit(obs)
    cut = obs.index[600]
    shocked = obs.copy()
    shocked.loc[shocked.index > cut] *= -3.0
    a, b = hmm.filter_proba(obs), hmm.filter_proba(shocked)
    pd.testing.assert_frame_equal(a.loc[:cut], b.loc[:cut])
    assert not a.loc[cut:].iloc[1:].equals(b.loc[cut:].iloc[1:])


def test_planted_regimes_are_recovered_from_filtered_labels(demo_market):
    """On the demo market, filtered labels agree with the truth far above chance."""
    design = build_design(demo_market.panel.loc["2013":], FeatureConfig(), (21,))
    obs = design.regime_obs.iloc[design.first_complete():]
    hmm = RegimeHMM(n_states=3, random_state=0).fit(obs)
    labels = hmm.predict(obs)
    truth = demo_market.regimes.reindex(labels.index)
    agreement = float((labels == truth).mean())
    chance = float((truth.value_counts(normalize=True) ** 2).sum())  # agreement of a random labelling
    assert chance < 0.4
    assert agreement > 0.75, f"agreement {agreement:.2f} (chance {chance:.2f})"


def test_names_are_stable_when_the_state_order_is_permuted(demo_market):
    design = build_design(demo_market.panel.loc["2013":], FeatureConfig(), (21,))
    obs = design.regime_obs.iloc[design.first_complete():]
    hmm = RegimeHMM(n_init=1, random_state=1).fit(obs)
    before = hmm.filter_proba(obs)
    perm = np.array([2, 0, 1])
    m = hmm.model_
    m.startprob_, m.transmat_ = m.startprob_[perm], m.transmat_[np.ix_(perm, perm)]
    m.means_, m.covars_ = m.means_[perm], m._covars_[perm]
    hmm.labels_ = name_states(m.means_, hmm.columns_)
    after = hmm.filter_proba(obs)
    pd.testing.assert_frame_equal(before, after, atol=1e-10)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_names_agree_across_refits_with_different_seeds(demo_market, seed):
    design = build_design(demo_market.panel.loc["2013":], FeatureConfig(), (21,))
    obs = design.regime_obs.iloc[design.first_complete():]
    ref = RegimeHMM(n_init=2, random_state=100).fit(obs).predict(obs)
    other = RegimeHMM(n_init=2, random_state=seed).fit(obs).predict(obs)
    assert (ref == other).mean() > 0.8


def test_naming_rule_on_literal_means():
    cols = ["gold", "silver", "dollar", "real_yield", "breakeven", "vix"]
    means = np.array(
        [
            [0.0, 0.0, -1.0, 0.0, 1.5, 0.0],  # debasement: weak dollar, rising breakevens
            [0.1, 0.1, 0.0, 0.0, 0.0, -0.5],  # calm
            [1.0, 1.0, 1.0, -1.0, -0.5, 2.0],  # fear: VIX and dollar up, real yields down
        ]
    )
    assert name_states(means, cols) == ["debasement", "calm", "fear"]
    assert name_states(means[[2, 0]], cols) == ["fear", "debasement"]


def test_estimator_contract(demo_market):
    hmm = RegimeHMM(n_states=2, n_init=1, random_state=0)
    assert clone(hmm).get_params() == hmm.get_params()
    with pytest.raises(ValueError, match="n_states"):
        RegimeHMM(n_states=4).fit(pd.DataFrame(np.zeros((100, 2)), columns=["vix", "dollar"]))
    design = build_design(demo_market.panel.loc["2018":"2020"], FeatureConfig(), (21,))
    fitted = hmm.fit(design.regime_obs)
    assert fitted is hmm and hmm.labels_ and set(hmm.labels_) == {"fear", "debasement"}
    assert isinstance(hmm.converged_, bool)
    proba = hmm.filter_proba(design.regime_obs)
    warmup = design.regime_obs.isna().any(axis=1)
    assert warmup.any() and proba[warmup].isna().all().all()  # warm-up rows get NaN
    assert np.allclose(proba.dropna().sum(axis=1), 1.0)


def test_warm_started_refit_keeps_the_states(demo_market):
    """A refit started from the previous fit moves the states a little: labels barely change."""
    design = build_design(demo_market.panel.loc["2013":], FeatureConfig(), (21,))
    obs = design.regime_obs.iloc[design.first_complete():]
    first = RegimeHMM(random_state=0).fit(obs.iloc[:1500])
    grown = RegimeHMM(random_state=99).fit(obs.iloc[:1750], init=first)
    a, b = first.predict(obs.iloc[:1500]), grown.predict(obs.iloc[:1500])
    assert (a == b).mean() > 0.95
    assert grown.converged_


def test_a_continued_filter_equals_a_full_pass(known_hmm, demo_market):
    h, X, _ = known_hmm
    logb = gaussian_log_emissions(X, h.means_, h.covars_)
    full = forward_filter(h.startprob_, h.transmat_, logb)
    head = forward_filter(h.startprob_, h.transmat_, logb[:250])
    tail = forward_filter(h.startprob_, h.transmat_, logb[250:], previous=head[-1])
    assert np.array_equal(np.vstack([head, tail]), full)
    # The estimator's memo of the last pass: a grown history gives what a fresh model gives.
    design = build_design(demo_market.panel.loc["2016":"2020"], FeatureConfig(), (21,))
    obs = design.regime_obs.iloc[design.first_complete():]
    hmm = RegimeHMM(n_init=1, random_state=0).fit(obs)
    fresh = clone(hmm).fit(obs)
    hmm.filter_proba(obs.iloc[:-5])
    pd.testing.assert_frame_equal(hmm.filter_proba(obs), fresh.filter_proba(obs))
    changed = obs.copy()
    changed.iloc[10] += 1.0  # an edited past is not mistaken for the cached one
    pd.testing.assert_frame_equal(hmm.filter_proba(changed), fresh.filter_proba(changed))


def test_warm_start_keeps_a_diagonal_covariance_model_diagonal(demo_market):
    design = build_design(demo_market.panel.loc["2013":], FeatureConfig(), (21,))
    obs = design.regime_obs.iloc[design.first_complete():]
    first = RegimeHMM(covariance_type="diag", n_init=1, random_state=0).fit(obs.iloc[:1500])
    grown = RegimeHMM(covariance_type="diag", n_init=1, random_state=0).fit(obs.iloc[:1750], init=first)
    assert grown.model_.covariance_type == "diag"
    assert (first.predict(obs.iloc[:1500]) == grown.predict(obs.iloc[:1500])).mean() > 0.9
