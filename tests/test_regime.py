"""The regime engines: causal filters, planted regimes recovered under any seed, names earned."""

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
from regime.naming import name_states, naming_notes, signature_scores

#: The demo market's planted regimes are best seen in the raw moves (its planted VIX levels).
DEMO_FEATURES = FeatureConfig(regime_observations=("gold", "silver", "dollar", "real_yield", "breakeven", "vix", "liquidity"),
                              regime_zscore_window=0)


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


@pytest.fixture(scope="module")
def demo_obs(demo_market):
    design = build_design(demo_market.panel.loc["2013":], DEMO_FEATURES, (21,))
    return design.regime_obs.iloc[design.first_complete():]


@pytest.fixture(scope="module")
def thesis_obs(demo_market):
    """The default regime observations (the thesis's moves as trailing z-scores) of the demo market."""
    design = build_design(demo_market.panel, FeatureConfig(), (21,))
    return design.regime_obs.iloc[design.regime_start():]


def test_forward_filter_matches_hmmlearn_at_the_last_step_and_in_likelihood(known_hmm):
    h, X, _ = known_hmm
    logb = gaussian_log_emissions(X, h.means_, h.covars_)
    filtered = forward_filter(h.startprob_, h.transmat_, logb)
    assert np.allclose(filtered.sum(axis=1), 1.0)
    # At the last step filtered == smoothed, which hmmlearn does compute.
    assert np.allclose(filtered[-1], h.predict_proba(X)[-1], atol=1e-8)
    for t in (1, 50, 200):  # ... and for every prefix
        assert np.allclose(filtered[t - 1], h.predict_proba(X[:t])[-1], atol=1e-8)


def test_the_compiled_forward_pass_equals_the_reference_loop(known_hmm):
    from regime.filtering import _compiled_forward, _python_forward

    h, X, _ = known_hmm
    logb = gaussian_log_emissions(X, h.means_, h.covars_)
    b = np.exp(logb - logb.max(axis=1, keepdims=True))
    fast = _compiled_forward(h.startprob_, h.transmat_, b)
    assert fast is not None and np.allclose(fast, _python_forward(h.startprob_, h.transmat_, b), rtol=0, atol=1e-13)


def test_filter_is_causal_but_smoothing_is_not(known_hmm):
    h, X, _ = known_hmm
    X2 = X.copy()
    X2[300:] = X2[300:][::-1] + 5.0  # rewrite the future
    f1 = forward_filter(h.startprob_, h.transmat_, gaussian_log_emissions(X, h.means_, h.covars_))
    f2 = forward_filter(h.startprob_, h.transmat_, gaussian_log_emissions(X2, h.means_, h.covars_))
    assert np.array_equal(f1[:300], f2[:300])
    # hmmlearn's smoothed posteriors do move: that is why they are never used as features.
    assert not np.allclose(h.predict_proba(X)[:300], h.predict_proba(X2)[:300])


def test_forward_filter_refuses_non_finite_emissions_instead_of_restarting(known_hmm):
    h, X, _ = known_hmm
    logb = gaussian_log_emissions(X[:20], h.means_, h.covars_)
    logb[7] = np.nan
    with pytest.raises(ValueError, match="row 7"):
        forward_filter(h.startprob_, h.transmat_, logb)
    logb[7] = -np.inf  # every state impossible
    with pytest.raises(ValueError, match="row 7"):
        forward_filter(h.startprob_, h.transmat_, logb)
    logb[7] = [0.0, -np.inf]  # one impossible state is fine
    assert np.allclose(forward_filter(h.startprob_, h.transmat_, logb)[7], [1.0, 0.0])


@pytest.mark.parametrize("engine", [RegimeHMM(n_init=1), RegimeHMM(anchor=3000.0, standardize=False)], ids=["free", "anchored"])
def test_filtered_regimes_are_causal(demo_obs, engine):
    model = clone(engine).fit(demo_obs.iloc[:1200])
    cut = demo_obs.index[800]
    shocked = demo_obs.copy()
    shocked.loc[shocked.index > cut] = shocked.loc[shocked.index > cut].to_numpy()[::-1] * -3.0
    a, b = model.filter_proba(demo_obs), model.filter_proba(shocked)
    pd.testing.assert_frame_equal(a.loc[:cut], b.loc[:cut])
    assert not a.loc[cut:].iloc[1:].equals(b.loc[cut:].iloc[1:])


