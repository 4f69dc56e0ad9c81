"""Tuning: search space, walk-forward objective, sealed segment, shared storages, MLflow trials, --params best."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import textwrap
import time
import uuid
import warnings
from pathlib import Path

import optuna
import pytest
from mlflow import MlflowClient
from optuna.trial import FixedTrial, TrialState
from threadpoolctl import threadpool_limits

from features.errors import ConfigError
from features.sources import load_panel
from models.forecaster import DEFAULT_LGBM_PARAMS
from tests.conftest import run_cli
from training.config import Config
from training.evaluation.skill import pooled_skill, scored_dates
from training.jobs.train import evaluate
from training.tuning.objective import walk_forward_scores
from training.tuning.period import split_tuning
from training.tuning.space import (
    SEARCH_SPACE,
    TrialSeededTPESampler,
    apply_params,
    default_params,
    suggest_config,
)
from training.tuning.storage import (
    DEFAULT_STUDY,
    fail_orphaned_trials,
    join_setup,
    open_storage,
    worker_id,
)
from training.tuning.worker import best_config

REGIME = str(Path(sys.executable).with_name("regime"))
#: A small study: six years of the demo market, two folds on the tuning period, one horizon.
SMALL = ["--start", "2017-01-01", "--end", "2022-12-31", "--initial-train", "504", "--step", "252", "-H", "21",
         "--sealed-days", "252"]


@pytest.fixture
def tiny() -> Config:
    """The configuration ``SMALL`` gives a trial (before the search space is applied)."""
    return Config().replace(
        data={"start": "2017-01-01", "end": "2022-12-31"},
        model={"horizons": (21,), "hmm_n_init": 1},
        evaluation={"initial_train": 504, "step": 252, "baselines": False, "n_bootstrap": 0, "sealed_days": 252},
    )


def _journal(path: Path) -> optuna.storages.BaseStorage:
    return open_storage(str(path), create=False)


@pytest.fixture
def postgres():
    """(URL, storage with a 1 s heartbeat, fresh study name) on the test PostgreSQL; skips where there is none."""
    url = os.environ.get("REGIME_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("REGIME_TEST_POSTGRES_URL is unset: `source .ci/postgres.sh` starts a test PostgreSQL")
    try:
        storage = open_storage(url, heartbeat_interval=1, grace_period=2)
    except ConfigError as exc:
        pytest.skip(f"the PostgreSQL of REGIME_TEST_POSTGRES_URL is unreachable: {exc}")
    name = f"test-{uuid.uuid4().hex[:8]}"
    yield url, storage, name
    if name in {s.study_name for s in optuna.get_all_study_summaries(storage)}:
        optuna.delete_study(study_name=name, storage=storage)
    storage.engine.dispose()


def _workers(tmp_path: Path, n: int, *args: str) -> list[subprocess.CompletedProcess]:
    """Run ``n`` `regime tune` processes at once on a fresh MLflow store in ``tmp_path``."""
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path}/mlflow.db"}
    procs = [subprocess.Popen([REGIME, "tune", *SMALL, *args], cwd=tmp_path, env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(n)]
    done = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        done.append(subprocess.CompletedProcess(p.args, p.returncode, out, err))
    return done


def _assert_shared(study: optuna.Study, trials_each: int, n_workers: int) -> None:
    trials = study.get_trials(deepcopy=False)
    assert sorted(t.number for t in trials) == list(range(trials_each * n_workers))
    assert all(t.state == TrialState.COMPLETE for t in trials)
    assert len({json.dumps(t.params, sort_keys=True) for t in trials}) == len(trials), "a configuration ran twice"
    by_worker: dict[str, int] = {}
    for t in trials:
        by_worker[t.user_attrs["worker"]] = by_worker.get(t.user_attrs["worker"], 0) + 1
    assert sorted(by_worker.values()) == [trials_each] * n_workers


# -- search space and sampler ------------------------------------------------------------------
def test_search_space_contains_the_defaults_and_round_trips():
    base = Config()
    params = default_params(base)
    assert set(params) == set(SEARCH_SPACE)
    back = apply_params(base, params)
    assert back.features == base.features and back.model.n_states == base.model.n_states
    assert back.model.lgbm_params == {k: DEFAULT_LGBM_PARAMS[k] for k, p in SEARCH_SPACE.items() if p.section == "lgbm"}


def test_a_study_of_settings_no_longer_searched_is_refused(tiny):
    from features.errors import ConfigError

    with pytest.raises(ConfigError, match="regime_window.*no longer searches"):
        apply_params(tiny, {**default_params(tiny), "regime_window": 63})


def test_suggest_config_sets_every_searched_setting(tiny):
    params = {**default_params(tiny), "lead_lags": "42,84", "subsample": 0.6}
    cfg = suggest_config(FixedTrial(params), tiny)
    assert cfg.features.lead_lags == (42, 84) and cfg.features.regime_window == tiny.features.regime_window
    assert cfg.model.n_states == tiny.model.n_states  # the regime structure is chosen by `regime regimes`, not tuned
    assert cfg.model.lgbm_params["subsample"] == 0.6
    assert cfg.model.horizons == (21,) and cfg.evaluation == tiny.evaluation  # not searched: kept


def _draws(study: optuna.Study, n: int) -> list[dict]:
    study.optimize(lambda t: suggest_config(t, Config()).model.lgbm_params["learning_rate"], n_trials=n)
    return [t.params for t in study.trials]


def test_sampler_is_reproducible_and_gives_each_shared_trial_its_own_draws():
    one = _draws(optuna.create_study(direction="maximize", sampler=TrialSeededTPESampler(3)), 12)
    two = _draws(optuna.create_study(direction="maximize", sampler=TrialSeededTPESampler(3)), 12)
    assert one == two
    storage = optuna.storages.InMemoryStorage()
    optuna.create_study(storage=storage, study_name="s", direction="maximize")
    workers = [optuna.load_study(study_name="s", storage=storage, sampler=TrialSeededTPESampler(3)) for _ in range(2)]
    first = [w.ask() for w in workers]  # both start at once, as two fresh processes would
    drawn = [suggest_config(t, Config()) for t in first]
    assert first[0].number != first[1].number and drawn[0] != drawn[1]


# -- objective and sealed segment ----------------------------------------------------------------
def test_walk_forward_scores_end_at_the_training_skill(small_panel, tiny):
    cfg = tiny.replace(model={"horizons": (5, 21), "lgbm_params": {"n_estimators": 60}})
    with threadpool_limits(limits=1):  # as in a tuning worker (KMeans threads only contend here)
        scores = list(walk_forward_scores(cfg, small_panel))
        _, result, _, _ = evaluate(cfg, small_panel)
    assert [s.done for s in scores] == list(range(1, len(result.folds) + 1))
    assert scores[0].cum_score == pytest.approx(scores[0].fold_score)
    skill = pooled_skill(result.predictions, "model", scored_dates(result.predictions))
    assert scores[-1].cum_score == pytest.approx(skill, abs=1e-12)


def test_walk_forward_scores_stop_when_the_hook_raises(small_panel, tiny):
    seen = []

    def prune(score):
        seen.append(score.done)
        raise optuna.TrialPruned("stop")

    with pytest.raises(optuna.TrialPruned):
        walk_forward_scores(tiny, small_panel, on_score=prune)
    assert seen == [1]  # the walk-forward stops at the first fold


def _sealed(cfg: Config, days: int) -> Config:
    return cfg.replace(evaluation={"sealed_days": days})


def test_the_sealed_segment_is_cut_off_before_tuning_and_checked(small_panel, tiny):
    data = split_tuning(small_panel, tiny)
    assert data.tuning.index.max() < data.sealed_start <= data.full.index.max()
    assert data.seen_to == data.tuning.index.max().date().isoformat()
    assert (data.full.index >= data.sealed_start).sum() >= 252  # business days; the panel has weekends too
    assert split_tuning(small_panel, _sealed(tiny, 0)).sealed_start is None
    with pytest.raises(ConfigError, match="at least 126"):
        split_tuning(small_panel, _sealed(tiny, 20))
    with pytest.raises(ConfigError, match="lower --sealed-days"):
        split_tuning(small_panel, _sealed(tiny, 1200))


# -- storages, studies, errors -----------------------------------------------------------------
def test_user_facing_errors_are_one_line_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="must be 'best'"):
        best_config(Config(), "worst", None, None)
    with pytest.raises(ConfigError, match="no tuning journal"):
        best_config(Config(), "best", None, str(tmp_path / "missing.log"))
    with pytest.raises(ConfigError, match="cannot open tuning storage foo://x"):
        open_storage("foo://x")
    with pytest.raises(ConfigError, match="cannot open tuning storage") as exc:
        open_storage("postgresql://someone:secret@127.0.0.1:1/optuna")
    assert "secret" not in str(exc.value) and "\n" not in str(exc.value)
    journal = tmp_path / "j.log"
    optuna.create_study(study_name="empty", storage=open_storage(str(journal)))
    with pytest.raises(ConfigError, match="no tuning study 'other'"):
        best_config(Config(), "best", "other", str(journal))
    with pytest.raises(ConfigError, match="no complete trial"):
        best_config(Config(), "best", "empty", str(journal))


def test_a_study_refuses_workers_with_other_data(tmp_path):
    study = optuna.create_study(study_name="s", storage=open_storage(str(tmp_path / "j.log")))
    setup = {"data_fingerprint": "abc", "sealed_start": "2023-01-02", "base": {"model": {"n_states": 3}},
             "data": {"data_dir": "../shared/data"}}
    join_setup(study, setup)
    join_setup(study, {**setup, "data": {"data_dir": "/abs/shared/data"}})  # the same data by another path
    with pytest.raises(ConfigError, match="other data fingerprint"):
        join_setup(study, {**setup, "data_fingerprint": "xyz"})
    with pytest.raises(ConfigError, match="other sealed start"):
        join_setup(study, {**setup, "sealed_start": "2022-01-03"})


def test_a_trial_of_a_killed_journal_worker_is_marked_failed(tmp_path):
    journal = tmp_path / "j.log"
    crash = textwrap.dedent(f"""
        import os, signal, optuna
        from training.tuning.storage import open_storage, worker_id
        study = optuna.create_study(study_name="s", storage=open_storage({str(journal)!r}))
        trial = study.ask()
        trial.set_user_attr("worker", worker_id())
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    assert subprocess.run([sys.executable, "-c", crash], timeout=120).returncode == -signal.SIGKILL
    study = optuna.load_study(study_name="s", storage=_journal(journal))
    alive = study.ask()
    alive.set_user_attr("worker", worker_id())  # this process: still running, left alone
    assert fail_orphaned_trials(study) == [0]
    assert [t.state for t in study.trials] == [TrialState.FAIL, TrialState.RUNNING]


