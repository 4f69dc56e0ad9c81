"""Concurrent jobs on one local sqlite store: trainings at once, a prediction during training,
promotions serialised by the store's lock, and processes opening a brand-new store together."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from contextlib import ExitStack
from pathlib import Path

import pandas as pd
import pytest

from tests.test_failure_safety import (
    REGIME,
    Store,
    champion_store,
    finish,
    registry_state,
    run_statuses,
    spawn,
    stderr_of,
    train_command,
    wait_for,
)
from training.config import MODEL_NAME, Config

pytestmark = pytest.mark.slow


def _regime(stack: ExitStack, store: Store, name: str, argv: list[str]) -> subprocess.Popen:
    """Start ``argv`` (a `regime` command) on ``store``; it is reaped when ``stack`` closes."""
    return stack.enter_context(spawn(store.root, name, argv, store.env()))


def _assert_finished_or_failed_cleanly(store: Store, name: str, code: int) -> None:
    """A job either succeeded or ended with one `error:` line and no traceback."""
    if code == 0:
        return
    err = stderr_of(store.root, name)
    lines = [ln for ln in err.strip().splitlines() if ln.startswith("error:")]
    assert code in (1, 2) and len(lines) == 1 and "Traceback" not in err, err


def test_two_trainings_and_a_prediction_at_once(tmp_path: Path) -> None:
    """Two `regime train` jobs on the same store (one with --force-promote) while `regime predict`
    reads the champion: every job finishes (or fails with one line), no run stays RUNNING, each
    version's alias follows the gate (the champion's settings on its data are no promotion, force
    always wins) and the prediction succeeds."""
    store = champion_store(tmp_path)
    before = registry_state(store)
    predicted = tmp_path / "pred.csv"
    with ExitStack() as stack:
        jobs = {"plain": _regime(stack, store, "plain", train_command(store)),
                "forced": _regime(stack, store, "forced", train_command(store, "--force-promote"))}
        deadline = time.monotonic() + 240
        while "RUNNING" not in run_statuses(store).values() and all(p.poll() is None for p in jobs.values()):
            assert time.monotonic() < deadline, "no training reached its MLflow run"
            time.sleep(0.2)
        jobs["predict"] = _regime(stack, store, "predict", [str(REGIME), "predict", "--output", str(predicted)])
        codes = {name: finish(proc) for name, proc in jobs.items()}
    assert codes["predict"] == 0, stderr_of(store.root, "predict")
    assert pd.read_csv(predicted)["date"].iloc[-1] == "2024-12-31"
    for name in ("plain", "forced"):
        _assert_finished_or_failed_cleanly(store, name, codes[name])
    assert codes["plain"] == 0 or codes["forced"] == 0
    assert "RUNNING" not in run_statuses(store).values()

    after = registry_state(store)
    client = store.client()
    aliases = {}
    for version, run_id in after.versions.items():
        if version not in before.versions:
            run = client.get_run(run_id)
            forced = run.data.params["tracking.force_promote"] == "True"
            assert run.data.tags["registry.alias"] == ("champion" if forced else "challenger")
            aliases["forced" if forced else "plain"] = version
    assert len(aliases) == (codes["plain"] == 0) + (codes["forced"] == 0)
    assert after.aliases["champion"] == aliases.get("forced", before.aliases["champion"])
    if "plain" in aliases:
        assert after.aliases["challenger"] == aliases["plain"]


#: Settings whose model passes the gate's checks on the demo market (two horizons, six folds, no extras).
QUICK_TOML = """\
[model]
horizons = [5, 21]
hmm_n_init = 1
lgbm_params = { n_estimators = 40 }

[evaluation]
initial_train = 504
step = 504
n_bootstrap = 0
baselines = false
"""

#: `regime train` that, once its gate has decided, writes $PAUSE_MARK and waits for $RELEASE to exist
#: (at most 120 s) before registering: the widest race a concurrent promotion could exploit.
PAUSED_AFTER_GATE = textwrap.dedent("""\
    import os, sys, time
    from pathlib import Path
    import training.jobs.train as job

    decide = job.decide_promotion
    def paused(*args, **kwargs):
        decision = decide(*args, **kwargs)
        Path(os.environ["PAUSE_MARK"]).write_text("decided")
        deadline = time.monotonic() + 120
        while not Path(os.environ["RELEASE"]).exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        return decision
    job.decide_promotion = paused
    from training.cli import main
    sys.argv = ["regime", *sys.argv[1:]]
    main()
