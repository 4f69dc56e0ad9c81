"""The ``regime`` command line: parse, call the job, print. Heavy imports stay inside commands."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from training.cli.common import (
    DEFAULT_MODEL_URI,
    OUTPUTS,
    STATE,
    AcceptOpt,
    BridgeOpt,
    DataDirOpt,
    EndOpt,
    ModelDataDirOpt,
    ModelSourceOpt,
    ModelUriOpt,
    SourceOpt,
    StartOpt,
    check_output_dir,
    check_output_file,
    data_overrides,
    date_bounds,
    date_filter,
    load_model,
    panel_for,
    plain_help,
)

app = typer.Typer(
    help=(
        "Macro regime forecasting of Bitcoin from metals, yields and the dollar.\n\n"
        "Typical session: `regime train` (demo market) or "
        "`regime train --source csv --data-dir ../shared/data`, then `regime predict` and "
        "`regime explain --date 2024-03-15`. Runs and models go to the MLflow store in "
        "./mlruns (or $MLFLOW_TRACKING_URI); browse them with `regime ui`."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},  # sub-commands inherit it
)


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks and debug logs on errors.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Also show the libraries' INFO lines (MLflow's store and registry messages).")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only warnings and results.")] = False,
) -> None:
    from training.cli.verbosity import configure_logging

    STATE["debug"] = debug
    configure_logging(debug=debug, verbose=verbose, quiet=quiet)


@app.command()
def train(
    source: SourceOpt = None,
    data_dir: DataDirOpt = None,
    start: StartOpt = None,
    end: EndOpt = None,
    seed: Annotated[Optional[int], typer.Option(help="Seed of the demo market.")] = None,
    cache_dir: Annotated[Optional[Path], typer.Option(help="Cache folder of --source live (default $REGIME_CACHE_DIR or the user cache).")] = None,
    sources_file: Annotated[Optional[Path], typer.Option(help="TOML mapping of live series to provider symbols (see docs/data.md).")] = None,
    horizon: Annotated[Optional[list[int]], typer.Option("--horizon", "-H", help="Forecast horizon in business days; repeat for several (default 5, 21, 63).")] = None,
    n_states: Annotated[Optional[int], typer.Option(help="Regime states, 2 to 6 (default 5: fear, debasement, stress, tightening, calm, one per signature and a neutral one); see `regime regimes` for the evidence.")] = None,
    initial_train: Annotated[Optional[int], typer.Option(help="Business days of history before the first walk-forward test date (default 756 = 3 years).")] = None,
    step: Annotated[Optional[int], typer.Option(help="Walk-forward refit cadence in business days (default 126).")] = None,
    window: Annotated[Optional[str], typer.Option(help="Walk-forward training window: expanding or rolling.")] = None,
    embargo: Annotated[Optional[int], typer.Option(help="Extra business days dropped after the purge.")] = None,
    n_bootstrap: Annotated[Optional[int], typer.Option(help="Block-bootstrap resamples for confidence intervals (0 = none).")] = None,
    sealed_days: Annotated[Optional[int], typer.Option("--sealed-days", help="Final business days sealed from tuning, on which the champion gate judges (default 504; 0 = none).")] = None,
    no_baselines: Annotated[bool, typer.Option("--no-baselines", help="Skip the linear and no-regime baselines (faster).")] = False,
    compare_regimes: Annotated[bool, typer.Option("--compare-regimes", help="Also compare HMMs with 2, 3 and 4 states before the sealed segment and log the table with the run (slower; see `regime regimes`).")] = False,
    config: Annotated[Optional[Path], typer.Option("--config", help="TOML file with \\[data] \\[features] \\[model] \\[evaluation] \\[tracking] sections; options given here override it.")] = None,
    params: Annotated[Optional[str], typer.Option("--params", help="'best' uses the best trial of the tuning study (see `regime tune`); only on the data the study was tuned on.")] = None,
    study: Annotated[Optional[str], typer.Option(help="Tuning study name for --params best.")] = None,
    storage: Annotated[Optional[str], typer.Option(help="Tuning storage (journal file path or RDB URL) for --params best.")] = None,
    experiment: Annotated[Optional[str], typer.Option(help="MLflow experiment name.")] = None,
    tracking_uri: Annotated[Optional[str], typer.Option(help="MLflow tracking URI (default $MLFLOW_TRACKING_URI or sqlite:///mlruns/mlflow.db).")] = None,
    no_register: Annotated[bool, typer.Option("--no-register", help="Log the run but do not register the model.")] = False,
    force_promote: Annotated[bool, typer.Option("--force-promote", help="Make this version champion even if it does not beat the current one.")] = False,
    promote_without_lock: Annotated[bool, typer.Option("--promote-without-lock", help="Promote into a remote store with no lock ($REGIME_LOCK_URL unset): you serialise the trainings that register into it (see docs/deploy.md).")] = False,
    accept_implausible: AcceptOpt = None,
    bridge_gaps: BridgeOpt = None,
) -> None:
    """Train on a data source: walk-forward evaluation vs baselines, final fit, MLflow run, registry.

    Examples: `regime train` (demo market, ~30 s); `regime train --source csv --data-dir ../shared/data`;
    `regime train -H 21 -H 63 --n-states 2`.
    """
    from training.config import Config
    from training.display.console import TrainProgress, print_training_result
    from training.jobs.train import run_training

    cfg = Config.from_toml(config) if config else Config()
    tuned = None
    if params:
        from training.tuning.worker import best_config

        cfg, tuned = best_config(cfg, params, study, storage)
    cfg = cfg.replace(
        data=data_overrides(source, data_dir, start, end, seed, cache_dir, sources_file, accept_implausible, bridge_gaps),
        model={k: v for k, v in {"horizons": tuple(horizon) if horizon else None, "n_states": n_states, "embargo": embargo}.items() if v is not None},
        evaluation={k: v for k, v in {"initial_train": initial_train, "step": step, "window": window,
                                      "n_bootstrap": n_bootstrap, "baselines": False if no_baselines else None,
                                      "compare_regimes": True if compare_regimes else None,
                                      "sealed_days": sealed_days}.items() if v is not None},
        tracking={k: v for k, v in {"experiment": experiment, "tracking_uri": tracking_uri,
                                    "register": False if no_register else None, "force_promote": force_promote or None,
                                    "promote_without_lock": promote_without_lock or None}.items() if v is not None},
    )
    with TrainProgress() as progress:
        result = run_training(cfg, progress, tuned=tuned)
    print_training_result(result, cfg)


@app.command()
def predict(
    model_uri: ModelUriOpt = DEFAULT_MODEL_URI,
    source: ModelSourceOpt = None,
    data_dir: ModelDataDirOpt = None,
    start: StartOpt = None,
    end: EndOpt = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write all predicted rows to this CSV file.")] = None,
    rows: Annotated[int, typer.Option(help="Rows to print (the latest).")] = 10,
    tracking_uri: Annotated[Optional[str], typer.Option(help="MLflow tracking URI.")] = None,
    accept_implausible: AcceptOpt = None,
    bridge_gaps: BridgeOpt = None,
) -> None:
    """Forecast BTC's forward log returns with a registered model (default: the champion).

    Reads the same data source the model was trained on unless --source/--data-dir are given, up to
    --end (the data are cut there before any check) and up to the last date on which every series the
    model needs is current: series that end early are named in a warning. Output columns: date, regime, p_<regime>, forecast_<h>d (log returns), then q10/q50/q90_<h>d and
    p_up_<h>d (the forecast distribution), p_<regime>_<h>d (regime forecast) and spell_left_days. Rows start once the
    history is long enough for an exact answer (see docs/reliability.md, serving).
    """
    from features.errors import ConfigError, DataError
    from training.display.console import print_predictions
    from training.display.skill import skill_line
    from training.tracking.runs import read_run_figures

    if rows < 0:
        raise ConfigError(f"`--rows` must be >= 0. Got {rows}.")
    check_output_file(output)
    date_bounds(start, end)  # a bad --start/--end is refused before any work
    model, pipeline, info = load_model(model_uri, tracking_uri)
    panel = panel_for(info, source, data_dir, model_uri=model_uri, tracking_uri=tracking_uri,
                      accept_implausible=accept_implausible, end=end, needs=tuple(pipeline.input_series_),
                      bridge_gaps=bridge_gaps)
    frame = panel.reset_index()
    params = {k: v for k, v in (("accept_implausible", accept_implausible), ("bridge_gaps", bridge_gaps)) if v}
    out = date_filter(model.predict(frame, params=params or None), start, end)
    if out.empty:
        raise ConfigError("no forecasts in the requested date range")
    if output:
        try:
            output.parent.mkdir(parents=True, exist_ok=True)
            out.to_csv(output, index=False)
        except OSError as exc:
            raise DataError(f"cannot write `--output` {output}: {exc.strerror or exc}") from None
    figures, sealed = read_run_figures(info["run_id"])
    print_predictions(out, rows, model_uri, output, skill_line(figures, tuple(pipeline.horizons), sealed))


@app.command()
def explain(
    model_uri: ModelUriOpt = DEFAULT_MODEL_URI,
    date: Annotated[Optional[str], typer.Option(help="Date to explain (YYYY-MM-DD; default: the latest).")] = None,
    start: StartOpt = None,
    end: EndOpt = None,
    horizon: Annotated[Optional[int], typer.Option("--horizon", "-H", help="Which horizon's forecaster (default 21 if present).")] = None,
    top: Annotated[int, typer.Option(help="Number of drivers to show.")] = 8,
    by_regime: Annotated[bool, typer.Option("--by-regime", help="Signed mean contribution of each driver family on each regime's days, with the days behind it.")] = False,
    output_dir: Annotated[Path, typer.Option(help="Where PNG plots and CSV/JSON contributions go.")] = OUTPUTS / "explain",
    source: ModelSourceOpt = None,
    data_dir: ModelDataDirOpt = None,
    tracking_uri: Annotated[Optional[str], typer.Option(help="MLflow tracking URI.")] = None,
    accept_implausible: AcceptOpt = None,
    bridge_gaps: BridgeOpt = None,
) -> None:
    """Explain a forecast with SHAP: top drivers with values, percentiles and contributions, by driver family.

    Contributions are printed in points of simple return (they add up to the % forecast minus the
    baseline's %), next to the forecast's measured skill. Writes a waterfall plot for the date, a global
    summary plot, the contributions as CSV (log-return units, contributions_log_<h>d.csv) and JSON.
    """
    from features.dates import parse_date
    from features.errors import ConfigError
    from training.jobs.explain import run_explain
    from training.tracking.runs import read_run_figures

    if top < 1:
        raise ConfigError(f"`--top` must be >= 1. Got {top}.")
    if horizon is not None and horizon < 1:
        raise ConfigError(f"`--horizon` must be >= 1 business day. Got {horizon}.")
    check_output_dir(output_dir)
    date_bounds(start, end)  # a bad --start/--end is refused before any work
    if date is not None:
        parse_date(date, "--date")
    _, pipeline, info = load_model(model_uri, tracking_uri)
    panel = panel_for(info, source, data_dir, model_uri=model_uri, tracking_uri=tracking_uri,
                      accept_implausible=accept_implausible, needs=tuple(pipeline.input_series_),
                      bridge_gaps=bridge_gaps)
    run_explain(pipeline, panel, date=date, start=start, end=end, horizon=horizon, top=top,
                by_regime=by_regime, output_dir=output_dir, figures=read_run_figures(info["run_id"])[0])


def _register_subcommands() -> None:
    from training.cli import data as cli_data
    from training.cli import regimes as cli_regimes
    from training.cli import thesis as cli_thesis
    from training.cli import tune as cli_tune
    from training.cli import ui as cli_ui

    app.add_typer(cli_data.app, name="data")
    cli_thesis.register(app)
    cli_tune.register(app)
    cli_regimes.register(app)
    cli_ui.register(app)
    plain_help(app)


_register_subcommands()


def main() -> None:
    """Console entry point: turns user-facing errors into one line and a non-zero exit."""
    import os

    import click
    from typer.exceptions import Abort as TyperAbort
    from typer.exceptions import TyperException

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    try:
        code = app(standalone_mode=False)
    except (click.exceptions.ClickException, TyperException) as exc:  # typer >= 0.25 carries its own click
        ctx = getattr(exc, "ctx", None)
        hint = f" (`{ctx.command_path} -h` lists the options)" if ctx is not None else ""
        print(f"error: {' '.join(exc.format_message().split())}{hint}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except (click.exceptions.Abort, TyperAbort):
        print("aborted", file=sys.stderr)
        sys.exit(130)
    except KeyboardInterrupt:
        print("interrupted: finished work was kept, the registry is unchanged", file=sys.stderr)
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the one place that turns errors into messages
        from features.errors import RegimeError

        if STATE["debug"]:
            raise
        if isinstance(exc, RegimeError):
            print(f"error: {exc}", file=sys.stderr)
            sys.exit(2)
        from training.cli.plain import plain_error

        if plain := plain_error(exc):
            print(f"error: {plain}", file=sys.stderr)
            sys.exit(2)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        print(f"error: unexpected {type(exc).__name__}: {first} (run with --debug for the traceback)", file=sys.stderr)
        sys.exit(1)
    if code == 130:  # Typer returns (does not raise) its exit code for Ctrl-C when standalone_mode=False
        print("interrupted: finished work was kept, the registry is unchanged", file=sys.stderr)
    if isinstance(code, int) and code:
        sys.exit(code)


if __name__ == "__main__":
    main()
