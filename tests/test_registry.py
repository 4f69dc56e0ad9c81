"""MLflow round trip, champion gate and failure safety, in a temporary store."""

from __future__ import annotations

import json
import subprocess
import sys

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient

from training.config import Config
from training.jobs import train as train_job
from training.promotion.gate import decide_promotion
from training.tracking.model_io import load_pyfunc, unwrap
from training.tracking.registry import current_version
from training.tracking.store import configure_tracking

pytestmark = pytest.mark.slow

MODEL = "btc-forward-return"


@pytest.fixture(scope="module")
def trained(tmp_path_factory, small_panel):
    """One small training job into a fresh store: (config, result)."""
    store = tmp_path_factory.mktemp("store")
    cfg = Config().replace(
        model={"hmm_n_init": 1, "horizons": (5, 21), "lgbm_params": {"n_estimators": 40}},
        evaluation={"initial_train": 504, "step": 252, "n_bootstrap": 20},
        tracking={"tracking_uri": f"sqlite:///{store}/mlflow.db", "experiment": "test"},
    )
    result = train_job.run_training(cfg, panel=small_panel)
    return cfg, result


def _client(cfg: Config) -> MlflowClient:
    configure_tracking(cfg.tracking.tracking_uri)
    return MlflowClient()


def test_first_model_becomes_champion_with_a_complete_run(trained):
    cfg, result = trained
    client = _client(cfg)
    assert result.version == "1" and result.gate.promote
    assert str(client.get_model_version_by_alias(MODEL, "champion").version) == "1"
    run = client.get_run(result.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.tags["data.fingerprint"] == result.fingerprint
    assert "model.ic.21d" in run.data.metrics and "linear.ic.21d" in run.data.metrics
    arts = {a.path for a in client.list_artifacts(result.run_id, "evaluation")}
    for name in ("regime_timeline_oos.png", "predicted_vs_realized.png", "shap_summary_21d.png", "folds.csv",
                 "walk_forward_scores.csv", "coverage.csv"):
        assert f"evaluation/{name}" in arts


def test_loaded_by_alias_in_a_fresh_process_equals_in_process_predict(trained, small_panel, tmp_path):
    cfg, _ = trained
    configure_tracking(cfg.tracking.tracking_uri)
    model = load_pyfunc(f"models:/{MODEL}@champion")
    pipeline, info = unwrap(model)
    expected = pipeline.predict(small_panel, exact=True)  # the pyfunc answers the exact rows only
    expected["date"] = expected["date"].dt.strftime("%Y-%m-%d")
    flat = small_panel.reset_index()
    flat["date"] = flat["date"].dt.strftime("%Y-%m-%d")
    inp, out = tmp_path / "in.parquet", tmp_path / "out.parquet"
    flat.to_parquet(inp)
    code = (
        "import mlflow, pandas as pd, sys; mlflow.set_tracking_uri(sys.argv[1]);"
        f"m = mlflow.pyfunc.load_model('models:/{MODEL}@champion');"
        "m.predict(pd.read_parquet(sys.argv[2])).to_parquet(sys.argv[3])"
    )
    subprocess.run([sys.executable, "-c", code, cfg.tracking.tracking_uri, str(inp), str(out)], check=True, cwd=tmp_path)
    got = pd.read_parquet(out)
    pd.testing.assert_frame_equal(got, expected, check_exact=True, check_dtype=False)
    assert info["horizons"] == [5, 21]


def test_an_equal_model_does_not_replace_the_champion_and_force_does(trained, small_panel):
    cfg, first = trained
    again = train_job.run_training(cfg, panel=small_panel)  # same data, same settings: same score
    client = _client(cfg)
    assert not again.gate.promote and "does not beat" in again.gate.reason
    assert str(client.get_model_version_by_alias(MODEL, "champion").version) == first.version
    assert str(client.get_model_version_by_alias(MODEL, "challenger").version) == again.version
    forced = train_job.run_training(cfg.replace(tracking={"force_promote": True}), panel=small_panel)
    assert str(client.get_model_version_by_alias(MODEL, "champion").version) == forced.version
    client.set_registered_model_alias(MODEL, "champion", first.version)  # restore for the next tests


def test_gate_rule_compares_scores(trained, small_panel):
    cfg, result = trained
    configure_tracking(cfg.tracking.tracking_uri)
    champion = current_version(MODEL, "champion")
    better = result.scores.assign(ic=result.scores.ic + 0.1)
    worse = result.scores.assign(ic=result.scores.ic - 0.1)
    assert decide_promotion(cfg, better, result.fingerprint, champion, small_panel).promote
    assert not decide_promotion(cfg, worse, result.fingerprint, champion, small_panel).promote
    assert decide_promotion(cfg, worse, result.fingerprint, None, small_panel).promote  # no champion yet


def test_gate_reevaluates_a_champion_trained_on_other_data(trained, small_panel):
    cfg, result = trained
    configure_tracking(cfg.tracking.tracking_uri)
    champion = current_version(MODEL, "champion")
    d = decide_promotion(cfg, result.scores, "another-fingerprint", champion, small_panel)
    assert "re-evaluated" in d.reason
    assert d.champion_score == pytest.approx(d.new_score, abs=1e-9)  # same settings, same data, same folds
    assert d.promote and "newer data" in d.reason  # a tie on fresher data promotes


def test_a_failing_job_leaves_the_registry_and_champion_untouched(trained, small_panel, monkeypatch):
    cfg, _ = trained
    client = _client(cfg)
    before = {str(v.version) for v in client.search_model_versions(f"name='{MODEL}'")}
    champion = str(client.get_model_version_by_alias(MODEL, "champion").version)

    def boom(*args, **kwargs):
        raise RuntimeError("disk full while logging the model")

    monkeypatch.setattr(train_job, "log_pipeline_model", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        train_job.run_training(cfg, panel=small_panel)
    client = _client(cfg)
    assert {str(v.version) for v in client.search_model_versions(f"name='{MODEL}'")} == before
    assert str(client.get_model_version_by_alias(MODEL, "champion").version) == champion
    runs = mlflow.search_runs(experiment_names=["test"], order_by=["start_time DESC"], max_results=1)
    assert runs.iloc[0]["status"] == "FAILED"


def test_model_info_records_data_and_config(trained):
    cfg, result = trained
    configure_tracking(cfg.tracking.tracking_uri)
    _, info = unwrap(load_pyfunc(f"models:/{MODEL}@champion"))
    assert info["data_fingerprint"] == result.fingerprint
    assert Config.from_dict(json.loads(json.dumps(info["config"]))) is not None
