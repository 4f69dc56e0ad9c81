"""Pieces shared by the CLI modules: option types, the debug flag, model and data loading.

Kept apart from ``training.cli`` so sub-command modules can import them without a cycle.
Light imports only: this module is imported by ``regime --help``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

DEFAULT_MODEL_URI = "models:/btc-forward-return@champion"
#: Where commands write their files unless an option names another place (git-ignored).
OUTPUTS = Path("outputs")
STATE: dict[str, bool] = {"debug": False}

SourceOpt = Annotated[Optional[str], typer.Option("--source", help="Data source: demo (bundled synthetic market, default), csv (folder of <series>.csv with date,value) or live (cached Yahoo/FRED).")]
FollowSourceOpt = Annotated[Optional[str], typer.Option("--source", help="Data source: by default the champion's (its folder, cache or demo seed; the synthetic demo when no model is registered); demo, csv or live to choose.")]
DataDirOpt = Annotated[Optional[Path], typer.Option("--data-dir", help="Folder of <series_id>.csv files (for --source csv), e.g. ../shared/data.")]
StartOpt = Annotated[Optional[str], typer.Option("--start", help="First date (YYYY-MM-DD).")]
EndOpt = Annotated[Optional[str], typer.Option("--end", help="Last date (YYYY-MM-DD).")]
ModelSourceOpt = Annotated[Optional[str], typer.Option("--source", help="Data source: by default the one the model was trained on (same folder, cache or demo seed); demo, csv or live to read another.")]
ModelDataDirOpt = Annotated[Optional[Path], typer.Option("--data-dir", help="Folder of <series_id>.csv files to read instead of the model's own data (implies --source csv).")]
ModelUriOpt = Annotated[str, typer.Option("--model-uri", help="MLflow model URI; load only from stores you trust (models are code).")]
AcceptOpt = Annotated[Optional[list[str]], typer.Option("--accept-implausible", help="Accept this series' implausible values, moves or stale stretches on purpose (warned, not refused); repeat for several.")]
BridgeOpt = Annotated[Optional[list[str]], typer.Option("--bridge-gaps", help="Bridge this series' holes (longer than a month for daily series) on purpose: its last value is carried across, with a warning naming the dates; repeat for several.")]


def plain_help(app: typer.Typer) -> typer.Typer:
    """Make the commands' docstrings print as written prose under typer's rich help.

    Typer keeps a docstring's line breaks after its first paragraph, so a help text wrapped
    for the source breaks mid-sentence in the terminal; each paragraph is joined into one
    line here (the terminal wraps it). Paragraphs starting with ``\\b`` are left as they are.
    """
    import inspect

    def reflow(text: str) -> str:
        paragraphs = inspect.cleandoc(text).split("\n\n")
        return "\n\n".join(p if p.startswith("\b") else " ".join(p.split()) for p in paragraphs)

    for info in app.registered_commands:
        doc = info.help or inspect.getdoc(info.callback)
        if doc:
            info.help = reflow(doc)
    for group in app.registered_groups:
        plain_help(group.typer_instance)
    return app


def data_overrides(source: str | None, data_dir: Path | None, start: str | None, end: str | None,
                    seed: int | None = None, cache_dir: Path | None = None,
                    sources_file: Path | None = None, accept_implausible: list[str] | None = None,
                    bridge_gaps: list[str] | None = None) -> dict[str, Any]:
    from training.display.data_line import absolute

    raw = {"source": source, "data_dir": str(absolute(data_dir)) if data_dir else None, "start": start, "end": end,
           "seed": seed, "cache_dir": str(absolute(cache_dir)) if cache_dir else None,
           "sources_file": str(absolute(sources_file)) if sources_file else None,
           "accept_implausible": tuple(accept_implausible) if accept_implausible else None,
           "bridge_gaps": tuple(bridge_gaps) if bridge_gaps else None}
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


def _stored_data_dir(stored: str, tracking_uri: str | None) -> str:
    """An absolute form of the data folder a model stored.

    ``regime train`` stores an absolute path; older models stored the folder as typed
    (``../shared/data``), relative to wherever training ran. Such a path is tried from the
    current folder, then from the folder holding the MLflow store's ``mlruns/`` (where
    ``regime train`` ran for the default store).
    """
    from features.errors import DataError
    from training.display.data_line import absolute
    from training.tracking.store import resolve_tracking_uri

    path = Path(stored).expanduser()
    if path.is_absolute():
        return str(path)
    here = absolute(path)
    if here.is_dir():
        return str(here)
    uri = resolve_tracking_uri(tracking_uri)
    if uri.startswith("sqlite:///"):
        beside_store = absolute(Path(uri.removeprefix("sqlite:///")).parent.parent / path)
        if beside_store.is_dir():
            return str(beside_store)
        where = f"from here ({absolute('.')}) nor from the store's folder ({beside_store.parent})"
    else:
        where = f"from here ({absolute('.')})"
    raise DataError(f"the model's data folder '{stored}' is a relative path found neither {where}; "
                    "pass --data-dir")


def model_data(info: dict[str, Any], model_uri: str, source: str | None, data_dir: Path | None,
               seed: int | None = None, tracking_uri: str | None = None, accept_implausible: list[str] | None = None,
               end: str | None = None, bridge_gaps: list[str] | None = None):
    """Which data a command on a trained model reads, and how that relates to the model.

    The model's own training source (its folder, cache or demo seed) unless ``--source``,
    ``--data-dir`` or ``--seed`` override it; read up to the latest date, or to ``end``
    (``--end``, ``--as-of``: the data are cut there before any check). Series accepted as
    implausible at training time stay accepted; ``accept_implausible`` adds more; likewise the
    series whose holes were bridged (``bridge_gaps``).

    Returns
    -------
    config : DataConfig
    note : str
        The data line's note, e.g. ``the training source of models:/...@champion (fitted on ... → ...),
        read to its latest date``.

    Raises
    ------
    ModelError
        The model stores no data settings and no option says which data to read.
    DataError
        The model stored a relative folder that is not found (see :func:`_stored_data_dir`).
    """
    import dataclasses

    from features.config import DataConfig
    from features.errors import DataError, ModelError
    from training.display.data_line import describe_source

    known = {f.name for f in dataclasses.fields(DataConfig)}
    trained = {k: v for k, v in ((info.get("config") or {}).get("data") or {}).items() if k in known}
    overrides = data_overrides(source, data_dir, None, None, seed)
    fitted = " → ".join(str(d) for d in info.get("data_range", ())) or "dates unknown"
    to = f"read to {end}" if end else "read to its latest date"
    accepted = {"accept_implausible": tuple(trained.get("accept_implausible", ())) + tuple(accept_implausible or ()),
                "bridge_gaps": tuple(trained.get("bridge_gaps", ())) + tuple(bridge_gaps or ())}
    if not overrides:
        if not trained:
            raise ModelError(f"model '{model_uri}' stores no data settings; pass --source/--data-dir")
        if trained.get("source") == "csv" and trained.get("data_dir"):
            trained["data_dir"] = _stored_data_dir(trained["data_dir"], tracking_uri)
        return (DataConfig(**{**trained, "end": end, **accepted}),
                f"the training source of {model_uri} (fitted on {fitted}), {to}")
    if trained:
        if trained.get("source") == "csv" and trained.get("data_dir"):
            try:
                trained["data_dir"] = _stored_data_dir(trained["data_dir"], tracking_uri)
            except DataError:
                pass  # only described below
        was = f"{model_uri} was trained on {describe_source(DataConfig(**trained))}, {fitted}"
    else:
        was = f"{model_uri} stores no data settings"
    if overrides.get("source", trained.get("source")) != trained.get("source"):
        trained = {"start": trained["start"]} if "start" in trained else {}
    given = " and ".join(name for name, value in (("--source", source), ("--data-dir", data_dir), ("--seed", seed))
                         if value is not None)
    note = f"chosen by {given}: {was}" + (f"; {to}" if end else "")
    return DataConfig(**{**trained, **overrides, "end": end, **accepted}), note


def registered_info(model_uri: str = DEFAULT_MODEL_URI, tracking_uri: str | None = None) -> dict[str, Any] | None:
    """The record of a registered model (:func:`~training.tracking.model_io.read_model_info`), or None.

    None when the store does not exist or is empty (nothing is created in it) or holds no such model.
    """
    from training.tracking.model_io import read_model_info
    from training.tracking.store import configure_tracking, resolve_tracking_uri, sqlite_path

    db = sqlite_path(resolve_tracking_uri(tracking_uri))
    if db is not None and (not db.is_file() or db.stat().st_size == 0):
        return None
    configure_tracking(tracking_uri, write=False)
    return read_model_info(model_uri)


def followed_data(source: str | None, data_dir: Path | None, told_by: str = "",
                  model_uri: str = DEFAULT_MODEL_URI, tracking_uri: str | None = None) -> tuple[dict[str, Any], str]:
    """Which data a command that reads data itself reads (``leadlag``, ``regimes``, ``tune``, ``data show``).

    The champion's data, as :func:`model_data` gives them to ``predict`` and ``now`` (its source,
    folder or cache, first date, accepted series; read to the latest date), unless ``--source``,
    ``--data-dir`` or another option (``told_by``) say otherwise. With no model registered,
    the synthetic demo market, and the note says so.

    Parameters
    ----------
    source, data_dir
        The command's ``--source`` and ``--data-dir``.
    told_by : str
        Other options that chose the data, e.g. ``--config`` (a ``[data]`` section that differs
        from the defaults) or ``--cache-dir``; empty when none did.
    model_uri, tracking_uri : str
        The model whose data are followed, and its store.

    Returns
    -------
    overrides : dict of str -> Any
        :class:`~features.config.DataConfig` fields, for ``Config.replace(data=...)``.
    note : str
        The data line's note: who chose the data.
    """
    import dataclasses

    from training.tracking.store import resolve_tracking_uri

    given = " and ".join(name for name, value in (("--source", source), ("--data-dir", data_dir)) if value is not None)
    if given or told_by:
        return data_overrides(source, data_dir, None, None), f"chosen by {given or told_by}"
    info = registered_info(model_uri, tracking_uri)
    if info is None:
        return {"source": "demo"}, (f"no model is registered (no {model_uri} in {resolve_tracking_uri(tracking_uri)}): "
                                    "the demo until `regime train` registers one; --source/--data-dir read other data")
    config, note = model_data(info, model_uri, None, None, tracking_uri=tracking_uri)
    return dataclasses.asdict(config), note


def data_for(info: dict[str, Any], source: str | None, data_dir: Path | None, seed: int | None = None,
             model_uri: str = DEFAULT_MODEL_URI, tracking_uri: str | None = None,
             accept_implausible: list[str] | None = None, end: str | None = None, *, needs: tuple[str, ...],
             bridge_gaps: list[str] | None = None):
    """Read the data of a command on a trained model and print its data line.

    The model's training source unless ``--source``/``--data-dir``/``--seed`` override it
    (see :func:`model_data`), up to the latest date or ``end``, and up to the last date on
    which every series in ``needs`` (the model's input series) is current (:mod:`features.ragged`).

    Returns
    -------
    panel : pd.DataFrame
        The raw panel.
    config : DataConfig
        Where it came from.
    note : str
        How it relates to the model (the data line's note).
    """
    from features.sources import load_panel
    from training.display.data_line import data_line

    config, note = model_data(info, model_uri, source, data_dir, seed, tracking_uri, accept_implausible, end, bridge_gaps)
    panel = load_panel(config, needs=needs)
    typer.echo(data_line(config, panel.index, note))
    return panel, config, note


def panel_for(info: dict[str, Any], source: str | None, data_dir: Path | None, seed: int | None = None,
              model_uri: str = DEFAULT_MODEL_URI, tracking_uri: str | None = None,
              accept_implausible: list[str] | None = None, end: str | None = None, *, needs: tuple[str, ...],
              bridge_gaps: list[str] | None = None):
    """The raw panel of :func:`data_for` (its data line printed)."""
    return data_for(info, source, data_dir, seed, model_uri, tracking_uri, accept_implausible, end, needs=needs,
                    bridge_gaps=bridge_gaps)[0]


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


def check_output_file(path: Path | None, option: str = "--output", example: str = "predictions.csv") -> None:
    """Refuse an output file path that cannot be written, before any work is done.

    A directory, a path under a regular file, or a folder without write permission get one
    line naming the option; a missing parent folder is fine (it is created).
    """
    import os

    from features.errors import ConfigError

    if path is None:
        return
    if path.is_dir():
        raise ConfigError(f"`{option}` {path} is a directory; give a file name, e.g. {path / example}")
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