# -- end to end ----------------------------------------------------------------------------------
def _printed_command(out: str) -> list[str]:
    """The `regime train ...` command `regime tune` printed, as arguments after `regime`."""
    line = next(ln for ln in out.splitlines() if "`regime train --params best" in ln)
    return shlex.split(line.split("`")[1])[1:]


def test_tune_end_to_end_then_params_best_reproduces_the_best_trial(mlflow_store, monkeypatch, capsys, tiny):
    code, out, err = run_cli(["tune", "--trials", "3", *SMALL], monkeypatch, capsys)
    assert code == 0, err
    assert "Best parameters" in out and "sealed segment" in out
    command = _printed_command(out)
    assert command == ["train", "--params", "best", "--source", "demo", "--start", "2017-01-01", "--end", "2022-12-31",
                       "--initial-train", "504", "--step", "252", "--sealed-days", "252"]
    study = optuna.load_study(study_name=DEFAULT_STUDY, storage=_journal(Path("mlruns/optuna-journal.log")))
    assert [t.number for t in study.trials] == [0, 1, 2]
    assert study.trials[0].user_attrs["role"] == "default"
    best = study.best_trial
    assert str(best.number) in study.user_attrs["sealed_score"]
    setup = study.user_attrs["setup"]
    assert setup["data"]["seen_to"] < setup["sealed_start"] and setup["data"]["source"] == "demo"

    client = MlflowClient()
    runs = client.search_runs([client.get_experiment_by_name("btc-regime-tuning").experiment_id])
    parent = next(r for r in runs if "mlflow.parentRunId" not in r.data.tags)
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert parent.data.tags["optuna.study"] == DEFAULT_STUDY and len(children) == 3
    assert parent.data.tags["sealed.start"] == setup["sealed_start"]
    child = next(r for r in children if r.data.tags["optuna.trial"] == str(best.number))
    assert child.data.params["lead_lags"] == str(best.params["lead_lags"])
    assert child.data.metrics["score"] == pytest.approx(best.value)
    assert len(client.get_metric_history(child.info.run_id, "cum_score")) == len(best.intermediate_values)
    arts = {a.path for a in client.list_artifacts(parent.info.run_id, "study")}
    assert {"study/best_trial.json", "study/optimization_history.png", "study/param_importances.png"} <= arts

    tuned = Config.from_dict(best.user_attrs["config"])
    cfg, origin = best_config(Config(), "best", None, None)
    assert cfg.model == tuned.model and cfg.features == tuned.features and cfg.data == Config().data
    assert origin.fingerprint == setup["data_fingerprint"] and origin.seen_to == setup["data"]["seen_to"]
    data = split_tuning(load_panel(tuned.data), tuned)
    *_, last = walk_forward_scores(tuned, data.tuning)
    assert last.cum_score == best.value  # the stored configuration reproduces the trial exactly

    # other data than the study's: refused before any run, naming both and the command that fits
    code, _, err = run_cli(["train", "--params", "best", "--no-register"], monkeypatch, capsys)
    assert code == 2 and "Traceback" not in err, err
    line = err.strip().splitlines()[-1]
    assert line.startswith("error: study 'btc-regime' was tuned on demo data 2017-01-01 → 2022-12-31") and \
        "not on this training's demo data 2013-01-01 → 2024-12-31" in line and " ".join(command) in line, line

    seen = {}
    monkeypatch.setattr("training.jobs.train.run_training",
                        lambda c, reporter=None, tuned=None: seen.update(cfg=c, tuned=tuned))
    monkeypatch.setattr("training.display.console.print_training_result", lambda *a: None)
    code, _, err = run_cli([*command, "--no-register"], monkeypatch, capsys)  # the printed command, as printed
    assert code == 0, err
    assert seen["cfg"].model == tuned.model and seen["cfg"].features == tuned.features
    assert seen["cfg"].data == tuned.data and seen["cfg"].evaluation.sealed_days == 252
    assert seen["tuned"].study == DEFAULT_STUDY and seen["tuned"].trial == best.number


