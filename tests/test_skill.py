"""Skill beside every forecast, and one unit for people (simple percent) wherever they read one."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from models.units import format_pct
from training.display.skill import NO_SKILL, UNKNOWN, horizon_skill, skill_line, skill_note

TEN_PERCENT = float(np.log(1.1))  # the log return of a 10% rise


def _figures(h: int, ic: tuple[float, float, float], r2: tuple[float, float, float], sealed: float) -> dict[str, float]:
    names = ("model.ic", "model.ic_lo", "model.ic_hi", "model.r2_oos", "model.r2_lo", "model.r2_hi")
    return {f"{k}.{h}d": v for k, v in zip(names, (*ic, *r2))} | {f"sealed.model.r2_mean.{h}d": sealed,
                                                                    f"no_regime.r2_oos.{h}d": 0.01}


NO_SKILL_FIGURES = _figures(5, (0.02, -0.04, 0.08), (0.001, -0.01, 0.02), -0.02) | _figures(
    21, (0.08, -0.06, 0.20), (0.025, -0.03, 0.08), -0.04)
SKILFUL_FIGURES = _figures(5, (0.2, 0.1, 0.3), (0.05, 0.02, 0.08), 0.03) | _figures(
    21, (0.08, -0.06, 0.20), (0.025, -0.03, 0.08), -0.04)


def test_an_interval_including_zero_reads_as_the_historical_drift():
    line = skill_line(NO_SKILL_FIGURES, (5, 21), ("2023-01-26", "2024-12-31"))
    assert line.endswith(NO_SKILL)
    assert "+0.025 [−0.03, +0.08]" in line and "2023-01-26 → 2024-12-31" in line and "without the regimes" in line
    assert skill_note(NO_SKILL_FIGURES, 21).endswith(NO_SKILL)


def test_reliable_skill_needs_both_intervals_above_zero_and_no_sealed_loss():
    assert horizon_skill(SKILFUL_FIGURES, 5).reliable
    assert not horizon_skill(SKILFUL_FIGURES, 21).reliable
    assert not horizon_skill(_figures(5, (0.2, 0.1, 0.3), (0.05, 0.02, 0.08), -0.01), 5).reliable  # lost to the mean sealed
    line = skill_line(SKILFUL_FIGURES, (5, 21))
    assert NO_SKILL not in line and "At 21 days: no reliable skill out of sample" in line
    assert NO_SKILL not in skill_note(SKILFUL_FIGURES, 5)


def test_a_run_without_figures_says_its_skill_is_unknown():
    assert skill_line({}, (21,)) == UNKNOWN and skill_note({}, 21) == UNKNOWN


def test_a_log_return_reads_as_its_simple_percentage():
    assert format_pct(TEN_PERCENT) == "+10.0%"
    assert format_pct(float(np.log(0.8))) == "-20.0%"
    assert format_pct(float("nan")) == "–"


@pytest.fixture(scope="module")
def state(small_panel):
    from models.explain import explain_pipeline
    from models.pipeline import RegimeForecastPipeline
    from training.thesis.now import current_state

    pipe = RegimeForecastPipeline(horizons=(5, 21), hmm_n_init=1, lgbm_params={"n_estimators": 60}).fit(small_panel)
    design = pipe.make_design(small_panel)
    expl = explain_pipeline(pipe, design, 21)
    state = current_state(pipe, design, expl, top=4)
    forecasts = state.forecasts.copy()
    forecasts.loc[21, ["forecast", "lo", "hi"]] = [TEN_PERCENT, float(np.log(0.8)), float(np.log(1.5))]
    state = dataclasses.replace(state, forecasts=forecasts, skill=skill_line(NO_SKILL_FIGURES, (5, 21)),
                                headline_skill=skill_note(NO_SKILL_FIGURES, 21))
    return state, design, expl


def test_now_prints_the_skill_and_simple_percentages(state, capsys):
    from training.cli.thesis import _print_now

    now, _, _ = state
    _print_now(now, "models:/m@champion")
    text = " ".join(capsys.readouterr().out.split())
    assert NO_SKILL in text and "+10.0%" in text and "-20.0% to +50.0%" in text


def test_the_report_card_and_fan_chart_carry_the_skill_and_simple_percentages(state):
    from training.thesis.report import _now_section

    now, design, _ = state
    page = _now_section(now, design.aligned)
    card = page[page.index("BTC over the next 21 business days"):page.index("Forecasts of BTC's price change")]
    assert "+10.0%" in card and "-20.0% to +50.0%" in card and NO_SKILL in card
    assert page.count(NO_SKILL) == 2  # the card, and the line under the table and fan chart


def test_contributions_in_points_add_up_to_the_simple_forecast_minus_the_baseline(state):
    from models.explain import narrative, top_drivers

    _, _, expl = state
    points = expl.points()
    simple = 100 * (np.expm1(expl.base_value + expl.values.sum(axis=1)) - np.expm1(expl.base_value))
    np.testing.assert_allclose(points.sum(axis=1), simple, atol=1e-9)
    assert ((np.sign(points) == np.sign(expl.values)) | (expl.values == 0)).all().all()
    date = expl.values.index[-1]
    top = top_drivers(expl, date, 3)
    text = narrative(expl, date)
    assert f"({top.contribution_pts.iloc[0]:+.1f} pts)" in text
    assert f"forecast {format_pct(float(expl.forecast.loc[date]))} over" in text
    assert f"baseline {format_pct(expl.base_value)})" in text


def test_families_by_regime_are_signed_with_their_days(state):
    from models.explain import families_by_regime, regime_readings

    _, _, expl = state
    regimes = pd.Series(np.where(np.arange(len(expl.values)) % 3 == 0, "fear", "calm"), index=expl.values.index)
    table = families_by_regime(expl, regimes)
    assert "regime" in table.index and (table.drop("days") < 0).any().any()
    assert table.loc["days"].to_dict() == regimes.value_counts().to_dict()
    fam = expl.by_family(points=True)
    np.testing.assert_allclose(table.loc["metals", "fear"], fam.loc[regimes == "fear", "metals"].mean())
    lines = regime_readings(table, 21)
    assert len(lines) == 2 and all(" pts " in line and "21-day forecast on average" in line for line in lines)
