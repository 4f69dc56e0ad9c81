"""Regime quality in a run and the choice of regime model by evidence."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.config import FeatureConfig
from models.pipeline import RegimeForecastPipeline
from regime.hmm import RegimeHMM
from training.evaluation.folds import walk_forward_folds
from training.evaluation.regime_chain import observed, regime_chain
from training.evaluation.regime_quality import regime_report
from training.evaluation.regime_selection import (
    Candidate,
    choose,
    compare_regime_models,
)

RAW = FeatureConfig(regime_zscore_window=0)


@pytest.fixture(scope="module")
def demo_design(small_panel):
    template = RegimeForecastPipeline(RAW, horizons=(21,), n_states=3, hmm_n_init=3)
    design = template.make_design(small_panel)
    folds = walk_forward_folds(len(design.index), design.first_complete(), 504, 252)
    return template, design, folds


def test_the_chain_continues_into_the_final_model_and_the_report_says_how_stable(demo_design):
    template, design, folds = demo_design
    chain = regime_chain(design, template, folds)
    assert len(chain.fold_models) == len(folds)
    obs = observed(design)
    # The OOS labels are the folds' own: fold k's model on its test block.
    k = folds[1]
    test = design.index[k.cutoff : k.test_end]
    pd.testing.assert_series_equal(chain.oos_labels.loc[test], chain.fold_models[1].predict(obs).loc[test], check_names=False)
    assert np.isfinite(chain.oos_loglik)
    other = regime_chain(design, template, folds, random_state=5)
    report = regime_report(chain.oos_labels, chain.fold_labels, chain.final, obs, other.final.predict(obs))
    m = report.metrics
    assert m["seed_agreement"] > 0.95 and m["wf_final_agreement"] > 0.8 and m["degenerate"] == 0.0
    assert report.states.share.sum() == pytest.approx(1.0)
    assert list(report.states.label) == chain.final.labels_
    assert {f"mean_{c}" for c in chain.final.columns_} <= set(report.states.columns)


def test_a_degenerate_regime_model_is_flagged_in_the_report(demo_design):
    template, design, folds = demo_design
    obs = observed(design)
    hmm = RegimeHMM(n_states=3, n_init=1).fit(obs)
    # A state the data never visit: start it far away and forbid entering it.
    hmm.model_.means_ = hmm.model_.means_.copy()
    hmm.model_.means_[2] = 50.0
    labels = hmm.predict(obs)
    report = regime_report(labels, {0: labels}, hmm, obs)
    assert report.metrics["degenerate"] == 1.0
    assert any("state_2" in r for r in report.degenerate)


def test_the_comparison_chooses_the_most_likely_stable_candidate(demo_design):
    template, design, folds = demo_design
    table = compare_regime_models(design, template, folds, [Candidate(3, "diag", 0.0), Candidate(5, "diag", 3000.0)])
    assert list(table.candidate) == ["hmm 3 states (diag, free)", "hmm 5 states (diag, anchor 3000)"]
    for col in ("oos_loglik", "bic", "seed_agreement", "wf_final_agreement", "refit_flip_rate", "mean_spell_days",
                "names", "eligible", "chosen"):
        assert col in table
    assert table.chosen.sum() == int(table.eligible.any())  # one is chosen whenever one is eligible


def _table(rows: list[dict]) -> pd.DataFrame:
    base = {"n_states": 3, "oos_loglik": -10.0, "eligible": True, "wf_final_agreement": 0.9, "seed_agreement": 1.0}
    return pd.DataFrame([{**base, **r} for r in rows])


def test_choice_rule_on_literal_tables():
    # The unstable candidate has the best likelihood but is not eligible.
    t = _table([{"n_states": 2, "oos_loglik": -11.0}, {"n_states": 4, "oos_loglik": -9.0, "eligible": False},
                {"n_states": 3, "oos_loglik": -10.0}])
    assert choose(t) == 2
    # Within the tie margin, fewer states win.
    t = _table([{"n_states": 4, "oos_loglik": -10.000}, {"n_states": 3, "oos_loglik": -10.005}])
    assert choose(t) == 1
    assert choose(_table([{"eligible": False}])) is None
