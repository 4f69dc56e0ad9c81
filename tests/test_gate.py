"""The champion gate: the sealed segment, the squared-error comparison, the blocking checks, the rule,
the promotion lock, and placebos it must refuse."""

from __future__ import annotations

import fcntl

import numpy as np
import pandas as pd
import pytest

from features.errors import ConfigError
from models.pipeline import RegimeForecastPipeline
from tests.conftest import SEED
from tests.placebo import ShuffledFeatures
from features.demo import generate_demo_market
from tests.test_registry import QUICK
from training.config import Config
from training.evaluation.sealed import sealed_start
from training.evaluation.skill import (
    dm_less,
    loss_differential,
    pooled_skill,
    scored_dates,
    segment_scores,
    skill_by_horizon,
)
from training.jobs import train as train_job
from training.promotion import gate
from training.promotion.champion import FOLD_KEYS, ChampionRecord
from training.promotion.checks import blocking_reasons, forecast_spread
from training.promotion.gate import Candidate, compare, decide_promotion
from training.promotion.lineage import history_change
from training.promotion.lock import choose_lock, lock_path, promotion_lock
from training.promotion.origin import TuningOrigin
from training.tracking.fingerprint import recipe_fingerprint

HORIZONS = (5, 21)
DATES = pd.bdate_range("2015-01-01", periods=1200)
SEALED = DATES[800]


def _market(seed: int = SEED) -> tuple[dict[int, pd.Series], dict[int, pd.Series]]:
    """Realised h-day returns (overlapping sums of daily noise, the last h unrealised) and a signal that knows half of them."""
    rng = np.random.default_rng(seed)
    daily = pd.Series(rng.normal(0.001, 0.02, len(DATES) + 63), index=pd.bdate_range(DATES[0], periods=len(DATES) + 63))
    realized, signal = {}, {}
    for h in HORIZONS:
        fwd = daily.rolling(h).sum().shift(-h).reindex(DATES)
        fwd.iloc[-h:] = np.nan
        realized[h] = fwd
        signal[h] = 0.5 * fwd.fillna(0.0) + rng.normal(0, 0.01 * np.sqrt(h), len(DATES))
    return realized, signal


