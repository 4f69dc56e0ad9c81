"""Concurrent jobs on one local sqlite store: trainings at once, a prediction during training,
and processes opening a brand-new store together."""

from __future__ import annotations

import subprocess
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
)

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
    version's alias follows the gate (an equal score never beats the champion, force always wins)
    and the prediction succeeds."""
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


def test_processes_opening_a_new_store_together_all_work(tmp_path: Path) -> None:
    """Three `regime predict` started at once on a store that does not exist yet: each one gets the
    same clean answer (no model registered), none dies creating the database tables."""
    store = Store(tmp_path, f"sqlite:///{tmp_path}/mlflow.db")
    with ExitStack() as stack:
        procs = {f"p{i}": _regime(stack, store, f"p{i}", [str(REGIME), "predict"]) for i in range(3)}
        codes = {name: finish(proc) for name, proc in procs.items()}
    for name, code in codes.items():
        last = stderr_of(store.root, name).strip().splitlines()[-1]
        assert code == 2 and last.startswith("error: cannot load model 'models:/btc-forward-return@champion'"), last
