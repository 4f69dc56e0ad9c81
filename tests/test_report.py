"""The HTML report: self-contained, every section, logged to MLflow, renders in a browser; ``regime now``."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from training.thesis.report import _table, event_figure, figure_png, leadlag_figure

CHROMIUM = Path("/usr/bin/chromium")
SECTIONS = {
    "now": "Current state",
    "timeline": "Regimes over BTC, silver and gold",
    "leadlag": "Lead-lag evidence",
    "walkforward": "Walk-forward results against baselines",
    "shap": "SHAP drivers",
}


def test_tables_escape_their_text():
    html = _table(pd.DataFrame({"name": ["<script>alert(1)</script>"], "value": [np.nan]}))
    assert "<script>" not in html and "&lt;script&gt;" in html and "–" in html


def test_leadlag_figures_are_png(demo_market):
    from features.align import align_point_in_time
    from training.thesis.leadlag import analyze_metal

    aligned = align_point_in_time(demo_market.panel.loc["2016":"2022"])
    regimes = demo_market.regimes.reindex(aligned.index)
    res = analyze_metal(aligned, "silver", regimes, max_lag=42, n_shifts=0)
    for fig in (leadlag_figure(res), event_figure(res)):
        assert figure_png(fig)[:8] == b"\x89PNG\r\n\x1a\n"


# --- with a trained model ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained_store(tmp_path_factory):
    """A small model trained into a temporary MLflow store, which stays selected for the module."""
    from training.config import Config
    from training.jobs.train import run_training

    tmp = tmp_path_factory.mktemp("store")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp}/mlflow.db")
        mp.chdir(tmp)
        result = run_training(Config().replace(
            evaluation={"initial_train": 504, "step": 252, "n_bootstrap": 0, "baselines": False},
            model={"hmm_n_init": 1},
            tracking={"force_promote": True},  # a small model may lose to the zero forecast on its sealed segment
        ))
        yield tmp, result


@pytest.fixture(scope="module")
def report_file(trained_store) -> Path:
    from training.cli import app

    tmp, _ = trained_store
    path = tmp / "out" / "report.html"
    result = CliRunner().invoke(app, ["report", "--output", str(path), "--max-lag", "42", "--shifts", "5"])
    assert result.exit_code == 0, result.output
    assert "Logged to run" in result.output
    return path


@pytest.mark.slow
def test_report_is_self_contained_and_has_every_section(report_file, trained_store):
    _, result = trained_store
    text = report_file.read_text(encoding="utf-8")
    assert "href=" not in text.lower()
    sources = re.findall(r"""src\s*=\s*["']([^"']*)""", text, flags=re.IGNORECASE)
    assert len(sources) >= 7 and all(s.startswith("data:image/png;base64,") for s in sources)  # with the fan chart
    assert "url(" not in text and "@import" not in text
    for anchor, heading in SECTIONS.items():
        assert f'id="{anchor}"' in text and heading in text
    assert f"btc-forward-return v{result.version} (@champion)" in text
    assert result.run_id in text
    assert f"trained on {result.data_range[0]} to {result.data_range[1]}" in text
    for phrase in ("Silver", "Gold", "Granger", "Event study", "What would flip the regime", "rank IC",
                   "P(up)", "Regime outlook", "coverage of the 80% band", "CRPS skill", "Regime forecast"):
        assert phrase in text


@pytest.mark.slow
def test_report_is_logged_to_the_model_run(report_file, trained_store):
    from mlflow import MlflowClient

    _, result = trained_store
    logged = [a.path for a in MlflowClient().list_artifacts(result.run_id, "report")]
    assert logged == ["report/report.html"]


@pytest.mark.slow
def test_report_renders_in_headless_chromium(report_file, tmp_path):
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium")
    from PIL import Image

    shot = tmp_path / "report.png"
    subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--screenshot={shot}",
         "--window-size=1280,4000", report_file.resolve().as_uri()],
        check=True, capture_output=True, timeout=120,
    )
    with Image.open(shot) as im:
        rgb = im.convert("RGB")
        assert rgb.size == (1280, 4000)
        assert rgb.getpixel((20, 20)) == (0x1D, 0x23, 0x30)  # the styled header rendered
        assert len(rgb.resize((320, 1000)).getcolors(maxcolors=1 << 16) or range(1 << 16)) > 200  # plots, not a blank page