@pytest.mark.parametrize("engine", [RegimeHMM(n_init=1), RegimeHMM(anchor=3000.0, standardize=False)], ids=["free", "anchored"])
def test_the_what_if_step_reproduces_the_filter(demo_obs, engine):
    model = clone(engine).fit(demo_obs)
    for end in (30, 600, len(demo_obs)):
        step = model.step_state_proba(demo_obs.iloc[: end - 1], demo_obs.iloc[end - 1 : end])
        assert step[0] == pytest.approx(model.filter_state_proba(demo_obs.iloc[:end]).to_numpy()[-1], abs=1e-9)


def test_predictive_log_likelihood_sums_to_the_hmm_likelihood(demo_obs):
    hmm = RegimeHMM(n_init=1).fit(demo_obs)
    ll = hmm.predictive_log_likelihood(demo_obs)
    Z = (demo_obs.to_numpy() - hmm.mean_) / hmm.scale_
    assert ll.sum() == pytest.approx(hmm.model_.score(Z) - len(Z) * np.log(hmm.scale_).sum(), rel=1e-9)
    # Continuing from an earlier pass gives the same figures as one pass.
    head = hmm.filter_state_proba(demo_obs.iloc[:500]).to_numpy()[-1]
    assert hmm.predictive_log_likelihood(demo_obs.iloc[500:], previous=head) == pytest.approx(ll[500:], rel=1e-9)


def test_planted_regimes_are_recovered_in_the_thesis_order_under_any_seed(demo_market, thesis_obs):
    """The anchored HMM recovers the demo's planted regimes far above chance, fear before debasement, whatever the seed."""
    models = [RegimeHMM(n_states=5, anchor=3000.0, standardize=False, random_state=seed).fit(thesis_obs) for seed in (0, 1, 2)]
    labels = [m.predict(thesis_obs) for m in models]
    for other in labels[1:]:
        assert (other == labels[0]).mean() > 0.99
    assert models[0].labels_ == ["fear", "debasement", "stress", "tightening", "calm"]
    truth = demo_market.regimes.reindex(labels[0].index)
    for name in ("fear", "debasement"):
        hit = float((labels[0][truth == name] == name).mean())
        base = float((labels[0] == name).mean())
        assert hit > 1.5 * base, f"{name}: {hit:.2f} of its planted days vs {base:.2f} of all days"
    # In each planted fear spell followed by a debasement spell, the fear labels come first.
    from training.thesis.sequence import spells

    runs = spells(truth)
    order = []
    for a, b in zip(runs.itertuples(), runs.iloc[1:].itertuples()):
        if a.regime == "fear" and b.regime == "debasement":
            window = labels[0].iloc[a.start : b.end + 1].to_numpy()
            pos = np.arange(len(window))
            if (window == "fear").any() and (window == "debasement").any():
                order.append(pos[window == "fear"].mean() < pos[window == "debasement"].mean())
    assert len(order) >= 5 and np.mean(order) > 0.75, order


def test_names_do_not_depend_on_the_state_order(demo_obs):
    hmm = RegimeHMM(n_init=1).fit(demo_obs)
    before = hmm.filter_proba(demo_obs)
    perm = np.array([2, 0, 1])
    m = hmm.model_
    m.startprob_, m.transmat_ = m.startprob_[perm], m.transmat_[np.ix_(perm, perm)]
    m.means_, m.covars_ = m.means_[perm], m._covars_[perm]
    hmm._name_states(m.means_)
    pd.testing.assert_frame_equal(before, hmm.filter_proba(demo_obs), atol=1e-10)


COLS = ["metals", "metals_63", "metals_vs_btc", "metals_vs_btc_63", "dollar", "real_yield", "breakeven",
        "liquidity", "vix", "equity"]


def _state(**moves: float) -> list[float]:
    return [moves.get(c, 0.0) for c in COLS]


