"""Latency of a served model: a real ``mlflow models serve`` on 127.0.0.1, timed from the client.

Each request is a daily update: ``days`` business days of history ending at the panel's last
date, ``params={"last": 1}`` (the newest row's answer), sent over one kept-alive connection.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import statistics
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pandas as pd

START_UP_SECONDS = 180.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served(model_uri: str, env: dict[str, str], bin_dir: Path, log: Path) -> Iterator[str]:
    """URL of ``model_uri`` served on a free loopback port; the server's process group ends on exit."""
    import requests

    port = _free_port()
    with open(log, "w") as out:
        proc = subprocess.Popen([str(bin_dir / "mlflow"), "models", "serve", "-m", model_uri, "-h", "127.0.0.1",
                                 "-p", str(port), "--env-manager", "local"],
                                env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_UP_SECONDS
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start:\n{log.read_text()[-2000:]}")
            with suppress(requests.ConnectionError):
                if requests.get(f"{url}/ping", timeout=2).status_code == 200:
                    break
            time.sleep(0.5)
        yield url
    finally:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=20)
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def update_body(panel: pd.DataFrame, days: int) -> str:
    """A ``dataframe_split`` request: the last ``days`` business days of ``panel`` (raw rows), newest row only."""
    start = panel.index.max() - pd.offsets.BDay(days - 1)
    part = panel.loc[start:].reset_index()
    part["date"] = part["date"].dt.strftime("%Y-%m-%d")
    rows = part.astype(object).where(part.notna(), None).to_numpy().tolist()
    return json.dumps({"dataframe_split": {"columns": list(part.columns), "data": rows}, "params": {"last": 1}})


def latencies(url: str, body: str, n: int, warm_up: int = 3) -> list[float]:
    """Seconds per request for ``n`` requests of ``body`` (after ``warm_up`` untimed ones)."""
    import requests

    with requests.Session() as session:
        out = []
        for i in range(warm_up + n):
            t0 = time.perf_counter()
            response = session.post(f"{url}/invocations", data=body, headers={"Content-Type": "application/json"},
                                    timeout=120)
            elapsed = time.perf_counter() - t0
            if response.status_code != 200:
                raise RuntimeError(f"served request failed ({response.status_code}): {response.text[:500]}")
            if i >= warm_up:
                out.append(elapsed)
    return out


def serving_latency(model_uri: str, panel: pd.DataFrame, env: dict[str, str], bin_dir: Path, log: Path,
                    days: tuple[int, ...] = (500, 1000), n: int = 30) -> dict[str, float]:
    """p50 and p90 milliseconds of a daily update per history length, from one server."""
    res: dict[str, float] = {}
    with served(model_uri, env, bin_dir, log) as url:
        for d in days:
            times = sorted(latencies(url, update_body(panel, d), n))
            res[f"serve_{d}d_p50_ms"] = statistics.median(times) * 1000
            res[f"serve_{d}d_p90_ms"] = times[int(0.9 * (len(times) - 1))] * 1000
    return res
