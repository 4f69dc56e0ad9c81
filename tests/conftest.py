"""Shared fixtures: tiny synthetic markets with known truth, temporary MLflow stores, real data."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import pandas as pd
import pytest

from features.demo import generate_demo_market
from training.config import Config

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
#: Replay a failing randomised test with REGIME_TEST_SEED=<seed>.
SEED = int(os.environ.get("REGIME_TEST_SEED", "7"))


@pytest.fixture(scope="session")
def demo_market():
    """The default demo market (2012-2024, three planted regimes)."""
    return generate_demo_market(seed=SEED)


@pytest.fixture(scope="session")
def small_panel(demo_market) -> pd.DataFrame:
    """Six years of the demo market: enough for a few walk-forward folds, quick to fit."""
    return demo_market.panel.loc["2017-01-01":"2022-12-31"]


@pytest.fixture
def small_config(tmp_path) -> Config:
    """A fast configuration: two folds' worth of evaluation, one HMM restart, no bootstrap."""
    return Config().replace(
        data={"start": "2017-01-01", "end": "2022-12-31"},
        model={"hmm_n_init": 1, "lgbm_params": {"n_estimators": 60}},
        evaluation={"initial_train": 504, "step": 252, "n_bootstrap": 50},
        tracking={"tracking_uri": f"sqlite:///{tmp_path}/mlflow.db", "experiment": "test"},
    )


@pytest.fixture(autouse=True)
def _no_store_outside_tmp(tmp_path_factory, monkeypatch):
    """Unit tests never touch a store outside a temporary folder: a test that selects none gets a temporary one
    (not ./mlruns of wherever pytest runs), and the repository's own store must be unchanged afterwards."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path_factory.getbasetemp()}/unselected/mlflow.db")
    before = _store_state(REPO / "mlruns")
    yield
    assert _store_state(REPO / "mlruns") == before, "a test wrote into the repository's mlruns/"


def _store_state(root: Path) -> tuple:
    """Whether ``root`` exists, and the size and modification time of its database."""
    db = root / "mlflow.db"
    return (root.exists(), db.stat().st_size if db.exists() else None, db.stat().st_mtime_ns if db.exists() else None)


@pytest.fixture
def mlflow_store(tmp_path, monkeypatch) -> str:
    """A temporary MLflow store, selected through MLFLOW_TRACKING_URI (as users would)."""
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.chdir(tmp_path)
    return uri


@pytest.fixture
def shared_data() -> Path:
    """../shared/data, or skip where this checkout has no shared folder beside it."""
    if not (SHARED_DATA / "btc_usd.csv").is_file():
        pytest.skip(f"real data not present at {SHARED_DATA}")
    return SHARED_DATA


def write_csv_folder(panel: pd.DataFrame, folder: Path) -> Path:
    """Write a raw panel in the ``date,value`` folder format (one file per series)."""
    folder.mkdir(parents=True, exist_ok=True)
    for col in panel.columns:
        s = panel[col].dropna()
        pd.DataFrame({"date": s.index.strftime("%Y-%m-%d"), "value": s.to_numpy()}).to_csv(folder / f"{col}.csv", index=False)
    return folder


@pytest.fixture
def csv_folder(tmp_path, small_panel) -> Path:
    """A valid csv-source folder holding the small demo panel."""
    return write_csv_folder(small_panel, tmp_path / "data")


def run_cli(args: list[str], monkeypatch, capsys) -> tuple[int, str, str]:
    """Run the ``regime`` console entry point in-process; returns (exit code, stdout, stderr)."""
    import sys

    from training.cli import main

    monkeypatch.setattr(sys, "argv", ["regime", *args])
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def log_stub_model(store: str, data: dict, folder: Path) -> str:
    """Log in ``store`` a pyfunc holding only the record a trained model stores (trained on ``data``); its URI.

    What commands read from a model's record (its data settings and range) without loading it.
    """
    import mlflow
    from mlflow.pyfunc import PythonModel

    from training.tracking.model_io import INFO_FILE

    class Stub(PythonModel):
        def predict(self, context, model_input: list[str], params=None) -> list[str]:  # noqa: D102 - never called
            return model_input

    info = folder / INFO_FILE
    info.write_text(json.dumps({"config": {"data": {"start": "2017-01-01", "end": None, "seed": 7, **data}},
                                "data_range": ["2017-06-01", "2022-12-30"], "run_id": "stub"}), encoding="utf-8")
    mlflow.set_tracking_uri(store)
    with mlflow.start_run(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a stub: pickled by cloudpickle
        return mlflow.pyfunc.log_model(name="model", python_model=Stub(), artifacts={"model_info": str(info)},
                                       pip_requirements=[]).model_uri
