"""MLflow round trip, the champion gate through the registry and failure safety, in a temporary store."""

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
from training.tracking.model_io import load_pyfunc, unwrap
from training.tracking.store import configure_tracking

pytestmark = pytest.mark.slow

MODEL = "btc-forward-return"


#: A quick configuration whose model beats the zero forecast on the demo market's sealed segment. The demo
#: plants its regimes as level shifts, which the raw moves show best (docs/decisions.md).
QUICK = Config().replace(
    features={"regime_zscore_window": 0},
    model={"hmm_n_init": 1, "n_states": 3, "horizons": (5, 21), "lgbm_params": {"n_estimators": 40}},
    evaluation={"initial_train": 504, "step": 504, "n_bootstrap": 20},
)


@pytest.fixture(scope="module")
def demo_panel(demo_market):
    """The demo market from 2013 (as `regime train` reads it)."""
    return demo_market.panel.loc["2013-01-01":]


@pytest.fixture(scope="module")
def trained(tmp_path_factory, demo_panel):
    """One small training job into a fresh store: (config, result)."""
    store = tmp_path_factory.mktemp("store")
    cfg = QUICK.replace(tracking={"tracking_uri": f"sqlite:///{store}/mlflow.db", "experiment": "test"})
    result = train_job.run_training(cfg, panel=demo_panel)
    return cfg, result


def _client(cfg: Config) -> MlflowClient:
    configure_tracking(cfg.tracking.tracking_uri)
    return MlflowClient()


def test_first_model_becomes_champion_with_a_complete_run(trained, tmp_path):
    cfg, result = trained
    client = _client(cfg)
    assert result.version == "1" and result.gate.promote and result.gate.reason == "no champion yet; every check passed"
    assert str(client.get_model_version_by_alias(MODEL, "champion").version) == "1"
    run = client.get_run(result.run_id)
    assert run.info.status == "FINISHED"
    tags, metrics = run.data.tags, run.data.metrics
    assert tags["data.fingerprint"] == result.fingerprint and tags["data.last"] == "2024-12-31"
    # the metrics are the headline figures (per horizon: IC, R², skill, coverage, sealed skill; pooled skills)
    assert set(metrics) == {"walk_forward.skill", "sealed.skill"} | {
        f"{name}.{h}d" for h in (5, 21) for name in ("walk_forward.ic", "walk_forward.r2_oos", "walk_forward.skill",
                                                     "walk_forward.coverage80", "sealed.skill")}
    assert metrics["sealed.skill"] == pytest.approx(result.sealed["r2_zero"].mean())
    # the sealed window is in every run, every figure in metrics.json, the tables linked from the description
    assert (tags["sealed.start"], tags["sealed.end"]) == result.sealed_window == ("2023-01-26", "2024-12-31")
    assert tags["gate.blocking"] == "none" and tags["registry.alias"] == "champion"
    with open(client.download_artifacts(result.run_id, "evaluation/metrics.json", str(tmp_path)), encoding="utf-8") as fh:
        figures = json.load(fh)
    for key in ("model.ic.21d", "linear.ic.21d", "sealed.model.r2_zero.21d", "sealed.model.r2_mean.5d",
                "sealed.model.mse_zero.21d", "sealed.model.ic.5d", "walk_forward.model.mse.21d", "sealed.skill",
                "walk_forward.skill", "forecast_spread.21d", "dist.coverage.21d", "regime.seed_agreement"):
        assert key in figures, key
    assert figures["model.ic.21d"] == metrics["walk_forward.ic.21d"]
    arts = {a.path for a in client.list_artifacts(result.run_id, "evaluation")}
    for name in ("regime_timeline_oos.png", "predicted_vs_realized.png", "shap_summary_21d.png", "folds.csv",
                 "walk_forward_scores.csv", "coverage.csv", "squared_error_by_segment.csv"):
        assert f"evaluation/{name}" in arts
    description = tags["mlflow.note.content"]
    assert description.startswith("Trained on a panel given by the caller")
    link = f"(#/experiments/{run.info.experiment_id}/runs/{result.run_id}/artifacts/evaluation/walk_forward_scores.csv"
    assert f"[walk_forward_scores.csv]{link}?workflowType=machine_learning)" in description


def test_each_version_carries_the_decision_and_key_figures(trained):
    cfg, result = trained
    version = _client(cfg).get_model_version(MODEL, result.version)
    assert version.description.startswith("**@champion**: no champion yet")
    assert "sealed segment (2023-01-26 → " in version.description and "R² vs zero" in version.description
    assert f"data: demo, {result.data_range[0]} → 2024-12-31 (fingerprint {result.fingerprint})" in version.description
    assert version.tags["gate.decision"] == "champion" and version.tags["data.last"] == "2024-12-31"
    assert version.tags["sealed.start"] == "2023-01-26"
    assert float(version.tags["sealed.skill"]) == pytest.approx(result.sealed["r2_zero"].mean(), abs=1e-4)


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


def test_the_same_settings_on_the_same_data_are_no_promotion_and_force_promotes(trained, demo_panel):
    cfg, first = trained
    again = train_job.run_training(cfg, panel=demo_panel)  # same data, same settings
    client = _client(cfg)
    assert not again.gate.promote
    assert again.gate.reason == ("not promoted: same settings as champion v1 on data ending the same day (2024-12-31); "
                                 "nothing new")
    assert str(client.get_model_version_by_alias(MODEL, "champion").version) == first.version
    assert str(client.get_model_version_by_alias(MODEL, "challenger").version) == again.version
    assert client.get_model_version(MODEL, again.version).description.startswith("**@challenger**: not promoted")
    forced = train_job.run_training(cfg.replace(tracking={"force_promote": True}), panel=demo_panel)
    assert forced.gate.reason == "promotion forced (--force-promote)"
    assert str(client.get_model_version_by_alias(MODEL, "champion").version) == forced.version
    client.set_registered_model_alias(MODEL, "champion", first.version)  # restore for the next tests


def test_older_data_never_replace_the_champion(trained, demo_panel):
    cfg, first = trained
    older = train_job.run_training(cfg, panel=demo_panel.loc[:"2023-12-31"])
    assert not older.gate.promote and older.blocking == []
    assert older.gate.reason == ("not promoted: its data end 2023-12-29, before champion v1's 2024-12-31; older data "
                                 "never replace newer (--force-promote overrides)")
    assert str(_client(cfg).get_model_version_by_alias(MODEL, "champion").version) == first.version


def test_a_failing_job_leaves_the_registry_and_champion_untouched(trained, demo_panel, monkeypatch):
    cfg, _ = trained
    client = _client(cfg)
    before = {str(v.version) for v in client.search_model_versions(f"name='{MODEL}'")}
    champion = str(client.get_model_version_by_alias(MODEL, "champion").version)

    def boom(*args, **kwargs):
        raise RuntimeError("disk full while logging the model")

    monkeypatch.setattr(train_job, "log_pipeline_model", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        train_job.run_training(cfg, panel=demo_panel)
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
    # The run's own settings, not the defaults: predict and now read the model's data and windows from here.
    stored = Config.from_dict(json.loads(json.dumps(info["config"])))
    assert stored == cfg and stored != Config()
    assert (stored.data, stored.model.n_states, stored.features.regime_zscore_window) == (cfg.data, 3, 0)
