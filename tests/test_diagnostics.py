"""Degenerate regime probabilities are caught, healthy ones pass."""

import numpy as np
import pandas as pd

from regime.diagnostics import degeneracy_reasons


def _frame(p_first: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"p_fear": p_first, "p_calm": 1 - p_first})


def test_healthy_probabilities_pass():
    p = np.r_[np.full(300, 0.97), np.full(200, 0.02)]
    assert degeneracy_reasons(_frame(p)) == []


def test_a_state_that_almost_never_occurs_is_flagged():
    p = np.r_[np.full(995, 0.97), np.full(5, 0.02)]  # calm wins on 0.5% of days
    reasons = degeneracy_reasons(_frame(p))
    assert len(reasons) == 1 and "p_calm" in reasons[0] and "0.5%" in reasons[0]


def test_probabilities_stuck_in_the_middle_are_flagged():
    rng = np.random.default_rng(0)
    p = rng.uniform(0.44, 0.58, 3000)  # the tuned model of issue 12
    reasons = degeneracy_reasons(_frame(p))
    assert any("middle" in r for r in reasons)


def test_warm_up_rows_are_ignored_and_empty_input_is_flagged():
    p = np.r_[np.full(10, np.nan), np.full(300, 0.97), np.full(200, 0.02)]
    assert degeneracy_reasons(_frame(p)) == []
    assert degeneracy_reasons(_frame(np.full(5, np.nan))) == ["no filtered regime probabilities to check"]