def test_a_name_needs_every_defining_move():
    means = np.array([
        _state(metals=1.0, metals_63=0.9, metals_vs_btc=0.8, metals_vs_btc_63=0.7),  # metals first, BTC lagging
        _state(metals_vs_btc=-0.9, metals_vs_btc_63=-1.0, liquidity=0.6, dollar=-0.3),  # BTC catching up, liquidity
        _state(vix=1.5, equity=-1.2, metals=-0.6, metals_63=-0.2, metals_vs_btc=0.5),  # a liquidation
        _state(real_yield=1.0, dollar=0.8),  # tightening
        _state(vix=-0.3),  # nothing in particular
    ])
    assert name_states(means, COLS) == ["fear", "debasement", "stress", "tightening", "calm"]
    scores = signature_scores(means, COLS)
    # The match is the weakest defining move's margin: metals_vs_btc_63 at 0.7 clears 0.2 by 0.5.
    assert scores.loc["state_0", "fear"] == pytest.approx(0.7 - 0.2)
    assert naming_notes(scores, name_states(means, COLS)) == []


def test_metals_up_with_btc_beating_them_is_not_fear():
    means = np.array([_state(metals=1.2, metals_63=1.0, metals_vs_btc=-0.5, metals_vs_btc_63=-0.3, vix=2.0, equity=-2.0)])
    assert name_states(means, COLS) != ["fear"]


def test_a_liquidation_is_not_fear():
    # VIX spikes, metals, equities and BTC all sold (BTC the most): the metals beat BTC only by falling less.
    means = np.array([_state(vix=2.0, equity=-1.5, metals=-0.8, metals_63=-0.4, metals_vs_btc=1.0, metals_vs_btc_63=0.6)])
    assert name_states(means, COLS) == ["stress"]


def test_a_weighted_block_cannot_win_a_name_alone():
    # The old rule's "fear": an equity sell-off with VIX up, the dollar and real yields up, flat silver.
    means = np.array([_state(vix=1.45, equity=-1.26, metals=0.05, metals_vs_btc=0.76, metals_vs_btc_63=0.5,
                             dollar=0.4, real_yield=0.15)])
    assert name_states(means, COLS)[0] not in ("fear", "debasement")


def test_debasement_needs_liquidity_money_or_breakevens_and_no_rising_dollar():
    catch_up = _state(metals_vs_btc=-1.0, metals_vs_btc_63=-1.0)
    assert name_states(np.array([catch_up]), COLS) == ["calm"]
    with_liquidity = _state(metals_vs_btc=-1.0, metals_vs_btc_63=-1.0, liquidity=0.5)
    assert name_states(np.array([with_liquidity]), COLS) == ["debasement"]
    dollar_up = _state(metals_vs_btc=-1.0, metals_vs_btc_63=-1.0, breakeven=0.5, dollar=0.6)
    assert name_states(np.array([dollar_up]), COLS) != ["debasement"]


def test_a_phase_no_state_meets_is_reported_not_forced():
    means = np.array([_state(metals=0.8, metals_63=0.8, metals_vs_btc=0.1, metals_vs_btc_63=0.6), _state()])
    labels = name_states(means, COLS)
    assert labels == ["calm", "calm"]
    notes = naming_notes(signature_scores(means, COLS), labels)
    assert any(n.startswith("no state meets every defining move of fear") for n in notes)
    assert any("cannot be named" in n for n in notes)


def test_an_analysts_own_signature_names_the_states():
    means = np.array([_state(vix=1.5), _state(vix=-1.0)])
    thesis = {"panic": {"vix": "up"}, "complacency": {"vix": "down"}}
    assert name_states(means, COLS, thesis) == ["panic", "complacency"]
    hmm = RegimeHMM(signatures=thesis)
    assert hmm.label_names == ("panic", "complacency", "calm")


def test_prototypes_write_each_signature_as_a_point():
    from regime.naming import prototypes

    proto = prototypes(COLS, 5)
    assert proto.shape == (5, len(COLS))
    assert proto[0, COLS.index("metals_vs_btc_63")] == 1.0 and proto[1, COLS.index("metals_vs_btc")] == -1.0
    assert proto[1, COLS.index("liquidity")] == pytest.approx(1 / 2)  # liquidity|money|breakeven: 2 of 3 observed
    assert not proto[-1].any()  # the neutral state sits at the average
    assert name_states(proto, COLS) == ["fear", "debasement", "stress", "tightening", "calm"]


