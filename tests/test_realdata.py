"""The chain on the real data in ../shared/data (skipped where the folder is absent)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.config import DataConfig, FeatureConfig
from features.design import build_design
from features.sources import load_panel
from tests.conftest import run_cli

pytestmark = pytest.mark.realdata


def test_real_panel_builds_a_point_in_time_design(shared_data):
    panel = load_panel(DataConfig(source="csv", data_dir=str(shared_data)))
    design = build_design(panel, FeatureConfig(), (5, 21, 63))
    assert design.index[0] == pd.Timestamp("2013-01-01") and design.index[-1] == pd.Timestamp("2024-12-31")
    assert len(design.index) - design.first_complete() > 2800
    cut = "2020-03-13"  # the COVID crash: rewrite everything after it
    shocked = panel.copy()
    shocked.loc[shocked.index > cut] *= 1.5
    other = build_design(shocked, FeatureConfig(), (5, 21, 63))
    pd.testing.assert_frame_equal(design.features.loc[:cut], other.features.loc[:cut])
    pd.testing.assert_frame_equal(design.regime_obs.loc[:cut], other.regime_obs.loc[:cut])
    assert np.isfinite(design.features.iloc[design.first_complete():].filter(like="ret_").to_numpy()).all()


@pytest.mark.slow
def test_train_predict_explain_on_real_data(shared_data, mlflow_store, tmp_path, monkeypatch, capsys):
    code, out, err = run_cli(["train", "--source", "csv", "--data-dir", str(shared_data), "--n-bootstrap", "100"],
                             monkeypatch, capsys)
    assert code == 0, err
    for name in ("model", "zero", "expanding_mean", "momentum", "linear", "no_regime", "as @champion"):
        assert name in out
    assert out.startswith(f"Data: csv files in {shared_data}, ")
    assert "Feature rows 2014-03-20 → 2024-12-31" in out
    csv = tmp_path / "pred.csv"
    code, out, err = run_cli(["predict", "--output", str(csv)], monkeypatch, capsys)
    assert code == 0, err
    pred = pd.read_csv(csv)
    assert pred["date"].iloc[-1] == "2024-12-31" and {"fear", "debasement"} <= set(pred["regime"]) <= {"fear", "debasement", "stress", "tightening", "calm"}
    code, out, err = run_cli(["explain", "--date", "2024-03-15", "--output-dir", str(tmp_path / "x")], monkeypatch, capsys)
    assert code == 0, err
    assert "2024-03-15: forecast" in out and "Main drivers" in out
