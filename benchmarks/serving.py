"""Latency of a served model: a real ``mlflow models serve`` on 127.0.0.1, timed from the client.

Each request is a daily update: ``days`` business days of history ending at the panel's last
date, ``params={"last": 1}`` (the newest row's answer), sent over one kept-alive connection.
The same requests to a model that does nothing, with the served model's signature
(:func:`null_model`), give the server's own floor: HTTP, JSON and MLflow's input checks.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import statistics
import subprocess
import time
import warnings
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


def null_model(model_uri: str, tracking_uri: str) -> str:
    """URI of a logged pyfunc model that answers the date of the newest row and nothing else.

    It has ``model_uri``'s signature, so the server parses and checks a request exactly as it
    does for the real model; what is left is the server's floor.
    """
    import mlflow
    from mlflow.pyfunc import PythonModel

    class _Null(PythonModel):
        def predict(self, context, model_input, params=None):  # noqa: ANN001, ANN201 - MLflow's signature
            return model_input[["date"]].iloc[-1:]

    mlflow.set_tracking_uri(tracking_uri)
    signature = mlflow.models.get_model_info(model_uri).signature
    mlflow.set_experiment("bench-null-model")
    with mlflow.start_run(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "no input example": the signature is the served model's
        info = mlflow.pyfunc.log_model(name="null", python_model=_Null(), signature=signature, pip_requirements=[])
    return info.model_uri


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
    """p50 and p90 milliseconds of a daily update per history length, from one server; the same
    for a model that does nothing (``serve_<d>d_floor_p50_ms``, :func:`null_model`)."""
    res: dict[str, float] = {}
    with served(model_uri, env, bin_dir, log) as url:
        for d in days:
            times = sorted(latencies(url, update_body(panel, d), n))
            res[f"serve_{d}d_p50_ms"] = statistics.median(times) * 1000
            res[f"serve_{d}d_p90_ms"] = times[int(0.9 * (len(times) - 1))] * 1000
    null = null_model(model_uri, env["MLFLOW_TRACKING_URI"])
    with served(null, env, bin_dir, log.with_suffix(".null.log")) as url:
        for d in days:
            res[f"serve_{d}d_floor_p50_ms"] = statistics.median(latencies(url, update_body(panel, d), n)) * 1000
    return res
