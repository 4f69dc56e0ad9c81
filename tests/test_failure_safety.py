"""Nothing is lost when a job dies: `regime train` and `regime data fetch` killed in a subprocess.

Kill points are stage boundaries, not guesses in seconds: the job runs the real CLI entry point
with a hook that, at the chosen point, writes a marker file (holding the active MLflow run id) and
waits; the test then sends SIGINT (Ctrl-C) or SIGKILL. Only the very first kill point (during
start-up, before any stage) is a fixed delay. This module also holds the helpers that the
concurrency and serving tests share: a fast training config, a temporary store with a champion,
and a launcher for CLI subprocesses.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from mlflow import MlflowClient

from features import cache
from features.config import DataConfig
from features.live import load_live_panel
from features.series import CORE_SERIES
from tests.conftest import REPO
from tests.test_live_sources import NOW, FakeMarket, _offline
from training.config import MODEL_NAME, Config

BIN = Path(sys.executable).parent
REGIME = BIN / "regime"

#: The fast training settings (two horizons, one HMM restart, four folds, no bootstrap, no baselines).
FAST_TOML = """\
[data]
start = "2017-01-01"
end = "2022-12-31"

[model]
horizons = [5, 21]
hmm_n_init = 1
lgbm_params = { n_estimators = 40 }

[evaluation]
initial_train = 504
step = 252
n_bootstrap = 0
baselines = false
"""

#: The `regime` entry point with a pause hook: at the stage (or call) named by $PAUSE_AT it writes
#: the active run id to $PAUSE_MARK and sleeps, so a test can kill it exactly there. Ctrl-C gets
#: Python's default handler (a background job of a non-interactive shell inherits SIGINT ignored).
HOOKED_CLI = textwrap.dedent("""\
    import os, signal, sys, time
    from pathlib import Path
    signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal, even if the parent ignores it
    import mlflow
    import training.display.console, training.jobs.train
    from training.cli import main

    def pause(where):
        if os.environ.get("PAUSE_AT") == where:
            run = mlflow.active_run()
            mark = Path(os.environ["PAUSE_MARK"])
            mark.with_suffix(".tmp").write_text(run.info.run_id if run else "-")
            mark.with_suffix(".tmp").replace(mark)
            time.sleep(600)

    stage = training.display.console.TrainProgress.stage
    def hooked_stage(self, name):
        stage(self, name)
        pause(name)
    training.display.console.TrainProgress.stage = hooked_stage
    set_alias = training.jobs.train.set_alias
    def hooked_set_alias(*args):
        pause("set_alias")
        set_alias(*args)
    training.jobs.train.set_alias = hooked_set_alias
    sys.argv = ["regime", *sys.argv[1:]]
    main()
""")

#: `regime data fetch` against the fake market of the live-source tests, pausing before the
#: $PAUSE_AT-th file replacement in the cache (the temporary file is complete, not yet renamed).
HOOKED_FETCH = textwrap.dedent("""\
    import os, sys, time
    from pathlib import Path
    sys.path.insert(0, sys.argv[1])
    from test_live_sources import FakeMarket
    from features.providers import http
    from training.cli import main

    http.fetch_text = FakeMarket(last="2024-06-14")
    root, real_replace, calls = Path(sys.argv[2]), os.replace, []
    def replace(src, dst, **kwargs):
        if Path(dst).parent == root:
            calls.append(dst)
            if len(calls) == int(os.environ["PAUSE_AT"]):
                Path(os.environ["PAUSE_MARK"]).write_text(str(dst))
                time.sleep(600)
        real_replace(src, dst, **kwargs)
    os.replace = replace
    sys.argv = ["regime", "data", "fetch", "--cache-dir", str(root)]
    main()
""")


@dataclass(frozen=True)
class Store:
    """A temporary MLflow store: its folder (the jobs' working directory), URI and the fast config file."""

    root: Path
    uri: str
    config: Path | None = None

    def env(self) -> dict[str, str]:
        """Environment of a subprocess using this store: MLFLOW_TRACKING_URI, the venv's bin first on PATH."""
        return {**os.environ, "MLFLOW_TRACKING_URI": self.uri, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}

    def client(self) -> MlflowClient:
        """A client of this store's tracking server and registry."""
        return MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)


