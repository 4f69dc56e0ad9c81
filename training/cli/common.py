"""Pieces shared by the CLI modules: option types, the debug flag, model and data loading.

Kept apart from ``training.cli`` so sub-command modules can import them without a cycle.
Light imports only: this module is imported by ``regime --help``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

DEFAULT_MODEL_URI = "models:/btc-forward-return@champion"
STATE: dict[str, bool] = {"debug": False}

SourceOpt = Annotated[Optional[str], typer.Option("--source", help="Data source: demo (bundled synthetic market, default), csv (folder of <series>.csv with date,value) or live (cached Yahoo/FRED).")]
DataDirOpt = Annotated[Optional[Path], typer.Option("--data-dir", help="Folder of <series_id>.csv files (for --source csv), e.g. ../shared/data.")]
StartOpt = Annotated[Optional[str], typer.Option("--start", help="First date (YYYY-MM-DD).")]
EndOpt = Annotated[Optional[str], typer.Option("--end", help="Last date (YYYY-MM-DD).")]
ModelUriOpt = Annotated[str, typer.Option("--model-uri", help="MLflow model URI; load only from stores you trust (models are code).")]
AcceptOpt = Annotated[Optional[list[str]], typer.Option("--accept-implausible", help="Accept this series' implausible values, moves or stale stretches on purpose (warned, not refused); repeat for several.")]


def data_overrides(source: str | None, data_dir: Path | None, start: str | None, end: str | None,
                    seed: int | None = None, cache_dir: Path | None = None,
                    sources_file: Path | None = None, accept_implausible: list[str] | None = None) -> dict[str, Any]:
    raw = {"source": source, "data_dir": str(data_dir) if data_dir else None, "start": start, "end": end, "seed": seed,
           "cache_dir": str(cache_dir) if cache_dir else None, "sources_file": str(sources_file) if sources_file else None,
           "accept_implausible": tuple(accept_implausible) if accept_implausible else None}
    if data_dir and not source:
        raw["source"] = "csv"
    return {k: v for k, v in raw.items() if v is not None}


def load_model(model_uri: str, tracking_uri: str | None):
    from training.tracking.model_io import load_pyfunc, unwrap
    from training.tracking.store import configure_tracking

    configure_tracking(tracking_uri, write=False)  # reading a model writes nothing into the store
    model = load_pyfunc(model_uri)
    pipeline, info = unwrap(model)
    return model, pipeline, info


def panel_for(info: dict[str, Any], source: str | None, data_dir: Path | None, seed: int | None = None,
              accept_implausible: list[str] | None = None):
    """The raw panel to score: the model's training source unless overridden.

    Series accepted as implausible at training time stay accepted; ``accept_implausible``
    adds more.
    """
    from features.config import DataConfig
    from features.sources import load_panel

    trained = dict(info.get("config", {}).get("data", {}))
    overrides = data_overrides(source, data_dir, None, None, seed)
    accepted = tuple(trained.get("accept_implausible", ())) + tuple(accept_implausible or ())
    if overrides.get("source") and overrides["source"] != trained.get("source"):
        trained = {"start": trained.get("start")}
    trained.update(overrides)
    trained["end"] = None
    trained["accept_implausible"] = accepted
    return load_panel(DataConfig(**{k: v for k, v in trained.items() if k in DataConfig.__dataclass_fields__}))


def date_bounds(start: str | None, end: str | None) -> dict[str, Any]:
    """``--start``/``--end`` as dates (:mod:`features.dates`), or a one-line error naming the option."""
    from features.dates import parse_date

    return {name: parse_date(value, name) for name, value in (("--start", start), ("--end", end)) if value is not None}


def date_filter(frame, start: str | None, end: str | None, column: str = "date"):
    """Rows of ``frame`` whose ``column`` lies in ``[start, end]`` (dates by :mod:`features.dates`)."""
    import pandas as pd

    from features.dates import parse_dates
    from features.errors import ConfigError

    bounds = date_bounds(start, end)
    dates = pd.Series(parse_dates(frame[column]), index=frame.index)
    keep = pd.Series(True, index=frame.index)
    if "--start" in bounds:
        keep &= dates >= bounds["--start"]
    if "--end" in bounds:
        keep &= dates <= bounds["--end"]
    if len(frame) and not keep.any():
        raise ConfigError(f"no forecasts between {start or 'the start'} and {end or 'the end'}; "
                          f"there are forecasts from {dates.min():%Y-%m-%d} to {dates.max():%Y-%m-%d}")
    return frame[keep]


def check_output_file(path: Path | None, option: str = "--output") -> None:
    """Refuse an output file path that cannot be written, before any work is done.

    A directory, a path under a regular file, or a folder without write permission get one
    line naming the option; a missing parent folder is fine (it is created).
    """
    import os

    from features.errors import ConfigError

    if path is None:
        return
    if path.is_dir():
        raise ConfigError(f"`{option}` {path} is a directory; give a file name, e.g. {path / 'predictions.csv'}")
    parent = next((p for p in path.parents if p.exists()), Path("."))
    if not parent.is_dir():
        raise ConfigError(f"`{option}` {path}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise ConfigError(f"`{option}` {path}: no permission to write there")


def check_output_dir(path: Path, option: str = "--output-dir") -> None:
    """Refuse an output folder that is a file or sits under one, before any work is done."""
    from features.errors import ConfigError

    existing = next((p for p in (path, *path.parents) if p.exists()), Path("."))
    if not existing.is_dir():
        what = "is a file" if existing == path else f"is under {existing}, which is a file"
        raise ConfigError(f"`{option}` {path} {what}; expected a folder")