def _predictions(forecasts: dict[int, pd.Series], realized: dict[int, pd.Series]) -> dict[int, pd.DataFrame]:
    """Walk-forward-like prediction frames: realised, model, expanding mean, folds of 100 days."""
    return {h: pd.DataFrame({"realized": realized[h], "model": forecasts[h], "expanding_mean": 0.001 * h,
                             "fold": np.arange(len(DATES)) // 100}, index=DATES) for h in HORIZONS}


@pytest.fixture(autouse=True)
def own_store(tmp_path, monkeypatch):
    """Every test works in its own folder and store: nothing opens MLflow's default store in the working folder."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/own/mlflow.db")
    yield
    assert not (tmp_path / "mlruns").exists()


@pytest.fixture(scope="module")
def market():
    realized, signal = _market()
    noise = {h: pd.Series(np.random.default_rng(1).normal(0.001 * h, 0.01 * np.sqrt(h), len(DATES)), index=DATES)
             for h in HORIZONS}
    return realized, signal, noise


# -- skill and the loss differential ----------------------------------------------------------------
def test_skill_is_r2_against_the_zero_forecast_on_common_dates(market):
    realized, signal, _ = market
    perfect = _predictions({h: realized[h].fillna(0.0) for h in HORIZONS}, realized)
    dates = scored_dates(perfect)
    assert len(dates) == len(DATES) - max(HORIZONS)  # every horizon realised: the 21-day tail drops out for all
    assert pooled_skill(perfect, "model", dates) == pytest.approx(1.0)
    zero = _predictions({h: pd.Series(0.0, index=DATES) for h in HORIZONS}, realized)
    assert skill_by_horizon(zero, "model", dates) == {5: pytest.approx(0.0), 21: pytest.approx(0.0)}
    table = segment_scores(_predictions(signal, realized), dates)
    assert list(table.horizon) == [5, 21] and (table.n == len(dates)).all()
    assert (table.r2_zero > 0.2).all() and (table.mse < table.mse_zero).all() and (table.ic > 0.3).all()


def test_the_mean_loss_differential_is_the_skill_difference(market):
    realized, signal, noise = market
    both = {h: _predictions(signal, realized)[h].assign(champion=noise[h]) for h in HORIZONS}
    dates = scored_dates(both, ("model", "champion"))
    d = loss_differential(both, "model", "champion", dates)
    assert d.mean() == pytest.approx(pooled_skill(both, "champion", dates) - pooled_skill(both, "model", dates))


def test_the_one_sided_dm_test_favours_only_a_lower_loss():
    rng = np.random.default_rng(SEED)
    better = rng.normal(-0.3, 1.0, 500)
    stat, p = dm_less(better, 5)
    assert stat < 0 and p < 0.01
    assert dm_less(-better, 5)[1] > 0.99
    assert np.isnan(dm_less(np.zeros(100), 5)[1]) and np.isnan(dm_less(better[:5], 5)[1])
    # overlap: a differential smoothed over 21 days is less significant with 21 lags than with 1
    smooth = pd.Series(better).rolling(21, min_periods=1).mean().to_numpy()
    assert dm_less(smooth, 21)[1] > dm_less(smooth, 1)[1]


@pytest.mark.parametrize("horizon", [5, 63])
def test_under_the_null_the_test_rejects_about_as_often_as_it_should(horizon):
    """Two years of overlapping h-day losses with equal means: about 5% of draws look significant at 5%."""
    rng = np.random.default_rng(SEED)
    daily = rng.normal(0, 1, (400, 441 + horizon - 1))
    d = np.apply_along_axis(lambda x: np.convolve(x, np.ones(horizon) / horizon, mode="valid"), 1, daily)
    rejected = np.mean([dm_less(row, horizon)[1] < 0.05 for row in d])
    assert 0.02 < rejected < 0.09


# -- the sealed segment -----------------------------------------------------------------------------
def test_the_sealed_segment_is_the_last_business_days_and_must_fit(small_panel):
    cfg = Config().replace(model={"horizons": (5, 21)}, evaluation={"initial_train": 504, "sealed_days": 252})
    design = RegimeForecastPipeline(horizons=(5, 21)).make_design(small_panel)
    start = sealed_start(design, cfg)
    assert start == design.index[-252] and (design.index >= start).sum() == 252
    assert sealed_start(design, cfg.replace(evaluation={"sealed_days": 0})) is None
    with pytest.raises(ConfigError, match="at least 126"):
        sealed_start(design, cfg.replace(evaluation={"sealed_days": 60}))
    with pytest.raises(ConfigError, match="before the first walk-forward test date"):
        sealed_start(design, cfg.replace(evaluation={"sealed_days": 1400}))
    with pytest.raises(ConfigError, match="sealed_days"):
        Config().replace(evaluation={"sealed_days": -1})


# -- blocking checks --------------------------------------------------------------------------------
class _Regime:
    """A stand-in for a fitted chain: only its regime probabilities matter to the checks."""

    def __init__(self, p_first: np.ndarray) -> None:
        self.regime_ = object()
        self._p = p_first

    def regime_state_proba(self, design):
        return pd.DataFrame({"state_0": self._p, "state_1": 1 - self._p})


HEALTHY = _Regime(np.r_[np.full(600, 0.95), np.full(600, 0.03)])


def test_a_sound_candidate_passes_every_check(market):
    realized, signal, _ = market
    assert blocking_reasons(HEALTHY, None, _predictions(signal, realized), SEALED, SEALED) == []


def test_broken_candidates_are_blocked_with_the_reason(market):
    realized, signal, noise = market
    stuck = _Regime(np.random.default_rng(0).uniform(0.45, 0.55, 1200))
    reasons = blocking_reasons(stuck, None, _predictions(signal, realized), SEALED, SEALED)
    assert len(reasons) == 1 and reasons[0].startswith("degenerate regime model: probabilities stay in the middle")

    per_fold = {h: pd.Series(0.002 * h, index=DATES) + (np.arange(len(DATES)) // 100) * 1e-4 for h in HORIZONS}
    flat = _predictions(per_fold, realized)  # moves only between refits
    assert forecast_spread(flat) == {5: pytest.approx(0.0, abs=1e-12), 21: pytest.approx(0.0, abs=1e-12)}
    assert any(r.startswith("nearly constant forecasts: within-fold spread 5d 0.00%")
               for r in blocking_reasons(HEALTHY, None, flat, SEALED, SEALED))

    wild = _predictions({h: noise[h] * 5 for h in HORIZONS}, realized)
    (reason,) = blocking_reasons(HEALTHY, None, wild, SEALED, SEALED)
    assert reason.startswith(f"worse than the zero forecast on the sealed segment from {SEALED.date()}: skill -")


def test_settings_tuned_on_the_dates_the_gate_judges_are_blocked(market):
    realized, signal, _ = market
    preds = _predictions(signal, realized)

    def origin(seen_to: pd.Timestamp) -> TuningOrigin:
        return TuningOrigin("s", "j.log", 3, 0.1, "abc", {"seen_to": seen_to.date().isoformat()})

    assert blocking_reasons(HEALTHY, None, preds, SEALED, SEALED, origin(DATES[799])) == []
    (reason,) = blocking_reasons(HEALTHY, None, preds, SEALED, SEALED, origin(DATES[800]))
    assert reason == (f"tuned on the data it is judged on: study 's' saw data to {SEALED.date()}, "
                      f"the gate judges from {SEALED.date()}")


# -- the rule -------------------------------------------------------------------------------------
def _candidate(forecasts, realized, last="2024-12-31", recipe="new", blocking=(), fingerprint="fp",
               source="demo") -> Candidate:
    cfg = Config().replace(data={"source": source, "data_dir": None if source == "demo" else "/data"})
    return Candidate(cfg, pd.DataFrame(), fingerprint, recipe, last, _predictions(forecasts, realized), SEALED,
                     list(blocking))


def _champion(last="2024-12-31", recipe="old", source=None) -> ChampionRecord:
    folds = {f"evaluation.{k}": str(getattr(Config().evaluation, k)) for k in FOLD_KEYS}  # the candidates' folds
    return ChampionRecord("m", "3", "run", last, "fp", recipe, source, folds)


def _frames(forecasts, realized=None) -> dict[int, pd.DataFrame]:
    """Champion forecasts as the gate reads them: ``realized`` and ``model`` per horizon."""
    return {h: pd.DataFrame({"realized": realized[h] if realized else np.nan, "model": f}) for h, f in forecasts.items()}


@pytest.fixture
def champion_is(monkeypatch):
    """Make the champion's forecasts on the candidate's data these (no registry needed)."""
    def set_forecasts(forecasts, how="re-evaluated with its own settings on this data and folds", realized=None):
        monkeypatch.setattr(gate, "champion_forecasts", lambda *args: (_frames(forecasts, realized), how))
    return set_forecasts


@pytest.fixture
def champion_logged(monkeypatch, market):
    """The champion's logged walk-forward: the signal on its data, which end five business days before the candidates'."""
    realized, signal, _ = market
    logged = {}
    for h in HORIZONS:
        own = realized[h].iloc[:-5].copy()
        own.iloc[-h:] = np.nan  # not yet realised when the champion was trained
        logged[h] = pd.DataFrame({"realized": own, "model": signal[h].iloc[:-5]})
    monkeypatch.setattr(gate, "logged_forecasts", lambda run_id: logged)
    return logged


def test_force_blocking_checks_and_the_first_champion(market, champion_is):
    realized, signal, noise = market
    forced = decide_promotion(_candidate(noise, realized, blocking=["x"]), _champion(), force=True)
    assert forced.promote and forced.reason == "promotion forced (--force-promote)" and forced.details == ("blocked: x",)
    blocked = decide_promotion(_candidate(signal, realized, blocking=["x", "y"]), None)
    assert not blocked.promote and blocked.reason == "not promoted: 2 blocking check(s) failed"
    older = decide_promotion(_candidate(signal, realized, last="2019-12-31", blocking=["x"]), _champion())
    assert older.details == ("blocked: x", "and its data end 2019-12-31, before champion v3's 2024-12-31")
    assert decide_promotion(_candidate(signal, realized), None).reason == "no champion yet; every check passed"


def test_older_data_and_the_same_recipe(market):
    realized, signal, _ = market
    older = decide_promotion(_candidate(signal, realized, last="2024-06-28"), _champion())
    assert not older.promote and "its data end 2024-06-28, before champion v3's 2024-12-31" in older.reason
    refresh = decide_promotion(_candidate(signal, realized, recipe="old"), _champion(last="2024-09-30"))
    assert refresh.promote and refresh.reason == (
        "refresh of champion v3: same settings and the same history (its forecasts of every date the champion scored "
        "are the champion's, sealed segment included); data to 2024-12-31 instead of 2024-09-30")
    same = decide_promotion(_candidate(signal, realized, recipe="old"), _champion())
    assert not same.promote and "same settings as champion v3 on data ending the same day (2024-12-31)" in same.reason


def test_a_better_model_is_promoted_with_what_was_compared(market, champion_is):
    realized, signal, noise = market
    champion_is(noise)
    d = decide_promotion(_candidate(signal, realized, last="2025-01-31"), _champion())
    assert d.promote and d.reason.startswith("beats champion v3 on the sealed segment beyond noise (p = 0.000)")
    sealed, full, data, rule = d.details
    assert sealed.startswith(f"sealed segment {SEALED.date()} → {DATES[-22].date()} (379 dates): skill +")
    assert full.startswith(f"full walk-forward {DATES[0].date()} → {DATES[-22].date()} (1179 dates)")
    assert data.startswith("newer data: to 2025-01-31 (champion v3's: 2024-12-31); champion forecasts: re-evaluated")
    assert "mean over horizons 5/21 days" in rule
    assert d.figures["gate.sealed.p_value"] < 0.05 < d.figures["gate.sealed.candidate_skill"]
    same_day = decide_promotion(_candidate(signal, realized), _champion())
    assert "newer data" not in " ".join(same_day.details) and "data end 2024-12-31, as champion v3's" in same_day.details[2]


def test_no_promotion_without_an_improvement_beyond_noise(market, champion_is):
    realized, signal, noise = market
    champion_is(signal)
    slightly = {h: signal[h] + np.random.default_rng(5).normal(0, 1e-4, len(DATES)) for h in HORIZONS}
    tie = decide_promotion(_candidate(slightly, realized), _champion())
    assert not tie.promote and tie.reason.startswith("not promoted: not better than champion v3 beyond noise on the "
                                                     "sealed segment (p = ")
    champion_is(signal, "its logged walk-forward forecasts (same data and folds)")
    same = decide_promotion(_candidate(signal, realized), _champion())  # other settings, identical forecasts
    assert same.reason.endswith("(identical losses, no test; needs p < 0.05)")
    worse = decide_promotion(_candidate(noise, realized), _champion())
    assert not worse.promote and worse.figures["gate.sealed.p_value"] > 0.95


def test_better_on_the_sealed_segment_but_worse_overall_is_no_promotion(market, champion_is):
    realized, signal, noise = market
    early = DATES < SEALED
    candidate = {h: noise[h].where(early, signal[h]) for h in HORIZONS}  # skill only on the sealed segment
    champion_is({h: signal[h].where(early, noise[h]) for h in HORIZONS})
    d = decide_promotion(_candidate(candidate, realized), _champion())
    assert not d.promote and d.reason.startswith("not promoted: worse than champion v3 on the full walk-forward")


def test_compare_uses_only_common_horizons_and_dates(market):
    realized, signal, noise = market
    preds = _predictions(signal, realized)
    sealed, full = compare(preds, _frames({21: noise[21].iloc[100:]}), SEALED)
    assert full.first == DATES[100].date().isoformat() and sealed.first == SEALED.date().isoformat()
    with pytest.raises(ValueError, match="none of the horizons"):
        compare(preds, _frames({63: noise[21]}), SEALED)


def test_the_gate_tests_with_the_overlap_of_the_longest_horizon():
    """Candidate and champion equally good, their errors overlapping like 21-day returns: the gate's test
    rejects about as often as its level says (read with lag 1, it would reject about three times as often)."""
    rng = np.random.default_rng(SEED)
    dates = pd.bdate_range("2020-01-01", periods=441)

    def overlapping(n: int) -> np.ndarray:
        return np.convolve(rng.normal(0, 0.02, n + 20), np.ones(21), mode="valid")

    rejected = []
    for _ in range(200):
        y = overlapping(len(dates))
        realized = {21: pd.Series(y, index=dates)}
        candidate = {21: pd.DataFrame({"realized": y, "model": y + overlapping(len(dates)), "fold": 0}, index=dates)}
        _, full = compare(candidate, _frames({21: pd.Series(y + overlapping(len(dates)), index=dates)}, realized), None)
        rejected.append(full.p_value < gate.GATE_ALPHA)
    assert 0.01 < np.mean(rejected) < 0.10


# -- kind of data and history -------------------------------------------------------------------------
def test_a_model_on_real_data_takes_over_from_a_demo_champion_never_the_reverse(market, champion_is):
    realized, signal, noise = market
    champion_is(signal)  # the champion would win any comparison: the kinds are never compared
    # the README's sequence: `make train` (demo), then the same settings on real data ending the same day
    real = decide_promotion(_candidate(noise, realized, recipe="old", source="csv"), _champion(recipe="old", source="demo"))
    assert real.promote and real.reason.startswith(
        "first model on real data (csv): takes over from champion v3, trained on the synthetic demo market")
    demo = decide_promotion(_candidate(signal, realized, last="2025-06-30"), _champion(source="live"))
    assert not demo.promote and demo.reason.startswith(
        "not promoted: trained on the synthetic demo market; champion v3 was trained on real data (live)")
    assert not decide_promotion(_candidate(signal, realized, source="csv", blocking=["x"]), _champion(source="demo")).promote
    assert decide_promotion(_candidate(signal, realized, source="csv"), _champion(source="csv")).reason.startswith(
        "not promoted: not better than champion v3")  # the same kind: compared as before


def test_history_change_names_what_differs_beyond_floating_point_noise(champion_logged):
    replay = {h: frame.assign(model=frame["model"] + 1e-12) for h, frame in champion_logged.items()}
    assert history_change(champion_logged, replay) is None
    replay[21].loc[DATES[300], "model"] += 0.01
    assert history_change(champion_logged, replay) == (
        "the champion's forecasts (its settings rerun on these data) differ on 1 of the champion's 1,190 walk-forward "
        f"dates (first {DATES[300].date()}; largest difference 0.01 at 21 days)")
    replay[5] = replay[5].iloc[100:]
    assert history_change(champion_logged, replay).startswith("BTC's realised returns differ on 100 of")


@pytest.mark.parametrize("placebo", ["shuffled target", "shuffled features"])
@pytest.mark.parametrize("recipe", ["old", "new"], ids=["refresh path", "other-settings path"])
def test_placebos_on_newer_data_never_become_champion(market, champion_logged, champion_is, monkeypatch, placebo,
                                                      recipe):
    """Five more days of data whose BTC returns (target) or other series (features) were shuffled: whatever their
    figures on their own data, they are not the history the champion was trained on."""
    realized, signal, noise = market
    if placebo == "shuffled target":
        target, forecasts = _market(SEED + 1)  # other returns, forecast well on the placebo's own data
    else:
        target, forecasts = realized, {h: 0.9 * signal[h] + 0.1 * noise[h] for h in HORIZONS}
    champion_is(noise, realized=target)  # the champion's settings on the placebo data: no skill there
    candidate = _candidate(forecasts, target, last="2025-01-08", recipe=recipe, fingerprint="placebo")
    d = decide_promotion(candidate, _champion(recipe="old"))
    differs = "BTC's realised returns differ" if placebo == "shuffled target" else "the champion's forecasts"
    assert not d.promote and d.reason.startswith(f"not promoted: its data are not the history champion v3 was trained "
                                                 f"on: {differs}")
    assert decide_promotion(candidate, _champion(recipe="old"), force=True).promote  # the explicit override stays
    monkeypatch.setattr(gate, "history_change", lambda *args: None)
    assert decide_promotion(candidate, _champion(recipe="old")).promote  # without the history rule: promoted


def test_a_genuine_refresh_and_a_better_model_on_extended_data_are_promoted(market, champion_logged, champion_is):
    realized, signal, _ = market
    refresh = decide_promotion(_candidate(signal, realized, last="2025-01-08", recipe="old", fingerprint="more"),
                               _champion(recipe="old"))
    assert refresh.promote and refresh.reason.endswith("data to 2025-01-08 instead of 2024-12-31")
    champion_is(signal, realized=realized)  # the champion's settings on the extended data give back its history
    sharper = {h: 0.9 * realized[h].fillna(0.0) for h in HORIZONS}
    better = decide_promotion(_candidate(sharper, realized, last="2025-01-08", fingerprint="more"), _champion())
    assert better.promote and better.reason.startswith("beats champion v3 on the sealed segment beyond noise")


# -- recipe and lock ---------------------------------------------------------------------------------
def test_the_recipe_is_the_chain_class_and_its_settings():
    base = RegimeForecastPipeline(lgbm_params={"a": 1, "b": 2})
    assert recipe_fingerprint(base) == recipe_fingerprint(RegimeForecastPipeline(lgbm_params={"b": 2, "a": 1}))
    assert recipe_fingerprint(base) != recipe_fingerprint(RegimeForecastPipeline(lgbm_params={"a": 1, "b": 3}))
    assert recipe_fingerprint(base) != recipe_fingerprint(ShuffledFeatures(**base.get_params()))


def test_the_promotion_lock_of_a_local_store_is_an_exclusive_file_lock(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    assert lock_path(uri) == tmp_path / "mlflow.db.promotion.lock"
    assert lock_path(f"file://{tmp_path}/mlruns") == tmp_path / "mlruns" / ".promotion.lock"
    assert lock_path("http://mlflow-host:5000") is None and lock_path("databricks") is None
    monkeypatch.setenv("REGIME_LOCK_URL", "postgresql://nobody@127.0.0.1:1/none")  # a local store never uses it
    lock = choose_lock(uri)
    assert lock.path == lock_path(uri) and lock.url is None
    with promotion_lock(lock, "m") as confirm:
        confirm()
        with open(lock.path, "a") as other, pytest.raises(BlockingIOError):  # another open file: another process's view
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
    with open(lock_path(uri), "a") as other:
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released at the end of the block


# -- placebos end to end ------------------------------------------------------------------------------
@pytest.mark.slow
def test_placebo_refused_and_a_genuinely_better_model_on_newer_data_promoted(tmp_path, monkeypatch):
    """A champion whose features are shuffled in time is replaced by the genuine chain trained on newer data
    (the placebo re-evaluated on those data); the placebo trained on the same newest data cannot come back.
    The market plants a strong lead (and its seed puts a fear-to-debasement episode in the sealed segment),
    so that the genuine chain is better beyond noise there."""
    cfg = QUICK.replace(evaluation={"n_bootstrap": 0, "baselines": False},
                        tracking={"tracking_uri": f"sqlite:///{tmp_path}/mlflow.db", "experiment": "test"})
    market = generate_demo_market(seed=3, lead_beta=0.15)
    newest, older = market.panel.loc["2013-01-01":], market.panel.loc["2013-01-01":"2023-12-31"]
    make_template = train_job.make_template

    def placebo(c: Config) -> ShuffledFeatures:
        return ShuffledFeatures(**make_template(c).get_params())

    with monkeypatch.context() as m:
        m.setattr(train_job, "make_template", placebo)
        first = train_job.run_training(cfg.replace(tracking={"force_promote": True}), panel=older)
    assert first.gate.promote

    genuine = train_job.run_training(cfg, panel=newest)
    assert genuine.gate.promote, genuine.gate
    assert genuine.gate.reason.startswith("beats champion v1 on the sealed segment beyond noise")
    assert "newer data: to 2024-12-31 (champion v1's: 2023-12-29); champion forecasts: re-evaluated" in genuine.gate.details[2]

    with monkeypatch.context() as m:
        m.setattr(train_job, "make_template", placebo)
        again = train_job.run_training(cfg, panel=newest)
    assert not again.gate.promote and again.blocking == []
    assert again.gate.reason.startswith("not promoted: not better than champion v2 beyond noise on the sealed segment")
    assert "its logged walk-forward forecasts (same data and folds)" in again.gate.details[2]