@dataclass(frozen=True)
class RegistryState:
    """What a job must not break: registered versions (version -> run id) and aliases (alias -> version)."""

    versions: dict[str, str]
    aliases: dict[str, str]


def champion_store(root: Path) -> Store:
    """A store in ``root`` holding one model, trained in-process with :data:`FAST_TOML`, as champion
    (forced: the fast model need not pass the champion gate's checks)."""
    from training.jobs.train import run_training

    config = root / "fast.toml"
    config.write_text(FAST_TOML)
    store = Store(root, f"sqlite:///{root}/mlflow.db", config)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", store.uri)
        mp.chdir(root)  # relative paths (outputs, a default store) stay in the store's folder
        result = run_training(Config.from_toml(config).replace(tracking={"force_promote": True}))
    assert result.gate is not None and result.gate.promote
    return store


def registry_state(store: Store) -> RegistryState:
    """The registered versions and aliases of the product's model in ``store``."""
    client = store.client()
    versions = client.search_model_versions(f"name='{MODEL_NAME}'")
    assert all(v.status == "READY" for v in versions)
    return RegistryState({str(v.version): v.run_id for v in versions},
                         {a: str(v) for a, v in client.get_registered_model(MODEL_NAME).aliases.items()})


def run_statuses(store: Store) -> dict[str, str]:
    """Status of every run of the training experiment (run id -> RUNNING/FINISHED/FAILED/KILLED)."""
    client = store.client()
    exp = client.get_experiment_by_name(Config().tracking.experiment)
    return {r.info.run_id: r.info.status for r in client.search_runs([exp.experiment_id])} if exp else {}


