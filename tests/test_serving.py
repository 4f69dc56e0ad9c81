"""`mlflow models serve` of the champion on the loopback interface: answers equal in-process
predictions, malformed requests get a 4xx with a message and the server keeps serving.

One server per module (start-up takes several seconds); it runs in its own session and the
whole process group (MLflow's CLI and its uvicorn child) is terminated at the end.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import requests

from features.csv_source import read_csv_folder
from features.series import CORE_SERIES, OPTIONAL_SERIES
from tests.test_bad_inputs import pyfunc_input
from tests.test_failure_safety import BIN, champion_store
from training.config import MODEL_NAME
from training.tracking.model_io import load_pyfunc
from training.tracking.store import configure_tracking

pytestmark = pytest.mark.slow

CHAMPION = f"models:/{MODEL_NAME}@champion"
START_UP_SECONDS = 180.0


@dataclass(frozen=True)
class Server:
    """A running scoring server and the same model loaded in-process."""

    url: str
    model: Any

    def invoke(self, body: str | bytes) -> requests.Response:
        """POST ``body`` to /invocations as JSON."""
        return requests.post(f"{self.url}/invocations", data=body, headers={"Content-Type": "application/json"},
                             timeout=120)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _split_body(frame: pd.DataFrame) -> str:
    """A ``dataframe_split`` request; floats keep every digit (``repr``), missing values are ``null``."""
    rows = frame.astype(object).where(frame.notna(), None).to_numpy().tolist()
    return json.dumps({"dataframe_split": {"columns": list(frame.columns), "data": rows}})


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The champion of a fresh store served on 127.0.0.1 at a free port."""
    store = champion_store(tmp_path_factory.mktemp("serve"))
    configure_tracking(store.uri)
    model = load_pyfunc(CHAMPION)
    port = _free_port()
    log = store.root / "serve.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [str(BIN / "mlflow"), "models", "serve", "-m", CHAMPION, "-h", "127.0.0.1", "-p", str(port),
             "--env-manager", "local"],
            cwd=store.root, env=store.env(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_UP_SECONDS
        while True:
            assert proc.poll() is None, f"server exited ({proc.returncode}):\n{log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"no /ping in {START_UP_SECONDS:.0f} s:\n{log.read_text()[-3000:]}"
            try:
                if requests.get(f"{url}/ping", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            time.sleep(0.5)
        yield Server(url, model)
    finally:  # the server's process group: MLflow's CLI and its uvicorn child
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=20)
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # whatever did not stop on SIGTERM
        proc.wait()


def _assert_served_equals_in_process(server: Server, panel: pd.DataFrame) -> None:
    flat = pyfunc_input(panel)
    response = server.invoke(_split_body(flat))
    assert response.status_code == 200, response.text[:2000]
    served = pd.DataFrame(response.json()["predictions"])
    local = server.model.predict(flat)
    assert list(served.columns) == list(local.columns) and len(served) == len(local) > 0
    assert served["date"].tolist() == local["date"].tolist()
    assert served["regime"].tolist() == local["regime"].tolist()
    numeric = [c for c in local.columns if c not in ("date", "regime")]
    np.testing.assert_allclose(served[numeric].to_numpy(float), local[numeric].to_numpy(float), rtol=0, atol=1e-6)


def test_the_server_answers_like_the_model_in_process_on_the_demo_market(server: Server, demo_market) -> None:
    """Served forecasts for the whole demo market (2012-2024) equal in-process ones within 1e-6."""
    _assert_served_equals_in_process(server, demo_market.panel)


@pytest.mark.realdata
def test_the_server_answers_like_the_model_in_process_on_real_data(server: Server, shared_data: Path) -> None:
    """Same on ../shared/data since 2016 (skipped where the folder is absent)."""
    panel = read_csv_folder(shared_data, CORE_SERIES, OPTIONAL_SERIES).loc["2016-01-01":]
    _assert_served_equals_in_process(server, panel)


def test_malformed_requests_get_a_4xx_with_a_message_and_the_server_keeps_serving(server: Server, small_panel) -> None:
    """Bodies that are not JSON, lack the date column, carry unparsable dates, have rows of the wrong
    width, miss a series the model needs or are too short for the feature windows are refused with a
    4xx and a message; afterwards /ping and a valid request still work. The model's own refusals
    name their cause, without a server traceback."""
    flat = pyfunc_input(small_panel)
    bodies = {  # case: (body, what the message should name when the model itself refuses the input)
        "not JSON": ("this is not json {", None),
        "wrong shape": (json.dumps({"dataframe_split": {"columns": ["date", "btc_usd"], "data": [["2020-01-02"]]}}),
                        None),
        "no payload key": (json.dumps({"rows": []}), None),
        "no date column": (_split_body(flat.drop(columns=["date"]).head(300)), "input needs a 'date' column"),
        "unparsable dates": (_split_body(flat.head(300).assign(date="yesterday")), "cannot parse date 'yesterday'"),
        "missing series": (_split_body(flat.drop(columns=["vix"])), "missing series the model was trained on: vix"),
        "too short": (_split_body(flat.head(30)), "too little history"),
        "200 rows": (_split_body(flat.tail(200)), "too little history for an exact answer"),
        "text in a number column": (_split_body(flat.astype({"silver_usd": object}).assign(
            silver_usd=lambda f: f["silver_usd"].mask(f.index % 7 == 3, "abc"))), "series 'silver_usd'"),
        "absurd value": (_split_body(flat.assign(gold_usd=flat["gold_usd"].mask(flat.index == 500, 1e308))),
                         "implausible value 1e+308"),
    }
    unnamed, verbose = [], []
    for case, (body, cause) in bodies.items():
        response = server.invoke(body)
        assert 400 <= response.status_code < 500, (case, response.status_code, response.text[:500])
        message = response.json().get("message")
        assert message, (case, response.text[:500])
        if cause and cause not in message:
            unnamed.append(case)
        if cause and (len(message) > 300 or "Failed to predict" in message):  # cause first, no echo of the input
            verbose.append(case)
    assert requests.get(f"{server.url}/ping", timeout=10).status_code == 200
    _assert_served_equals_in_process(server, small_panel)
    assert not unnamed, f"400 without the cause for: {', '.join(unnamed)}"
    assert not verbose, f"400 that echoes the input before the cause for: {', '.join(verbose)}"


def test_dates_with_a_utc_offset_get_the_same_answers(server: Server, small_panel) -> None:
    """One date rule for the server too: the day as written, whatever the offset."""
    flat = pyfunc_input(small_panel)
    zoned = flat.assign(date=flat["date"].mask(flat.index % 2 == 0, flat["date"] + "T00:00:00+05:00"))
    response = server.invoke(_split_body(zoned))
    assert response.status_code == 200, response.text[:500]
    served = pd.DataFrame(response.json()["predictions"])
    local = server.model.predict(flat)
    assert served["date"].tolist() == local["date"].tolist()
    numeric = [c for c in local.columns if c not in ("date", "regime")]
    np.testing.assert_allclose(served[numeric].to_numpy(float), local[numeric].to_numpy(float), rtol=0, atol=1e-6)