@pytest.mark.slow
def test_a_model_tuned_on_its_sealed_segment_is_refused_by_the_gate(mlflow_store, monkeypatch, capsys):
    """A study that saw the whole history (--sealed-days 0) cannot give a champion judged on its last year."""
    unsealed = [a if a != "252" or SMALL[i - 1] != "--sealed-days" else "0" for i, a in enumerate(SMALL)]
    code, out, err = run_cli(["tune", "--trials", "2", *unsealed], monkeypatch, capsys)
    assert code == 0, err
    command = _printed_command(out)
    assert "--sealed-days" in command and command[command.index("--sealed-days") + 1] == "0"
    command[command.index("--sealed-days") + 1] = "252"  # judged on the last year, which the study saw
    code, out, err = run_cli([*command, "--n-bootstrap", "0", "--no-baselines"], monkeypatch, capsys)
    assert code == 0, err
    assert "as @challenger: not promoted" in out and "blocked: tuned on the data it is judged on" in out, out
    version = MlflowClient().get_model_version_by_alias("btc-forward-return", "challenger")
    assert version.tags["gate.decision"] == "challenger" and version.tags["tuning.study"] == DEFAULT_STUDY
    assert "tuned on the data it is judged on" in version.description


@pytest.mark.slow
def test_two_journal_workers_share_one_study(tmp_path):
    for proc in _workers(tmp_path, 2, "--trials", "2"):
        assert proc.returncode == 0, proc.stderr
    study = optuna.load_study(study_name=DEFAULT_STUDY, storage=_journal(tmp_path / "mlruns" / "optuna-journal.log"))
    _assert_shared(study, trials_each=2, n_workers=2)