@contextmanager
def spawn(folder: Path, name: str, argv: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen]:
    """Run ``argv`` in ``folder`` in its own session, output in ``<name>.out``/``.err`` there; the
    process is killed when the block is left while it still runs (after a failed assertion)."""
    with open(folder / f"{name}.out", "w") as out, open(folder / f"{name}.err", "w") as err:
        proc = subprocess.Popen(argv, cwd=folder, env=env, stdout=out, stderr=err, start_new_session=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def train_command(store: Store, *args: str) -> list[str]:
    """`regime train` with the fast settings of ``store`` and extra ``args``."""
    return [str(REGIME), "train", "--config", str(store.config), *args]


def stderr_of(folder: Path, name: str) -> str:
    """What the subprocess ``name`` run in ``folder`` wrote to stderr, without MLflow's download progress bars."""
    text = (folder / f"{name}.err").read_text()
    return "\n".join(ln for ln in text.splitlines() if "Downloading artifacts" not in ln)


def wait_for(path: Path, proc: subprocess.Popen, timeout: float = 240.0) -> str:
    """Content of the marker ``path`` once the paused ``proc`` has written it."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, f"job ended (exit {proc.returncode}) before its kill point"
        assert time.monotonic() < deadline, f"no marker {path.name} after {timeout:.0f} s"
        time.sleep(0.1)
    return path.read_text()


def finish(proc: subprocess.Popen, timeout: float = 240.0) -> int:
    """Exit code of ``proc`` (``subprocess.TimeoutExpired`` if it runs longer than ``timeout`` seconds)."""
    return proc.wait(timeout=timeout)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """A store with a champion, shared by the kill tests (each asserts on its own run and version)."""
    return champion_store(tmp_path_factory.mktemp("killstore"))


# --- training jobs ---------------------------------------------------------------------------


@pytest.mark.slow
def test_a_job_killed_during_start_up_leaves_no_trace(store: Store) -> None:
    """SIGKILL one second after `regime train` starts (still importing): no run, registry untouched."""
    before, runs = registry_state(store), run_statuses(store)
    with spawn(store.root, "startup", train_command(store), store.env()) as proc:
        time.sleep(1.0)
        proc.send_signal(signal.SIGKILL)
        assert finish(proc) == -signal.SIGKILL
    assert registry_state(store) == before
    assert run_statuses(store) == runs


#: Kill point (a stage, or set_alias: after registration, before the alias), signal, expected status
#: of the job's run (None: no run yet) and whether the job had registered a version when it died.
KILL_POINTS = [
    ("walk-forward", signal.SIGINT, None, False),
    ("final fit", signal.SIGINT, "KILLED", False),
    ("mlflow logging", signal.SIGKILL, "RUNNING", False),
    ("set_alias", signal.SIGINT, "KILLED", True),
    ("set_alias", signal.SIGKILL, "RUNNING", True),
]


@pytest.mark.slow
@pytest.mark.parametrize(("point", "sig", "status", "registered"), KILL_POINTS,
                         ids=[f"{p}-{s.name}" for p, s, *_ in KILL_POINTS])
def test_a_killed_job_keeps_the_champion_and_the_registry(
    store: Store, point: str, sig: signal.Signals, status: str | None, registered: bool
) -> None:
    """A job killed at a stage boundary never moves the champion or touches existing versions; Ctrl-C
    exits 130 with a one-line message and marks its run KILLED; SIGKILL cannot be handled, so its run
    stays RUNNING. A SIGKILL between registration and the alias leaves one alias-less version."""
    before = registry_state(store)
    name = f"{point}-{sig.name}".replace(" ", "-")
    mark = store.root / f"{name}.mark"
    with spawn(store.root, name, [sys.executable, "-c", HOOKED_CLI, "train", "--config", str(store.config)],
               {**store.env(), "PAUSE_AT": point, "PAUSE_MARK": str(mark)}) as proc:
        run_id = wait_for(mark, proc)
        proc.send_signal(sig)
        exit_code = finish(proc)
    after = registry_state(store)
    assert after.aliases == before.aliases
    assert {v: r for v, r in after.versions.items() if v in before.versions} == before.versions
    assert run_statuses(store).get(run_id) == status
    new = {v: r for v, r in after.versions.items() if v not in before.versions}  # no alias: aliases unchanged
    if not registered:
        assert not new
    if sig == signal.SIGKILL:
        assert exit_code == -signal.SIGKILL
        assert list(new.values()) == ([run_id] if registered else [])
        return
    err = stderr_of(store.root, name)
    assert "Traceback" not in err, err
    assert exit_code == 130 and err.strip().splitlines()[-1].startswith("interrupted:"), err
    assert not new, f"Ctrl-C left version(s) {', '.join(new)} registered while the CLI says the registry is unchanged"


# --- the live-data cache ---------------------------------------------------------------------


@pytest.mark.parametrize("replacement", [1, 2], ids=["before-csv-rename", "between-csv-and-record"])
def test_a_killed_fetch_leaves_every_cache_file_whole(tmp_path: Path, replacement: int) -> None:
    """`regime data fetch` killed mid-update (before the first file rename, or between a series' csv
    and its record) leaves every cached csv and record readable, the old or the new version, and the
    cache still loads offline. The temporary file of the interrupted write stays behind (harmless)."""
    root = tmp_path / "cache"
    load_live_panel(DataConfig(source="live"), cache_dir=root, fetch_text=FakeMarket(), now=NOW)
    old = {p.name: p.read_bytes() for p in root.iterdir()}
    mark = tmp_path / "fetch.mark"
    with spawn(tmp_path, "fetch", [sys.executable, "-c", HOOKED_FETCH, str(REPO / "tests"), str(root)],
               {**os.environ, "PAUSE_AT": str(replacement), "PAUSE_MARK": str(mark)}) as proc:
        interrupted = Path(wait_for(mark, proc))
        proc.send_signal(signal.SIGKILL)
        assert finish(proc) == -signal.SIGKILL
    files = sorted(p.name for p in root.iterdir() if not p.name.startswith("."))
    assert files == sorted(old)
    changed = {name for name in files if (root / name).read_bytes() != old[name]}
    assert changed == ({interrupted.with_suffix(".csv").name} if replacement == 2 else set())
    for sid in {Path(name).stem for name in files}:
        values, record = cache.read_cached(root, sid), cache.read_record(root, sid)
        assert values is not None and record is not None and record.rows <= len(values)
    assert [p.name for p in root.glob(f".{interrupted.name}.*.tmp")]  # the orphaned temporary file
    panel = load_live_panel(DataConfig(source="live"), cache_dir=root, fetch_text=_offline,
                            now=pd.Timestamp.now(tz="UTC"))
    assert set(CORE_SERIES) <= set(panel.columns)
