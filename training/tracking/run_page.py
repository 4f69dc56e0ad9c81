"""What a training run's page in MLflow's UI shows: a few headline metrics, and links to the full tables.

MLflow draws one chart per metric; a run that logged every table entry as a metric (467 of
them) hid its scores among hundreds of single-bar charts. A run now logs as metrics only the
figures runs are compared by (:func:`headline_metrics`); every figure, under the names earlier
runs used as metrics, is in ``evaluation/metrics.json``, and the tables are CSV artifacts,
linked from the run's description (:func:`describe_tables`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

#: Artifact of a training run with every figure it computed, flat (``model.ic.21d``, ``dist.coverage.21d``, ``gate.*``).
FIGURES_ARTIFACT = "evaluation/metrics.json"

#: The full tables of a training run, as linked from its description: artifact path and what it holds.
TABLES: tuple[tuple[str, str], ...] = (
    (FIGURES_ARTIFACT, "every figure of the run by name (the metrics runs logged before, the gate's figures)"),
    ("evaluation/walk_forward_scores.csv", "IC, OOS R², hit rate, MAE with 90% intervals, model and baselines, "
                                           "overall and per regime"),
    ("evaluation/squared_error_by_segment.csv", "MSE, R² vs zero and vs the expanding mean, IC: whole walk-forward "
                                                "and sealed segment"),
    ("evaluation/diebold_mariano.csv", "the model against each baseline"),
    ("evaluation/fold_scores.csv", "scores per walk-forward fold"),
    ("evaluation/distribution/distribution.csv", "80% band coverage, pinball, CRPS and Brier scores of the "
                                                 "forecast distributions"),
    ("evaluation/distribution/regime.csv", "Brier and log scores of the regime forecast"),
    ("evaluation/regime_quality.csv", "stability and names of the regime model"),
    ("evaluation/strategy_illustrative.csv", "the illustrative long/flat strategy against buy-and-hold"),
    ("evaluation/folds.csv", "the walk-forward folds' dates"),
)


def headline_metrics(figures: Mapping[str, float], horizons: Iterable[int]) -> dict[str, float]:
    """The figures runs are compared by, under short names, from the run's full ``figures``.

    Per horizon: the model's walk-forward IC (``walk_forward.ic.<h>d``), OOS R² against the
    expanding mean (``walk_forward.r2_oos.<h>d``), skill, i.e. R² against the zero forecast
    (``walk_forward.skill.<h>d``), the 80% band's coverage (``walk_forward.coverage80.<h>d``)
    and the skill on the sealed segment (``sealed.skill.<h>d``); over horizons, the pooled
    skills ``walk_forward.skill`` and ``sealed.skill`` (the gate's score, also version tags).

    Parameters
    ----------
    figures : mapping of str -> float
        Every figure of the run (what ``evaluation/metrics.json`` holds).
    horizons : iterable of int

    Returns
    -------
    dict of str -> float
        Those present in ``figures``; 17 for three horizons.
    """
    names = {"walk_forward.skill": "walk_forward.skill", "sealed.skill": "sealed.skill"}
    for h in horizons:
        names |= {f"walk_forward.ic.{h}d": f"model.ic.{h}d", f"walk_forward.r2_oos.{h}d": f"model.r2_oos.{h}d",
                  f"walk_forward.skill.{h}d": f"walk_forward.model.r2_zero.{h}d",
                  f"walk_forward.coverage80.{h}d": f"dist.coverage.{h}d",
                  f"sealed.skill.{h}d": f"sealed.model.r2_zero.{h}d"}
    return {short: float(figures[full]) for short, full in names.items() if full in figures}


def describe_tables(description: str, experiment_id: str, run_id: str, present: Iterable[str]) -> str:
    """The run's description (markdown): what it was trained on, links to its full tables, what its metrics are.

    The links come first, where the UI shows a description before "Show more"; they open the
    UI's artifact pages in its "Model training" view.

    Parameters
    ----------
    description : str
        What the run was trained on.
    experiment_id, run_id : str
        For the links.
    present : iterable of str
        Artifact paths the run holds; tables not among them are not listed.

    Returns
    -------
    str
    """
    from training.tracking.ui_server import TRAINING_VIEW

    have = set(present)
    links = [f"[{path.removeprefix('evaluation/')}](#/experiments/{experiment_id}/runs/{run_id}/artifacts/{path}"
             f"{TRAINING_VIEW})" for path, _ in TABLES if path in have]
    contents = [f"- `{path.removeprefix('evaluation/')}`: {what}" for path, what in TABLES if path in have]
    return "\n".join([
        description, "",
        "**Full tables** (artifacts): " + " · ".join(links), "",
        "**Metrics** hold the headline figures: per horizon the walk-forward IC, OOS R² (vs the expanding mean), "
        "skill (R² vs the zero forecast), 80% band coverage and the sealed segment's skill; `walk_forward.skill` and "
        "`sealed.skill` pool the horizons (the champion gate's score). The tables:", "", *contents,
    ])
