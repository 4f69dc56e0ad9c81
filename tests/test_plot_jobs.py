"""Figures drawn in worker processes: the same files as drawn in place, errors raised, no orphans."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from training.display import plots
from training.display.plot_jobs import PlotJobs


def _predictions(seed: int) -> dict[int, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    idx = pd.bdate_range("2020-01-01", periods=300)
    return {h: pd.DataFrame({"model": rng.normal(size=300), "realized": rng.normal(size=300)}, index=idx)
            for h in (5, 21)}


def _fail(path: Path) -> Path:
    raise ValueError(f"no figure for {path.name}")


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_figures_from_workers_are_the_bytes_drawn_in_place(tmp_path: Path, n_jobs: int) -> None:
    """Two figures drawn by ``PlotJobs(n_jobs)`` equal, byte for byte, the same figures drawn directly."""
    direct = [plots.cumulative_ic(_predictions(s), tmp_path / f"direct_{s}.png") for s in (0, 1)]
    with PlotJobs(n_jobs) as jobs:
        for s in (0, 1):
            jobs.submit(plots.cumulative_ic, _predictions(s), tmp_path / f"jobs_{s}.png")
        paths = jobs.wait()
    assert [p.name for p in paths] == ["jobs_0.png", "jobs_1.png"]
    assert [p.read_bytes() for p in paths] == [p.read_bytes() for p in direct]


def test_an_error_in_a_worker_reaches_the_caller(tmp_path: Path) -> None:
    with PlotJobs(2) as jobs:
        jobs.submit(_fail, tmp_path / "x.png")
        with pytest.raises(ValueError, match="no figure for x.png"):
            jobs.wait()


def test_workers_of_a_killed_parent_exit(tmp_path: Path) -> None:
    """SIGKILL of the parent (which no handler sees) leaves no worker process waiting forever."""
    script = textwrap.dedent("""
        import os, sys, time
        from training.display.plot_jobs import PlotJobs
        jobs = PlotJobs(2)
        jobs.submit(time.sleep, 0.01)
        jobs.wait()
        print(" ".join(str(p) for p in jobs._pool._processes), flush=True)
        time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parents[1])
    with proc.stdout:
        workers = [int(p) for p in proc.stdout.readline().split()]
        assert len(workers) == 2
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    deadline = time.monotonic() + 10
    alive = workers
    while alive and time.monotonic() < deadline:
        time.sleep(0.2)
        alive = [p for p in workers if _alive(p)]
    assert not alive, f"worker processes {alive} outlived their killed parent"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split()[2] == "Z")  # a zombie has exited
