"""regime.memory and models.history: how long the regime filter remembers its start, and a served
answer that equals the full history's or is refused with how much history is needed."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from features.errors import DataError
from models.history import first_exact_row, history_needed, recent_history
from models.pipeline import RegimeForecastPipeline
from regime.memory import filter_memory, rows_to_forget

FAST = {"hmm_n_init": 1, "lgbm_params": {"n_estimators": 40}}


class SmoothingEngine:
    """A filter with a known memory: p_t = a p_{t-1} + (1 - a) x_t from p_0 = 1/2, so two starts
    differ by (1/2 - p) a^k after k rows and agree within tol after ceil(log(tol) / log(a)) rows."""

    def __init__(self, a: float) -> None:
        self.a = a

    def filter_state_proba(self, X: pd.DataFrame) -> pd.DataFrame:
        p, out = 0.5, []
        for x in X["x"].to_numpy():
            p = self.a * p + (1 - self.a) * x
            out.append(p)
        return pd.DataFrame({"state_0": out, "state_1": 1 - np.array(out)}, index=X.index)


def test_rows_to_forget() -> None:
    full = np.zeros((5, 2))
    assert rows_to_forget(full, full) == 0
    assert rows_to_forget(full, full + np.array([[1], [1], [0], [0], [0]]) * 1e-3) == 2
    assert rows_to_forget(full, full + 1e-3) is None  # still different at the end: not forgotten


@pytest.mark.parametrize("a", [0.5, 0.8, 0.9])
def test_filter_memory_recovers_a_known_memory(a: float) -> None:
    """Any engine with filter_state_proba: the measured memory is the known one (within the stride), times the margin.

    Restarted at row s, the filter differs from the full run by |1/2 - p_{s-1}| a^(k+1) after k more rows."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x": np.r_[np.zeros(40), rng.integers(0, 2, 960)].astype(float)})
    p = SmoothingEngine(a).filter_state_proba(X)["state_0"].to_numpy()
    truth = max(max(0, math.ceil(math.log(1e-9 / abs(0.5 - p[s - 1])) / math.log(a))) for s in range(1, len(p) - 100))
    got = filter_memory(SmoothingEngine(a), X, tol=1e-9, margin=1.0)
    assert truth - 12 <= got <= truth + 1
    assert filter_memory(SmoothingEngine(a), X, tol=1e-9) == math.ceil(2.0 * got)


class FirstRowEngine:
    """A filter that never forgets: every row's answer is the first row's observation."""

    def filter_state_proba(self, X: pd.DataFrame) -> pd.DataFrame:
        first = float(X["x"].iloc[0])
        return pd.DataFrame({"state_0": first, "state_1": 1 - first}, index=X.index)


def test_a_filter_that_never_forgets_needs_the_whole_history() -> None:
    X = pd.DataFrame({"x": np.r_[1.0, np.zeros(299)]})
    assert filter_memory(FirstRowEngine(), X) == len(X)


@pytest.fixture(scope="module")
def fitted(small_panel) -> RegimeForecastPipeline:
    return RegimeForecastPipeline(horizons=(5, 21), **FAST).fit(small_panel)


def test_the_full_fit_stores_its_memory_and_refits_do_not(fitted, small_panel) -> None:
    """The memory is measured when the chain is fitted on every row (the chain that is served)."""
    assert 0 < fitted.regime_memory_ < 252
    design = fitted.make_design(small_panel)
    refit = RegimeForecastPipeline(horizons=(5, 21), **FAST).fit_design(design, cutoff=len(design.index) - 100)
    assert refit.regime_memory_ is None
    no_regime = RegimeForecastPipeline(horizons=(5,), use_regime=False, **FAST).fit(small_panel)
    assert no_regime.regime_memory_ == 0


def test_the_memory_covers_every_start_row(fitted, small_panel) -> None:
    """Against the truth: the filter restarted at every row agrees with the full run after fewer rows than the stored figure."""
    design = fitted.make_design(small_panel)
    obs = design.regime_obs.iloc[design.first_complete():].dropna()
    engine = fitted.regime_
    full = engine.filter_state_proba(obs).to_numpy()
    rows = [rows_to_forget(full[s:s + 120], engine.filter_state_proba(obs.iloc[s:s + 120]).to_numpy())
            for s in range(1, len(obs) - 120, 2)]
    assert None not in rows and 0 < max(rows) <= fitted.regime_memory_


def test_answers_on_a_shorter_history_equal_the_full_history_exactly(fitted, small_panel) -> None:
    """Whatever day the history starts, every row answered with exact=True equals the full-history answer
    bit for bit; without the rule, rows near the start differ."""
    full = fitted.predict(small_panel).set_index("date")
    differed = 0.0
    for start in pd.date_range("2018-01-01", "2021-01-01", periods=7).normalize():
        short = small_panel.loc[start:]
        got = fitted.predict(short, exact=True).set_index("date")
        assert len(got) and got.index[0] >= start
        pd.testing.assert_frame_equal(got, full.loc[got.index], check_exact=True)
        loose = fitted.predict(short).set_index("date")
        numeric = [c for c in loose.columns if c != "regime"]
        differed = max(differed, float((loose[numeric] - full.loc[loose.index, numeric]).abs().max().max()))
    assert differed > 0  # the rule is what makes them equal: rows near a history's start do differ


def test_a_history_too_short_is_refused_with_how_much_is_needed(fitted, small_panel) -> None:
    needed = history_needed(fitted)
    days = pd.bdate_range(end=small_panel.index[-1], periods=needed)
    assert len(fitted.predict(small_panel.loc[days[0]:], exact=True)) >= 1
    short = small_panel.loc[days[40]:]
    with pytest.raises(DataError, match=rf"too little history for an exact answer: .*send at least {needed} business days"):
        fitted.predict(short, exact=True)


def test_a_warm_update_is_exact_or_refused(fitted, small_panel) -> None:
    full = fitted.predict(small_panel).set_index("date")
    last = fitted.predict(small_panel, last=5, exact=True).set_index("date")
    pd.testing.assert_frame_equal(last, full.iloc[-5:], check_exact=True)
    design = fitted.make_design(small_panel)
    answerable = len(design.index) - first_exact_row(fitted, design)
    with pytest.raises(DataError, match=f"the last {answerable + 1} rows"):
        fitted.predict(small_panel, last=answerable + 1, exact=True)


@pytest.mark.parametrize("rows", [1, 5])
def test_a_warm_update_reads_only_the_history_it_needs(fitted, small_panel, rows) -> None:
    """The recent part of the history answers the last rows exactly, so a warm update's cost does not
    grow with the history sent; its answer is that of the whole history, bit for bit."""
    part = recent_history(fitted, small_panel, rows)
    assert len(part) < len(small_panel)
    design = fitted.make_design(part, min_rows=0, tail=rows)
    assert first_exact_row(fitted, design) <= len(design.index) - rows
    full = fitted.predict(small_panel).set_index("date")
    for history in (part, small_panel):
        got = fitted.predict(history, last=rows, exact=True).set_index("date")
        pd.testing.assert_frame_equal(got, full.iloc[-rows:], check_exact=True)
