"""A training run's page in MLflow: a few headline metrics, the full tables linked from its description."""

from __future__ import annotations

from training.tracking.run_page import FIGURES_ARTIFACT, describe_tables, headline_metrics


def test_headline_metrics_are_a_renamed_few_of_the_figures():
    figures = {f"{name}.{h}d": float(h) for h in (5, 21, 63)
               for name in ("model.ic", "model.r2_oos", "walk_forward.model.r2_zero", "dist.coverage",
                            "sealed.model.r2_zero", "linear.ic", "dist.crps", "strategy.long_flat.sharpe")}
    figures |= {"walk_forward.skill": 0.03, "sealed.skill": 0.12, "n_folds": 17.0, "gate.sealed.p_value": 0.4}
    headline = headline_metrics(figures, (5, 21, 63))
    assert len(headline) == 17
    assert headline["walk_forward.ic.21d"] == 21.0 and headline["walk_forward.coverage80.63d"] == 63.0
    assert headline["sealed.skill.5d"] == 5.0 and headline["sealed.skill"] == 0.12
    assert not any(k.startswith(("linear", "strategy", "gate", "n_folds")) for k in headline)
    assert "sealed.skill.5d" not in headline_metrics({"walk_forward.skill": 0.1}, (5,))  # absent figures are left out


def test_the_description_links_the_tables_the_run_holds():
    text = describe_tables("Trained on X.", "3", "abc", [FIGURES_ARTIFACT, "evaluation/folds.csv"])
    view = "?workflowType=machine_learning"
    assert text.startswith("Trained on X.\n\n**Full tables** (artifacts): "
                           f"[metrics.json](#/experiments/3/runs/abc/artifacts/evaluation/metrics.json{view}) · "
                           f"[folds.csv](#/experiments/3/runs/abc/artifacts/evaluation/folds.csv{view})\n")
    assert "\n- `metrics.json`: every figure of the run" in text and "**Metrics** hold the headline figures" in text
    assert "diebold_mariano" not in text  # not in this run