@pytest.mark.slow
def test_now_command_prints_the_current_state(trained_store, monkeypatch):
    from training.cli import app

    tmp, _ = trained_store
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp}/mlflow.db")  # the per-test default points elsewhere
    result = CliRunner().invoke(app, ["now"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())  # titles wrap on a narrow terminal
    for phrase in ("regime", "business days", "Forecast of BTC's price change", "No reliable skill out of sample", "Top drivers",
                   "P(up)", "forecast distribution", "Regime outlook", "more business days", "Now: ",
                   "The thesis's sequence"):
        assert phrase in text
    assert "What would flip" in text or "No single observation move within" in text


@pytest.mark.slow
def test_now_without_a_model_is_a_model_error(tmp_path, monkeypatch):
    from features.errors import ModelError, StoreError
    from training.cli import app

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/empty.db")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["now"])
    # No store yet: refused before anything is written, saying a model must be trained first.
    assert isinstance(result.exception, StoreError) and "train a model first" in str(result.exception)
    assert not (tmp_path / "empty.db").exists()
    # A store without the model: a model error naming it.
    (tmp_path / "other").mkdir()
    from training.tracking.store import configure_tracking

    configure_tracking(f"sqlite:///{tmp_path}/other/mlflow.db")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/other/mlflow.db")
    result = CliRunner().invoke(app, ["now"])
    assert isinstance(result.exception, ModelError)


# --- the lead-lag scan logged with the training run ------------------------------------------------


def _same_frame(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Equal tables to the last bit: values, dtypes, index and column names (NaN equal to NaN)."""
    pd.testing.assert_frame_equal(a, b, check_exact=True, check_index_type=True, check_column_type=True)
    assert a.columns.name == b.columns.name and a.index.names == b.index.names and type(a.index) is type(b.index)
    for col in a.columns:
        x, y = a[col].to_numpy(), b[col].to_numpy()
        if x.dtype.kind == "f":
            assert np.array_equal(x.view(np.int64), y.view(np.int64)), col


def _same_leadlag(a, b) -> None:
    """Two :class:`LeadLagResult` objects hold the same numbers, bit for bit."""
    assert (a.metal, a.window, a.horizon, a.n_shifts) == (b.metal, b.window, b.horizon, b.n_shifts)
    for name in ("xcorr", "regressions", "best", "granger"):
        _same_frame(getattr(a, name), getattr(b, name))
    _same_frame(a.events.paths, b.events.paths)
    _same_frame(a.events.summary, b.events.summary)
    _same_frame(a.events.events.to_frame(), b.events.events.to_frame())
    assert (a.events.level, a.events.groups) == (b.events.level, b.events.groups)


def _shown(path: Path) -> str:
    """The whole report without the line saying where the lead-lag scan came from and the time it was generated."""
    text = re.sub(r'<p class="note">Lead-lag scan: [^<]*</p>', "", path.read_text(encoding="utf-8"))
    return re.sub(r"generated \d{4}-\d\d-\d\d \d\d:\d\d", "generated", text)


def test_scan_round_trips_and_its_key_names_what_changed(demo_market, tmp_path):
    import json

    from features.align import align_point_in_time
    from training.thesis import leadlag_store as store

    aligned = align_point_in_time(demo_market.panel.loc["2016":"2022"])
    regimes = demo_market.regimes.reindex(aligned.index)
    start = aligned.index[300]
    settings = store.ScanSettings(metals=("silver",), max_lag=42, n_shifts=3)
    key = store.scan_key(aligned, regimes, start, settings)
    results = store.run_scan(aligned, regimes, start, settings)
    store.write_scan(results, key, tmp_path)
    logged = json.loads((tmp_path / store.KEY_FILE).read_text(encoding="utf-8"))
    _same_leadlag(store.load_scan(tmp_path, logged)["silver"], results["silver"])
    logged = {k: v for k, v in logged.items() if k not in ("results", "figures")}
    assert store.key_difference(logged, key) is None
    changed = {
        "settings differ": store.scan_key(aligned, regimes, start, settings.__class__(("silver",), 21, n_shifts=3)),
        "end 2022-06-30": store.scan_key(aligned.loc[:"2022-06-30"], regimes, start, settings),
        "prices differ": store.scan_key(aligned.assign(silver_usd=aligned.silver_usd * 1.0001), regimes, start, settings),
        "regime labels differ": store.scan_key(aligned, regimes.shift(1), start, settings),
    }
    for phrase, other in changed.items():
        assert phrase in store.key_difference(logged, other)


@pytest.mark.slow
def test_report_reuses_the_runs_scan_and_shows_what_computing_now_shows(trained_store, tmp_path, monkeypatch):
    """The default report reuses what training logged (lead-lag scan, figures, SHAP values) and shows exactly
    what computing everything now shows."""
    from training.cli import app
    from training.cli.common import load_model
    from training.cli.thesis import _model_design, _model_regimes, _model_state_data
    from training.thesis import leadlag_store as store
    from training.thesis import report_cache

    store_dir, result = trained_store
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{store_dir}/mlflow.db")
    reused, fresh = tmp_path / "reused.html", tmp_path / "fresh.html"
    out = CliRunner().invoke(app, ["report", "--no-log", "-o", str(reused)])
    assert out.exit_code == 0, out.output
    assert f"Lead-lag scan: from the training run {result.run_id}" in out.output
    assert f"Lead-lag scan: from the training run {result.run_id}" in reused.read_text(encoding="utf-8")
    with monkeypatch.context() as mp:  # the same report with nothing reused: everything computed and drawn now
        mp.setattr(store, "logged_scan",
                   lambda run_id, key: store.LoggedScan(None, None, "lead-lag scan: computed now because a test asks"))
        mp.setattr(report_cache, "logged_figure", lambda *args: None)
        mp.setattr(report_cache, "logged_explanation", lambda *args: None)
        out = CliRunner().invoke(app, ["report", "--no-log", "-o", str(fresh)])
    assert out.exit_code == 0, out.output
    assert "Lead-lag scan: computed now because a test asks" in fresh.read_text(encoding="utf-8")
    assert _shown(reused) == _shown(fresh)
    assert len(re.findall("data:image/png", _shown(reused))) == 7  # every figure (fan, timeline, 2 x 2 lead-lag, SHAP)

    uri = "models:/btc-forward-return@champion"
    _, pipeline, info = load_model(uri, None)
    design = _model_design(pipeline, _model_state_data(info, pipeline, None, None, uri, None, None)[0])
    regimes = _model_regimes(pipeline, design)
    start = design.index[design.first_complete()]
    logged = store.logged_scan(info["run_id"], store.scan_key(design.aligned, regimes, start, store.ScanSettings()))
    now = store.run_scan(design.aligned, regimes, start, store.ScanSettings())
    assert set(logged.results) == set(now) == {"silver", "gold"}
    for metal in now:
        _same_leadlag(logged.results[metal], now[metal])
    assert logged.figures == store.figure_pngs(now)  # the figures drawn with the run are those drawn now
    from models.explain import explain_pipeline
    from training.display import plots
    from training.thesis.report_cache import logged_figure, shap_summary_artifact, shap_summary_key
    from training.thesis.report import _via_file

    expl = explain_pipeline(pipeline, design, 21)
    logged_expl = report_cache.logged_explanation(info["run_id"], pipeline, design, 21)
    for name in ("values", "features"):
        _same_frame(getattr(logged_expl, name), getattr(expl, name))
        assert getattr(logged_expl, name).index.freq == getattr(expl, name).index.freq
    pd.testing.assert_series_equal(logged_expl.forecast, expl.forecast, check_exact=True)
    assert (logged_expl.horizon, logged_expl.base_value) == (expl.horizon, expl.base_value)
    assert report_cache.logged_explanation(info["run_id"], pipeline, _model_design(
        pipeline, _model_state_data(info, pipeline, None, None, uri, None, "2022-06-30")[0]), 21) is None
    shap_png = logged_figure(info["run_id"], shap_summary_artifact(21), shap_summary_key(expl))
    assert shap_png is not None and shap_png == _via_file(plots.shap_summary, expl)
    assert logged_figure(info["run_id"], shap_summary_artifact(21), {**shap_summary_key(expl), "font": "other"}) is None
    from training.thesis.report_cache import TIMELINE_ARTIFACT, timeline_key
    from training.thesis.now import load_oos_regimes

    oos = load_oos_regimes(info["run_id"]).dropna()
    timeline = logged_figure(info["run_id"], TIMELINE_ARTIFACT, timeline_key(design.aligned, oos))
    assert timeline is not None and timeline == _via_file(plots.regime_timeline, design.aligned, oos)
    assert logged_figure(info["run_id"], TIMELINE_ARTIFACT, timeline_key(design.aligned, oos.iloc[:-1])) is None
    from training.cli.thesis import _state
    from training.thesis.report_cache import FAN_ARTIFACT, fan_key

    state = _state(pipeline, info, design)[1]
    btc = design.aligned["btc_usd"]
    fan = logged_figure(info["run_id"], FAN_ARTIFACT, fan_key(btc, state.date, state.fan))
    assert fan is not None and fan == _via_file(plots.fan_chart, btc, state.date, state.fan)
    earlier = btc.index[-2]
    assert logged_figure(info["run_id"], FAN_ARTIFACT, fan_key(btc, earlier, state.fan)) is None


@pytest.mark.slow
def test_report_computes_the_scan_now_for_other_settings_or_an_earlier_date(report_file, trained_store, tmp_path,
                                                                         monkeypatch):
    from training.cli import app

    store_dir, result = trained_store
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{store_dir}/mlflow.db")
    text = report_file.read_text(encoding="utf-8")  # --max-lag 42 --shifts 5
    assert "Lead-lag scan: computed now because its settings differ from the training run" in text
    assert "max_lag 42 here, 126 in the run" in text
    out = CliRunner().invoke(app, ["report", "--no-log", "-o", str(tmp_path / "r.html"), "--as-of", "2023-06-30"])
    assert out.exit_code == 0, out.output
    assert "Lead-lag scan: computed now because its data end 2023-06-30" in out.output
    assert "from the training run" not in (tmp_path / "r.html").read_text(encoding="utf-8")
