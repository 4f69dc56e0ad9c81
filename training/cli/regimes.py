"""``regime regimes``: compare regime models (engines, states, covariance) and say which the evidence favours."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from training.cli.common import (
    DataDirOpt,
    EndOpt,
    FollowSourceOpt,
    StartOpt,
    data_overrides,
    followed_data,
)


def regimes(
    source: FollowSourceOpt = None,
    data_dir: DataDirOpt = None,
    start: StartOpt = None,
    end: EndOpt = None,
    n_states: Annotated[Optional[list[int]], typer.Option("--n-states", help="States to compare; repeat (default 3, 4, 5).")] = None,
    covariance: Annotated[Optional[list[str]], typer.Option("--covariance", help="HMM covariance types to compare; repeat (default diag).")] = None,
    anchor: Annotated[Optional[list[float]], typer.Option("--anchor", help="Strengths of the thesis's prior on the state means to compare, in pseudo-days (0 = free states); repeat (default 0, 700, 3000).")] = None,
    observations: Annotated[Optional[str], typer.Option("--observations", help="Comma-separated regime observations (default: the config's; names in features.observations).")] = None,
    zscore_window: Annotated[Optional[int], typer.Option("--zscore-window", help="Trailing z-score window of the observations (0 = raw moves).")] = None,
    sealed_days: Annotated[Optional[int], typer.Option("--sealed-days", help="Final business days left out of the comparison: the sealed test segment (default: the config's, 504).")] = None,
    forecast: Annotated[bool, typer.Option("--forecast", help="Also measure what each candidate's regimes add to the forecast (Diebold-Mariano vs the model without regimes; slower).")] = False,
    config: Annotated[Optional[Path], typer.Option("--config", help="TOML config (features, model) the candidates start from.")] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Also write the table to this CSV file.")] = None,
    tracking_uri: Annotated[Optional[str], typer.Option(help="MLflow tracking URI (the comparison is logged as a run).")] = None,
    no_log: Annotated[bool, typer.Option("--no-log", help="Do not log the comparison to MLflow.")] = False,
) -> None:
    """Compare regime models on the walk-forward and name the one the evidence favours.

    Each candidate runs the regime layer's own walk-forward under two seeds: out-of-sample
    log-likelihood per day, BIC, agreement across seeds, walk-forward vs final agreement, refit
    flips, mean spell, the smallest state's share, the regimes it can name, degeneracy.
    Eligible: not degenerate, names both fear and debasement, seeds agree on >= 95% of days,
    walk-forward vs final >= 90%, <= 3% of dates relabelled between refits; the eligible HMM
    with the highest out-of-sample log-likelihood wins (ties go to fewer states). The final
    --sealed-days are left out, so the choice never sees the test it is judged on.
    Reads the champion's data unless --source/--data-dir or the --config's \\[data] say otherwise
    (the synthetic demo when no model is registered).
    Example: `regime regimes --source csv --data-dir ../shared/data --anchor 0 --anchor 3000`.
    """
    from features.config import DataConfig
    from features.demo import generate_demo_market
    from features.errors import ConfigError
    from features.sources import load_panel
    from training.config import Config
    from training.display.console import console, print_regime_comparison
    from training.evaluation.regime_selection import Candidate
    from training.jobs.regimes import (
        compare_before_sealed,
        comparison_data,
        log_comparison,
    )

    cfg = Config.from_toml(config) if config else Config()
    features = {k: v for k, v in {"regime_observations": tuple(o.strip() for o in observations.split(",")) if observations else None,
                                  "regime_zscore_window": zscore_window}.items() if v is not None}
    followed, origin = followed_data(source, data_dir, told_by="--config" if cfg.data != DataConfig() else "",
                                     tracking_uri=tracking_uri)
    cfg = cfg.replace(data=followed | data_overrides(None, None, start, end), features=features,
                      evaluation={"sealed_days": sealed_days} if sealed_days is not None else {})
    states = n_states or [3, 4, 5]
    if any(k not in range(2, 7) for k in states):
        raise ConfigError(f"`--n-states` must be integers from 2 to 6. Got {states}.")
    covs = covariance or ["diag"]
    if any(c not in ("diag", "full") for c in covs):
        raise ConfigError(f"`--covariance` must be diag or full. Got {covs}.")
    anchors = anchor or [0.0, 700.0, 3000.0]
    if any(not a >= 0 for a in anchors):
        raise ConfigError(f"`--anchor` must be numbers >= 0 (pseudo-days). Got {anchors}.")
    candidates = [Candidate(k, c, a) for k in states for c in covs for a in anchors]
    panel = load_panel(cfg.data)
    design, description = comparison_data(cfg, panel, origin)
    typer.echo(description)
    truth = generate_demo_market(seed=cfg.data.seed).regimes if cfg.data.source == "demo" else None
    with console.status("comparing regime models") as status:
        table, _ = compare_before_sealed(
            cfg, panel, candidates, forecast=forecast, truth=truth,
            progress=lambda done, total, c: status.update(f"compared {done}/{total} regime models (last: {c.name})"),
        )
    print_regime_comparison(table)
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(output, index=False)
        console.print(f"Wrote {output}")
    if not no_log:
        run_id = log_comparison(cfg, table, description, tracking_uri)
        console.print(f"Logged as MLflow run {run_id}")


def register(app: typer.Typer) -> None:
    app.command("regimes")(regimes)
