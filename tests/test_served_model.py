"""The served model without `mlflow models serve`: the logged pyfunc, loaded as MLflow loads it, answered through
MLflow's own scoring function. Exactness on a short history, the answers to bad requests (a 400 with the cause
only: no stack trace, no echo of the request), and model files damaged in the store."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
import pytest

from features.errors import ModelError
from models.pipeline import RegimeForecastPipeline
from models.pyfunc import InvalidModelInput, ModelFailure, rows_asked
from training.config import Config
from training.tracking.model_io import load_pyfunc, log_pipeline_model

FAST = {"hmm_n_init": 1, "lgbm_params": {"n_estimators": 40}}


def _flat(panel: pd.DataFrame) -> pd.DataFrame:
    flat = panel.reset_index()
    flat["date"] = flat["date"].dt.strftime("%Y-%m-%d")
    return flat


@pytest.fixture(scope="module")
def logged(small_panel, tmp_path_factory) -> Path:
    """The chain fitted on the small demo panel and logged as the product logs it; its files in a local folder."""
    root = tmp_path_factory.mktemp("served")
    pipeline = RegimeForecastPipeline(horizons=(5, 21), **FAST).fit(small_panel)
    info = {"config": Config().to_dict(), "horizons": [5, 21]}
    mlflow.set_tracking_uri(f"sqlite:///{root}/mlflow.db")
    with mlflow.start_run():
        uri = log_pipeline_model(pipeline, info, pipeline.predict(small_panel)).model_uri
    return Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(root / "model")))


@pytest.fixture(scope="module")
def model(logged) -> Any:
    return load_pyfunc(str(logged))


def test_a_short_history_answers_bitwise_like_the_full_one(model, small_panel):
    """Every row answered on a history starting later equals the full history's row bit for bit, and a warm
    update (``last``) equals the full history's last rows."""
    full = model.predict(_flat(small_panel)).set_index("date")
    short = model.predict(_flat(small_panel.loc["2020-06-01":])).set_index("date")
    assert 0 < len(short) < len(full.loc["2020-06-01":])
    pd.testing.assert_frame_equal(short, full.loc[short.index], check_exact=True)
    warm = model.predict(_flat(small_panel.loc["2020-06-01":]), params={"last": 5}).set_index("date")
    pd.testing.assert_frame_equal(warm, full.tail(5), check_exact=True)


def _served(model, frame: pd.DataFrame, params: dict | None = None) -> tuple[int, dict]:
    """What MLflow's scoring server answers to a JSON request: (status, body)."""
    from mlflow.exceptions import MlflowException
    from mlflow.pyfunc.scoring_server import invocations

    request = {"dataframe_split": json.loads(frame.to_json(orient="split", index=False))}
    if params is not None:
        request["params"] = params
    try:
        answer = invocations(json.dumps(request), "application/json", model, None)
    except MlflowException as exc:
        return exc.get_http_status_code(), json.loads(exc.serialize_as_json())
    return answer.status, json.loads(answer.response)


@pytest.mark.parametrize(("params", "needle"), [({"last": -3}, "params `last` must be a whole number of rows >= 0"),
                                                (None, "too little history for an exact answer")])
def test_a_bad_request_is_a_400_with_the_cause_only(model, small_panel, params, needle):
    frame = _flat(small_panel.tail(200) if params is None else small_panel)
    status, body = _served(model, frame, params)
    assert status == 400 and body["message"].startswith(needle), body
    assert "stack_trace" not in body and "Failed to predict" not in body["message"]
    assert str(frame["date"].iloc[-1]) not in body["message"] and "\n" not in body["message"]


def test_a_failure_inside_the_model_is_a_500_without_traceback_or_echo(model, small_panel, monkeypatch):
    def broken(*args, **kwargs):
        raise ZeroDivisionError("float division by zero")

    monkeypatch.setattr(model.unwrap_python_model().pipeline, "predict", broken)
    status, body = _served(model, _flat(small_panel))
    assert status == 500 and body["message"] == "the model failed on this input: ZeroDivisionError: float division by zero"
    assert "stack_trace" not in body


@pytest.mark.parametrize("value", [-3, "abc", "5", 2.5, True, None, [1]])
def test_rows_asked_names_last(value):
    with pytest.raises(InvalidModelInput, match="params `last` must be a whole number of rows >= 0"):
        rows_asked({"last": value})
    assert rows_asked({"last": 7}) == 7 and rows_asked(None) is None and rows_asked({"last": 0}) is None


def test_model_failure_keeps_its_cause():
    exc = ModelFailure(ValueError("Found array with 0 sample(s)\nmore"))
    exc.message = "Failed to predict data '<the whole request>'. Error: ..."  # what the scoring server does
    assert exc.message == "the model failed on this input: ValueError: Found array with 0 sample(s)"


# --- damaged model files --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("damage", "needle"), [
    ("garbled-mlmodel", "its MLmodel file in the store is damaged (UnicodeDecodeError"),
    ("unparsable-mlmodel", "its MLmodel file in the store is damaged ("),
    ("truncated-pipeline", "its fitted pipeline (pipeline.joblib) in the store is damaged ("),
    ("garbled-record", "its record (model_info.json) in the store is damaged (JSONDecodeError"),
])
def test_damaged_model_files_are_one_line_naming_the_file(logged, tmp_path, damage, needle):
    copy = Path(shutil.copytree(logged, tmp_path / "model"))
    if damage == "garbled-mlmodel":
        (copy / "MLmodel").write_bytes(b"\x00\x01\xff garbage")
    elif damage == "unparsable-mlmodel":
        (copy / "MLmodel").write_text("flavors: [python_function\n")
    elif damage == "truncated-pipeline":
        pipe = copy / "artifacts" / "pipeline.joblib"
        pipe.write_bytes(pipe.read_bytes()[:5000])
    else:
        (copy / "artifacts" / "model_info.json").write_text("{not json")
    with pytest.raises(ModelError) as info:
        load_pyfunc(str(copy))
    message = str(info.value)
    assert needle in message and "--force-promote" in message and "\n" not in message, message
