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
