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


def data_overrides(source: str | None, data_dir: Path | None, start: str | None, end: str | None,
                    seed: int | None = None, cache_dir: Path | None = None,
                    sources_file: Path | None = None) -> dict[str, Any]:
    raw = {"source": source, "data_dir": str(data_dir) if data_dir else None, "start": start, "end": end, "seed": seed,
           "cache_dir": str(cache_dir) if cache_dir else None, "sources_file": str(sources_file) if sources_file else None}
    if data_dir and not source:
        raw["source"] = "csv"
    return {k: v for k, v in raw.items() if v is not None}


def load_model(model_uri: str, tracking_uri: str | None):
    from training.tracking.model_io import load_pyfunc, unwrap
    from training.tracking.store import configure_tracking

    configure_tracking(tracking_uri)
    model = load_pyfunc(model_uri)
    pipeline, info = unwrap(model)
    return model, pipeline, info


def panel_for(info: dict[str, Any], source: str | None, data_dir: Path | None, seed: int | None = None):
    """The raw panel to score: the model's training source unless overridden."""
    from features.config import DataConfig
    from features.sources import load_panel

    trained = dict(info.get("config", {}).get("data", {}))
    overrides = data_overrides(source, data_dir, None, None, seed)
    if overrides.get("source") and overrides["source"] != trained.get("source"):
        trained = {"start": trained.get("start")}
    trained.update(overrides)
    trained["end"] = None
    return load_panel(DataConfig(**trained))


def date_filter(frame, start: str | None, end: str | None, column: str = "date"):
    import pandas as pd

    from features.errors import ConfigError

    dates = pd.to_datetime(frame[column])
    for name, value in (("--start", start), ("--end", end)):
        if value is not None:
            try:
                pd.Timestamp(value)
            except ValueError:
                raise ConfigError(f"`{name}` must be a date (YYYY-MM-DD). Got '{value}'.") from None
    keep = pd.Series(True, index=frame.index)
    if start:
        keep &= dates >= pd.Timestamp(start)
    if end:
        keep &= dates <= pd.Timestamp(end)
    return frame[keep]
