"""``regime tune``: Optuna search over the walk-forward objective. Heavy imports stay inside the command."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from training.cli.common import (
    DataDirOpt,
    EndOpt,
    FollowSourceOpt,
    StartOpt,
    data_overrides,
    followed_data,
)

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial

    from training.tuning.worker import TuneResult


class TuneProgress:
    """Progress bars on stderr: trials of this worker and folds of the current trial; a line per trial."""

    def __init__(self, trials: int | None, origin: str = "") -> None:
        self.trials = trials
        self.origin = origin

    def __enter__(self) -> "TuneProgress":
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self._progress = Progress(
            SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(), console=Console(stderr=True), transient=True,
            redirect_stdout=sys.stdout.isatty(),  # printed lines stay on stdout when it is a file or a pipe
        )
        self._progress.__enter__()
        self._trials = self._progress.add_task("trials", total=self.trials)
        self._folds = self._progress.add_task("folds", total=None)
        return self

    def __exit__(self, *exc: Any) -> None:
        self._progress.__exit__(*exc)

    # the TuneReporter interface (duck-typed so rich and Optuna load only inside the command)
    def data(self, config: Any, panel: Any, note: str = "") -> None:
        from training.display.data_line import data_line

        print(data_line(config, panel.index, "; ".join(n for n in (self.origin, note) if n)), flush=True)

    def trial_started(self, number: int) -> None:
        self._progress.update(self._folds, description=f"trial {number} folds", total=None, completed=0)

    def fold(self, done: int, total: int) -> None:
        self._progress.update(self._folds, total=total, completed=done)

    def trial_finished(self, trial: "FrozenTrial", best: "FrozenTrial | None") -> None:
        state = trial.state.name.lower()
        if state == "complete":
            what = f"skill {trial.value:+.4f}"
        elif state == "pruned":
            step = max(trial.intermediate_values)
            what = f"at fold {step + 1} (cumulative skill {trial.intermediate_values[step]:+.4f})"
        else:
            what = str(trial.user_attrs.get("fail_reason", "see --debug"))
        lead = f"best skill {best.value:+.4f} (trial {best.number})" if best is not None else "no complete trial yet"
        self._progress.console.print(f"trial {trial.number} {state}: {what}; {lead}")
        self._progress.update(self._trials, advance=1, description=lead)

    def stage(self, name: str) -> None:
        self._progress.update(self._folds, description=name, total=None, completed=0)


def print_tune_result(result: "TuneResult") -> None:
    """The best trial with its sealed-segment score against the defaults', the study's counts, the pace and
    the exact `regime train` command on the data the study was tuned on."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    best, default = result.best, result.default
    counts = ", ".join(f"{n} {s.lower()}" for s, n in sorted(result.states.items()))
    console.print(f"Study [bold]{result.study}[/bold] in {result.storage}: {counts}. This worker: "
                  f"{result.worker_trials} trials in {result.elapsed_s / 60:.1f} min "
                  f"({result.trials_per_minute:.2f} trials/min). MLflow run {result.run_id}")
    if best is None:
        console.print("No complete trial yet.")
        return
    sealed = f"from {result.sealed_start}" if result.sealed_start else "none (--sealed-days 0)"
    t = Table(title=f"Walk-forward skill (R² vs the zero forecast, mean over horizons); sealed segment {sealed}")
    for col in ("trial", "tuning period", "sealed segment"):
        t.add_column(col, justify="right")
    for label, s in (("best", best), ("defaults", default)):
        if s is not None:
            ho = "–" if s["sealed_score"] is None else f"{s['sealed_score']:+.4f}"
            t.add_row(f"{label} (#{s['number']})", f"{s['value']:+.4f}", ho)
    console.print(t)
    console.print("Best parameters: " + ", ".join(f"{k}={_short(v)}" for k, v in best["params"].items()))
    if result.interrupted:
        console.print("[yellow]Interrupted: the sealed segment was not scored.[/yellow]")
    console.print("[dim]The sealed segment is for information: the champion gate judges the trained model on it.[/dim]")
    console.print(f"Train with them, on the data this study was tuned on: `{result.command}`", soft_wrap=True)


