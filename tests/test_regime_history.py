"""The regime labels on the real data tell the story an analyst knows, and stay put, for every window.

Walk-forward (out-of-sample) labels of the default regime model on ``../shared/data``: the
thesis's phase-one days are mostly fear, liquidation days are mostly not fear, days on which
BTC catches up with the metals while liquidity grows are mostly debasement (the rules:
:mod:`training.evaluation.regime_history`); seeds, refits and the final model agree.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.demo import generate_demo_market
from training.evaluation.regime_history import history_checks, history_days



def _chains(shared_data, **data):
    from features.sources import load_panel
    from training.config import Config
    from training.evaluation.folds import walk_forward_folds
    from training.evaluation.regime_chain import observed, regime_chain
    from training.jobs.train import make_template

    cfg = Config().replace(data={"source": "csv", "data_dir": str(shared_data), **data})
    template = make_template(cfg)
    design = template.make_design(load_panel(cfg.data))
    ev = cfg.evaluation
    folds = walk_forward_folds(len(design.index), design.first_complete(), ev.initial_train, ev.step, ev.window)
    chains = [regime_chain(design, template, folds, random_state=seed) for seed in (0, 1)]
    return design, chains, observed(design)


@pytest.fixture(scope="module")
def default_window():
    from tests.conftest import SHARED_DATA

    if not (SHARED_DATA / "btc_usd.csv").is_file():
        pytest.skip(f"real data not present at {SHARED_DATA}")
    return _chains(SHARED_DATA)


@pytest.mark.slow
@pytest.mark.realdata
def test_the_history_an_analyst_knows(default_window):
    design, chains, _ = default_window
    checks = history_checks(chains[0].oos_labels, design.aligned)
    assert checks["n_phase_one"] > 100 and checks["n_liquidation"] > 10 and checks["n_catch_up"] > 100
    assert checks["phase_one_fear"] > 0.6, checks  # mostly fear
    assert checks["liquidation_fear"] < 0.2, checks  # mostly not fear
    assert checks["catch_up_debasement"] > 0.5, checks  # mostly debasement
    labels = chains[0].oos_labels
    # The thesis's worked case: Q4 2022 metals first while BTC fell after FTX; BTC's catch-up in early 2023.
    assert (labels["2022-11-15":"2023-01-15"] == "fear").mean() > 0.6
    assert (labels["2023-02-01":"2023-04-15"] == "debasement").mean() > 0.6
    # March 2020's dash for cash is not defensive capital going into metals.
    assert (labels["2020-03-09":"2020-03-31"] == "fear").mean() < 0.2


@pytest.mark.slow
@pytest.mark.realdata
@pytest.mark.parametrize("window", [{}, {"start": "2016-01-01"}, {"end": "2022-12-31"}], ids=["default", "from-2016", "to-2022"])
def test_stable_across_seeds_refits_and_windows(shared_data, default_window, window):
    from training.evaluation.regime_quality import agreement, refit_flip_rate

    design, chains, obs = default_window if not window else _chains(shared_data, **window)
    final = chains[0].final.predict(obs)
    assert agreement(final, chains[1].final.predict(obs)) >= 0.95
    assert agreement(chains[0].oos_labels, final) >= 0.90
    assert refit_flip_rate(chains[0].fold_labels) <= 0.03
    assert {"fear", "debasement"} <= set(chains[0].final.labels_)
    shares = chains[0].oos_labels.value_counts(normalize=True)
    assert shares.max() < 0.45  # no named phase swallows half the history


def test_history_days_are_defined_from_prices_alone():
    """The sets change when the prices do, and not with anything a regime model fitted."""
    panel = generate_demo_market().panel
    from features.align import align_point_in_time

    aligned = align_point_in_time(panel)
    days = history_days(aligned)
    assert set(days) == {"phase_one", "liquidation", "catch_up"}
    assert all(d.dtype == bool for d in days.values())
    # Labelled fear on every phase-one day gives a share of 1; calm everywhere gives 0.
    labels = pd.Series(np.where(days["phase_one"], "fear", "calm"), index=aligned.index)
    assert history_checks(labels, aligned)["phase_one_fear"] == 1.0
