"""MLflow records of a tuning worker: a nested run per trial, the study's artifacts at the end.

MLflow and matplotlib are imported inside the functions (only a running worker needs them).
"""

from __future__ import annotations

import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState


class MlflowTrialLogger:
    """Optuna callback: one MLflow run per finished trial, nested under the worker's run.

    Logs the trial's parameters, its value (``score``, complete trials only), the cumulative
    skill (``cum_score``) and the skill of each fold (``fold_score``) by fold step, its duration, its
    state and its configuration (``config.json``).

    Parameters
    ----------
    experiment_id : str
        The tuning experiment.
    parent_run_id : str
        The worker's run.
    study_name : str
        Tagged on every trial run (``optuna.study``).
    """

    def __init__(self, experiment_id: str, parent_run_id: str, study_name: str) -> None:
        self.experiment_id = experiment_id
        self.parent_run_id = parent_run_id
        self.study_name = study_name

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        """Log the finished ``trial`` as a terminated run (FAILED for a failed trial)."""
        from mlflow import MlflowClient
        from mlflow.entities import Metric, RunTag
        from mlflow.entities import Param as MlflowParam

        client = MlflowClient()
        start = int(trial.datetime_start.timestamp() * 1000) if trial.datetime_start else None
        end = int(trial.datetime_complete.timestamp() * 1000) if trial.datetime_complete else int(time.time() * 1000)
        tags = {"mlflow.parentRunId": self.parent_run_id, "optuna.study": self.study_name,
                "optuna.trial": str(trial.number), "optuna.state": trial.state.name,
                "optuna.worker": str(trial.user_attrs.get("worker", ""))}
        if "fail_reason" in trial.user_attrs:
            tags["optuna.fail_reason"] = str(trial.user_attrs["fail_reason"])[:5000]
        run = client.create_run(self.experiment_id, start_time=start, tags=tags, run_name=f"trial-{trial.number}")
        metrics = [Metric("cum_score", float(v), end, int(step)) for step, v in sorted(trial.intermediate_values.items())]
        metrics += [Metric("fold_score", float(v), end, k) for k, v in enumerate(trial.user_attrs.get("fold_score", []))]
        if trial.state == TrialState.COMPLETE:
            metrics.append(Metric("score", float(trial.value), end, 0))
        if trial.duration is not None:
            metrics.append(Metric("duration_s", trial.duration.total_seconds(), end, 0))
        client.log_batch(run.info.run_id, metrics=metrics,
                         params=[MlflowParam(k, str(v)) for k, v in trial.params.items()],
                         tags=[RunTag(k, v) for k, v in tags.items() if not k.startswith("mlflow.")])
        if "config" in trial.user_attrs:
            client.log_dict(run.info.run_id, trial.user_attrs["config"], "config.json")
        client.set_terminated(run.info.run_id, "FAILED" if trial.state == TrialState.FAIL else "FINISHED", end)


#: Complete trials below which the parameter-importance chart carries a caveat in its title: the
#: fANOVA forest fitted on a handful of points ranks parameters mostly by chance.
RELIABLE_IMPORTANCE_TRIALS = 30


def log_study_artifacts(run_id: str, study: optuna.Study, summary: dict[str, Any]) -> None:
    """Log the study's results to the worker's run, under ``study/``.

    The best trial (``best_trial.json``), all trials (``trials.csv``), the optimisation
    history (PNG) and, from two complete trials on, the fANOVA parameter importances
    (PNG and JSON; the PNG's title warns below :data:`RELIABLE_IMPORTANCE_TRIALS` trials).

    Parameters
    ----------
    run_id : str
        The worker's MLflow run.
    study : optuna.Study
    summary : dict of str -> Any
        The best trial's summary (see :func:`training.tuning.worker.trial_summary`).
    """
    import matplotlib
    import matplotlib.pyplot as plt
    from mlflow import MlflowClient
    from optuna.visualization import matplotlib as optuna_plots

    client = MlflowClient()
    client.log_dict(run_id, summary, "study/best_trial.json")
    with tempfile.TemporaryDirectory() as tmp:
        study.trials_dataframe().to_csv(Path(tmp) / "trials.csv", index=False)
        client.log_artifact(run_id, str(Path(tmp) / "trials.csv"), "study")
    plots = {"optimization_history": lambda: optuna_plots.plot_optimization_history(study)}
    n_complete = len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
    if n_complete >= 2:
        evaluator = optuna.importance.FanovaImportanceEvaluator(seed=0)
        client.log_dict(run_id, optuna.importance.get_param_importances(study, evaluator=evaluator),
                        "study/param_importances.json")
        plots["param_importances"] = lambda: optuna_plots.plot_param_importances(study, evaluator=evaluator)
    # Optuna's matplotlib plots are experimental and switch the global style: keep both local
    with warnings.catch_warnings(), matplotlib.rc_context():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        for name, plot in plots.items():
            ax = plot()
            if name == "param_importances" and n_complete < RELIABLE_IMPORTANCE_TRIALS:
                ax.figure.text(0.01, -0.02, f"Caveat: only {n_complete} complete trials; fANOVA importances from fewer "
                               f"than {RELIABLE_IMPORTANCE_TRIALS} trials are mostly noise.", color="#b00000",
                               fontsize=10, ha="left", va="top")
            client.log_figure(run_id, ax.figure, f"study/{name}.png", save_kwargs={"dpi": 110, "bbox_inches": "tight"})
            plt.close(ax.figure)