def test_several_states_may_share_a_name_and_their_probabilities_add_up(demo_obs):
    hmm = RegimeHMM(n_states=6, n_init=2).fit(demo_obs)
    states, regimes = hmm.filter_state_proba(demo_obs), hmm.filter_proba(demo_obs)
    assert list(regimes.columns) == ["p_fear", "p_debasement", "p_stress", "p_tightening", "p_calm"]
    for name in hmm.label_names:
        in_name = [f"state_{i}" for i, label in enumerate(hmm.labels_) if label == name]
        assert np.allclose(regimes[f"p_{name}"], states[in_name].sum(axis=1) if in_name else 0.0)
    assert np.allclose(regimes.sum(axis=1), 1.0)


@pytest.mark.parametrize("engine", [RegimeHMM(n_states=2, n_init=1)], ids=["hmm"])
def test_estimator_contract(demo_market, engine):
    assert clone(engine).get_params() == engine.get_params()
    with pytest.raises(ValueError, match="n_states"):
        clone(engine).set_params(n_states=1).fit(pd.DataFrame(np.zeros((100, 2)), columns=["vix", "dollar"]))
    design = build_design(demo_market.panel.loc["2018":"2020"], FeatureConfig(), (21,))
    fitted = engine.fit(design.regime_obs)
    assert fitted is engine and len(engine.labels_) == 2 and set(engine.labels_) <= set(engine.label_names)
    assert isinstance(engine.converged_, bool)
    proba = engine.filter_proba(design.regime_obs)
    warmup = design.regime_obs.isna().any(axis=1)
    assert warmup.any() and proba[warmup].isna().all().all()  # warm-up rows get NaN
    assert np.allclose(proba.dropna().sum(axis=1), 1.0)
    assert engine.transmat_.shape == (2, 2) and np.allclose(engine.transmat_.sum(axis=1), 1.0)


def test_filtering_leaves_the_fitted_model_unchanged(demo_obs):
    import pickle

    hmm = RegimeHMM(n_init=1).fit(demo_obs)
    before = pickle.dumps(hmm)
    hmm.filter_proba(demo_obs)
    hmm.predict(demo_obs.iloc[:-5])
    hmm.step_state_proba(demo_obs.iloc[:-1], demo_obs.iloc[-1:])
    assert pickle.dumps(hmm) == before  # no cache, no hidden state: the pickled model is byte for byte the same


def test_infinite_or_constant_observations_get_a_clear_error(demo_obs):
    bad = demo_obs.copy()
    bad.iloc[40, bad.columns.get_loc("vix")] = np.inf
    with pytest.raises(ValueError, match=rf"'vix' is infinite at {bad.index[40]}"):
        RegimeHMM(n_init=1).fit(bad)
    flat = demo_obs.assign(vix=3.0)
    with pytest.raises(ValueError, match="'vix' is constant"):
        RegimeHMM(n_init=1).fit(flat)


def test_warm_started_refit_keeps_the_states(demo_obs):
    """A refit started from the previous fit moves the states a little: labels barely change."""
    first = RegimeHMM(random_state=0).fit(demo_obs.iloc[:1500])
    grown = RegimeHMM(random_state=99).fit(demo_obs.iloc[:1750], init=first)
    a, b = first.predict(demo_obs.iloc[:1500]), grown.predict(demo_obs.iloc[:1500])
    assert (a == b).mean() > 0.95
    assert grown.converged_


@pytest.mark.parametrize("cov", ["diag", "full"])
def test_warm_start_keeps_the_covariance_type(demo_obs, cov):
    first = RegimeHMM(covariance_type=cov, n_init=1, anchor=3000.0, random_state=0).fit(demo_obs.iloc[:1500])
    grown = RegimeHMM(covariance_type=cov, n_init=1, anchor=3000.0, random_state=0).fit(demo_obs.iloc[:1750], init=first)
    assert grown.model_.covariance_type == cov
    assert (first.predict(demo_obs.iloc[:1500]) == grown.predict(demo_obs.iloc[:1500])).mean() > 0.9