def _short(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def tune(
    trials: Annotated[Optional[int], typer.Option("--trials", help="Trials this worker runs (default 20; with --timeout alone: until the timeout).")] = None,
    timeout: Annotated[Optional[float], typer.Option("--timeout", help="Seconds after which this worker starts no new trial.")] = None,
    study: Annotated[Optional[str], typer.Option("--study", help="Study name; workers with the same name and storage share it (default btc-regime).")] = None,
    storage: Annotated[Optional[str], typer.Option("--storage", help="Journal file (one machine; default mlruns/optuna-journal.log) or database URL such as postgresql://user:pw@host/optuna (many machines).")] = None,
    sealed_days: Annotated[Optional[int], typer.Option("--sealed-days", help="Final business days sealed from tuning (default 504; 0 = none); scored only for the best trial and the defaults.")] = None,
    sampler_seed: Annotated[int, typer.Option("--sampler-seed", help="Seed of the TPE sampler (same seed, one worker: same trials).")] = 0,
    source: FollowSourceOpt = None,
    data_dir: DataDirOpt = None,
    start: StartOpt = None,
    end: EndOpt = None,
    horizon: Annotated[Optional[list[int]], typer.Option("--horizon", "-H", help="Forecast horizon to model and score; repeat for several (default 5, 21, 63).")] = None,
    initial_train: Annotated[Optional[int], typer.Option(help="Business days before the first walk-forward test date (default 756).")] = None,
    step: Annotated[Optional[int], typer.Option(help="Walk-forward refit cadence = pruning step, in business days (default 126).")] = None,
    window: Annotated[Optional[str], typer.Option(help="Walk-forward training window: expanding or rolling.")] = None,
    hmm_n_init: Annotated[int, typer.Option(help="HMM restarts per fit in every trial; the tuned model keeps this value.")] = 1,
    config: Annotated[Optional[Path], typer.Option("--config", help="TOML file with the settings not searched; options given here override it.")] = None,
    experiment: Annotated[Optional[str], typer.Option(help="MLflow experiment of the tuning runs (default btc-regime-tuning).")] = None,
    tracking_uri: Annotated[Optional[str], typer.Option(help="MLflow tracking URI (default $MLFLOW_TRACKING_URI or sqlite:///mlruns/mlflow.db).")] = None,
) -> None:
    """Tune LightGBM, HMM states and feature windows on the walk-forward skill, then score the sealed segment.

    Examples: `regime tune --trials 100`; on several machines, each runs
    `regime tune --trials 50 --storage postgresql://user:pw@db/optuna --study btc-21d -H 21`.
    It ends by printing the exact `regime train --params best ...` command for the data it
    tuned on. Ctrl-C stops after keeping every finished trial. Reads the champion's data unless
    --source/--data-dir or the --config's \\[data] say otherwise (the synthetic demo when no model
    is registered). See docs/tuning.md.
    """
    import logging

    import optuna

    from features.config import DataConfig
    from training.cli.common import STATE
    from training.config import Config
    from training.tuning.worker import (
        DEFAULT_STUDY,
        TUNE_EXPERIMENT,
        TuneSettings,
        run_tuning,
    )

    optuna.logging.set_verbosity(logging.DEBUG if STATE["debug"] else logging.ERROR)
    settings = TuneSettings(
        study=study or DEFAULT_STUDY, storage=storage, trials=20 if trials is None and timeout is None else trials,
        timeout=timeout, seed=sampler_seed,
    )
    cfg = Config.from_toml(config) if config else Config()
    followed, origin = followed_data(source, data_dir, told_by="--config" if cfg.data != DataConfig() else "",
                                     tracking_uri=tracking_uri)
    cfg = cfg.replace(
        data=followed | data_overrides(None, None, start, end),
        model={"hmm_n_init": hmm_n_init, **({"horizons": tuple(horizon)} if horizon else {})},
        evaluation={k: v for k, v in {"initial_train": initial_train, "step": step, "window": window,
                                      "sealed_days": sealed_days}.items() if v is not None},
        tracking={"experiment": experiment or TUNE_EXPERIMENT, **({"tracking_uri": tracking_uri} if tracking_uri else {})},
    )
    with TuneProgress(settings.trials, origin) as progress:
        result = run_tuning(cfg, settings, progress)
    print_tune_result(result)
    if result.interrupted:
        print("interrupted: finished trials are kept in the study", file=sys.stderr)
        sys.exit(130)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root ``app``."""
    app.command()(tune)
