"""Reading what a run logged leaves no copies behind (MLflow's own downloads each leave a folder)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pandas as pd

from tests.conftest import log_stub_model
from training.tracking.model_io import read_model_info
from training.tracking.runs import read_run_csv, read_run_figures


def test_reading_run_artifacts_and_model_records_leaves_no_temporary_folder(mlflow_store, tmp_path, monkeypatch):
    import mlflow

    version = mlflow.register_model(log_stub_model(mlflow_store, {"source": "demo"}, tmp_path), "stub").version
    with mlflow.start_run() as run:
        mlflow.log_text("a,b\n1,2\n", "evaluation/table.csv")
        mlflow.log_text(json.dumps({"r2": 0.5}), "evaluation/metrics.json")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # where every temporary folder goes

    assert read_run_csv(run.info.run_id, "evaluation/table.csv").equals(pd.DataFrame({"a": [1], "b": [2]}))
    assert read_run_figures(run.info.run_id)[0] == {"r2": 0.5}
    assert read_model_info(f"models:/stub/{version}")["run_id"] == "stub"
    assert list(Path(scratch).iterdir()) == []