@pytest.mark.slow
def test_two_postgres_workers_share_one_study(tmp_path, postgres):
    url, storage, name = postgres
    for proc in _workers(tmp_path, 2, "--trials", "2", "--storage", url, "--study", name):
        assert proc.returncode == 0, proc.stderr
    _assert_shared(optuna.load_study(study_name=name, storage=storage), trials_each=2, n_workers=2)


@pytest.mark.slow
def test_ctrl_c_keeps_finished_trials_and_exits_130(tmp_path):
    journal = tmp_path / "mlruns" / "optuna-journal.log"
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path}/mlflow.db"}
    # the whole demo market: ~20 folds a trial, so the interrupt lands inside one
    proc = subprocess.Popen([REGIME, "tune", "--trials", "500", "-H", "21"], cwd=tmp_path, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(1)
        if journal.exists():
            study = optuna.load_study(study_name=DEFAULT_STUDY, storage=_journal(journal))
            if study.get_trials(states=(TrialState.COMPLETE,)):
                break
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Best parameters" in out and "interrupted" in err
    states = [t.state for t in optuna.load_study(study_name=DEFAULT_STUDY, storage=_journal(journal)).trials]
    assert TrialState.COMPLETE in states and TrialState.RUNNING not in states


@pytest.mark.slow
def test_a_stale_postgres_trial_is_failed_and_queued_again(postgres):
    url, storage, name = postgres
    worker = textwrap.dedent(f"""
        import time, optuna
        from training.tuning.storage import open_storage

        def hang(trial):
            trial.suggest_float("x", 0, 1)
            time.sleep(600)

        storage = open_storage({url!r}, heartbeat_interval=1, grace_period=2)
        optuna.create_study(study_name={name!r}, storage=storage).optimize(hang, n_trials=1)
    """)
    proc = subprocess.Popen([sys.executable, "-c", worker])
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not _running(storage, name):
            time.sleep(1)
    finally:
        proc.kill()  # the worker dies mid-trial, without a word
        proc.wait(timeout=30)
    time.sleep(4)  # > grace period
    study = optuna.load_study(study_name=name, storage=storage)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)
    trials = study.get_trials()
    assert [t.state for t in trials] == [TrialState.FAIL, TrialState.WAITING]
    assert trials[1].params == trials[0].params and trials[1].system_attrs["failed_trial"] == 0


def _running(storage: optuna.storages.BaseStorage, name: str) -> bool:
    try:
        return bool(optuna.load_study(study_name=name, storage=storage).get_trials(states=(TrialState.RUNNING,)))
    except KeyError:
        return False