""")


def test_concurrent_promotions_leave_the_newest_data_champion(tmp_path: Path) -> None:
    """Two trainings with different `--end` finish at once over a champion on older data. Training A
    (data to 2023) decides first and then holds on; B (data to 2024) must wait for A's promotion to
    complete, then compares against A and replaces it. Without the lock, B would promote itself over the
    old champion and A would then overwrite it with older data."""
    config = tmp_path / "quick.toml"
    config.write_text(QUICK_TOML)
    store = Store(tmp_path, f"sqlite:///{tmp_path}/mlflow.db", config)
    with pytest.MonkeyPatch.context() as mp:
        from training.jobs.train import run_training

        mp.setenv("MLFLOW_TRACKING_URI", store.uri)
        mp.chdir(tmp_path)
        cfg = Config.from_toml(config).replace(data={"end": "2020-12-31"}, tracking={"force_promote": True})
        assert run_training(cfg).version == "1"
    mark, release = tmp_path / "a.mark", tmp_path / "a.release"
    a_env = {**store.env(), "PAUSE_MARK": str(mark), "RELEASE": str(release)}
    with ExitStack() as stack:
        a = stack.enter_context(spawn(tmp_path, "a", [sys.executable, "-c", PAUSED_AFTER_GATE, "train", "--config",
                                                      str(config), "--end", "2023-12-29"], a_env))
        wait_for(mark, a)  # A has read the champion (v1, data to 2020) and decided to promote
        b = _regime(stack, store, "b", train_command(store, "--end", "2024-12-31"))
        deadline = time.monotonic() + 240
        while b.poll() is None and "waiting for another training's promotion" not in stderr_of(tmp_path, "b"):
            assert time.monotonic() < deadline, "training B never reached the gate"
            time.sleep(0.2)
        release.write_text("go")
        codes = {"a": finish(a), "b": finish(b)}
    assert codes == {"a": 0, "b": 0}, (stderr_of(tmp_path, "a"), stderr_of(tmp_path, "b"))
    client = store.client()
    by_end = {client.get_run(v.run_id).data.tags["data.last"]: v for v in client.search_model_versions(f"name='{MODEL_NAME}'")}
    first, older, newest = by_end["2020-12-31"], by_end["2023-12-29"], by_end["2024-12-31"]
    assert str(client.get_model_version_by_alias(MODEL_NAME, "champion").version) == str(newest.version)
    same = "same settings and the same history (its forecasts of every date the champion scored are the champion's, " \
           "sealed segment included)"
    assert older.tags["gate.reason"] == (f"refresh of champion v{first.version}: {same}; data to 2023-12-29 "
                                         "instead of 2020-12-31")
    # B decided only after A had moved the alias: it compared against A, not against the old champion
    assert newest.tags["gate.reason"] == (f"refresh of champion v{older.version}: {same}; data to 2024-12-31 "
                                          "instead of 2023-12-29")


#: Opens a store for writing the way `regime train` and `regime tune` do, then lists its models.
OPEN_STORE = ("import sys; from training.tracking.store import configure_tracking; import mlflow; "
              "configure_tracking(sys.argv[1]); print(len(mlflow.MlflowClient().search_registered_models()))")


def test_processes_opening_a_new_store_together_all_work(tmp_path: Path) -> None:
    """Three `regime predict` on a store that does not exist yet each say so and create nothing (a read command
    writes nothing); three jobs then opening it for writing at once all work, none dies creating the tables."""
    store = Store(tmp_path, f"sqlite:///{tmp_path}/mlflow.db")
    with ExitStack() as stack:
        procs = {f"p{i}": _regime(stack, store, f"p{i}", [str(REGIME), "predict"]) for i in range(3)}
        codes = {name: finish(proc) for name, proc in procs.items()}
    for name, code in codes.items():
        last = stderr_of(store.root, name).strip().splitlines()[-1]
        assert code == 2 and last.endswith("does not exist; train a model first (`regime train`), or point "
                                           "--tracking-uri at the store that holds it"), last
    assert not (tmp_path / "mlflow.db").exists()
    with ExitStack() as stack:
        procs = {f"w{i}": _regime(stack, store, f"w{i}", [sys.executable, "-c", OPEN_STORE, store.uri]) for i in range(3)}
        codes = {name: finish(proc) for name, proc in procs.items()}
    assert codes == {f"w{i}": 0 for i in range(3)}, [stderr_of(store.root, n) for n in codes]
