"""``regime data ...``: fetch, inspect and export the raw market data. Heavy imports stay inside commands."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

if TYPE_CHECKING:
    import pandas as pd

app = typer.Typer(help="Fetch, inspect and export the raw market data.", no_args_is_help=True)

CacheDirOpt = Annotated[Optional[Path], typer.Option("--cache-dir", help="Cache folder of the live source (default $REGIME_CACHE_DIR, else ~/.cache/btc-regime or the platform equivalent).")]
SourcesFileOpt = Annotated[Optional[Path], typer.Option("--sources-file", help="TOML file overriding or adding series, e.g. \\[series.silver_usd] provider=\"yahoo\" symbol=\"SLV\" (default $REGIME_SOURCES_FILE).")]


def _cell(value: Any) -> str:
    return "–" if value is None or value != value else str(value)


def _ago(delta: pd.Timedelta) -> str:
    """Compact age: ``40m``, ``5h``, ``3d``."""
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes}m" if minutes < 60 else f"{minutes // 60}h" if minutes < 48 * 60 else f"{minutes // 1440}d"


@app.command()
def fetch(
    source: Annotated[str, typer.Option("--source", help="Only 'live' (Yahoo Finance + FRED) can be fetched.")] = "live",
    cache_dir: CacheDirOpt = None,
    sources_file: SourcesFileOpt = None,
    series: Annotated[Optional[list[str]], typer.Option("--series", "-s", help="Only this series id; repeat for several (default: all).")] = None,
    full: Annotated[bool, typer.Option("--full", help="Download the whole history again instead of updating the cache.")] = False,
) -> None:
    """Download or refresh every live series into the cache, then show what changed.

    Only what is new since the last cached date (plus a short overlap for revisions) is
    requested. Set FRED_API_KEY to use FRED's JSON API instead of its public CSV download.
    Exits with an error when any download failed (the previous cache is kept).
    """
    from rich import box
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn
    from rich.table import Table

    from features.cache import resolve_cache_dir
    from features.config import DataConfig
    from features.errors import ConfigError, DataError
    from features.live import resolve_sources, update_all
    from features.providers.base import NetworkError
    from training.display.data_line import describe_source

    if source != "live":
        raise ConfigError(f"`--source` must be 'live' for `regime data fetch` (csv and demo need no download). Got '{source}'.")
    sources = resolve_sources(sources_file)
    unknown = sorted(set(series or ()) - set(sources))
    if unknown:
        raise ConfigError(f"unknown series {', '.join(unknown)}; known: {', '.join(sources)}")
    if series:
        sources = {sid: sources[sid] for sid in series}
    root = resolve_cache_dir(cache_dir)
    console = Console()
    origin = describe_source(DataConfig(source="live", cache_dir=str(root), sources_file=str(sources_file) if sources_file else None))
    console.print(f"Data: {origin}: fetching {len(sources)} series", markup=False, highlight=False, soft_wrap=True)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                  TextColumn("{task.completed}/{task.total}"), console=Console(stderr=True), transient=True) as progress, \
            _quiet_logger("features.live"):
        task = progress.add_task("fetching", total=len(sources))

        def on_progress(sid: str, done: int, total: int) -> None:
            progress.update(task, completed=done, description=f"fetching {sid}" if sid else "done")

        updates, errors = update_all(sources, root, full=full, on_progress=on_progress)
    if updates:
        table = Table(title=f"Live data in {root}", box=box.SIMPLE, padding=(0, 0), pad_edge=False)
        for col in ("series", "source", "status", "first", "last", "rows", "new", "revised"):
            table.add_column(col, justify="left" if col in ("series", "source", "status") else "right", no_wrap=True)
        for sid, src in sources.items():
            u = updates.get(sid)
            if u is None:
                table.add_row(sid, src.label, "[red]failed[/red]", "–", "–", "–", "–", "–")
                continue
            status = "[yellow]kept[/yellow]" if u.status == "cached" else u.status
            table.add_row(sid, src.label, status, u.record.first, u.record.last, str(u.record.rows), str(u.new_rows),
                          str(u.revised))
        console.print(table)
    failures = {sid: u.failure for sid, u in updates.items() if u.status == "cached"}
    failures |= {sid: getattr(exc, "cause", exc) for sid, exc in errors.items()}
    offline = [sid for sid in sources if isinstance(failures.get(sid), NetworkError)]
    for sid in (sid for sid in sources if sid in failures and sid not in offline):  # distinct causes, one line each
        if sid in errors:
            console.print(f"[red]{sid}[/red]: {errors[sid]}")
        else:
            console.print(f"[yellow]{sid}[/yellow]: download failed ({failures[sid]}); the cache was kept")
    if failures:
        raise DataError(fetch_summary(len(sources), offline, [sid for sid in failures if sid not in offline],
                                      [sid for sid in offline if sid in updates], failures, root))


def fetch_summary(n_series: int, offline: list[str], other: list[str], kept: list[str],
                  failures: dict[str, Exception], root: Path) -> str:
    """One line for a fetch that did not download everything: what failed, what was kept, what to do.

    Series that failed because the network is unreachable are counted together (the
    provider's message names the first host tried); other failures were printed one by one.
    """
    import re

    parts = []
    if offline:
        first = str(failures[offline[0]])
        host = re.search(r"https?://([^/\s?]+)", first)
        why = f"cannot reach {host.group(1)}" if host else first
        missing = len(offline) - len(kept)
        cache = ", ".join(x for x in (f"{len(kept)} kept from the cache" if kept else "",
                                      f"{missing} not cached in {root}" if missing else "") if x)
        parts.append(f"no network ({why}): {len(offline)} of {n_series} series not downloaded ({cache})")
    if other:
        parts.append(f"{len(other)} of {n_series} series failed as shown above ({', '.join(other)}), "
                     "the previous cache was kept where there was one")
    todo = ("check the internet connection or proxy (HTTPS_PROXY) and fetch again; meanwhile "
            "`--source csv --data-dir DIR` reads local files" if offline else "fix the causes above and fetch again")
    return "; ".join(parts) + ". " + todo[0].upper() + todo[1:]


@contextmanager
def _quiet_logger(name: str) -> Iterator[None]:
    """Hold back a library logger's warnings (unless --debug) while the command reports them itself."""
    import logging

    from training.cli.common import STATE

    logger = logging.getLogger(name)
    previous = logger.level
    if not STATE["debug"]:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(previous)


def _coverage_rows(panel: pd.DataFrame, today: pd.Timestamp) -> dict[str, dict[str, Any]]:
    """Per series: coverage (first, last, rows, longest gap) plus age of the last value and staleness."""
    from features.validation import max_age_days, tail_age_days
    from training.tracking.fingerprint import coverage

    rows = {}
    for r in coverage(panel).to_dict("records"):
        age = tail_age_days(panel[r["series"]], today)
        r["age_days"] = age
        r["status"] = "–" if age is None else "[yellow]stale[/yellow]" if age > max_age_days(r["series"]) else "ok"
        rows[r["series"]] = r
    return rows


@app.command()
def show(
    source: Annotated[Optional[str], typer.Option("--source", help="live (the cache), csv (with --data-dir) or demo; by default the champion's data (the synthetic demo when no model is registered).")] = None,
    data_dir: Annotated[Optional[Path], typer.Option("--data-dir", help="Folder of <series_id>.csv files for --source csv.")] = None,
    cache_dir: CacheDirOpt = None,
    sources_file: SourcesFileOpt = None,
    tracking_uri: Annotated[Optional[str], typer.Option("--tracking-uri", help="MLflow store of the champion whose data are shown by default.")] = None,
) -> None:
    """Coverage table: per series first/last date, rows, longest gap, age of the last value, staleness.

    Shows the champion's data (its csv folder, live cache or demo) unless --source, --data-dir,
    --cache-dir or --sources-file say otherwise; the synthetic demo when no model is registered.
    Reads only local data (the live cache is not refreshed). A series is stale when its
    last value is older than its cadence allows (5 days for daily series, 12 for WALCL,
    96 for M2SL).
    """
    import pandas as pd
    from rich import box
    from rich.console import Console
    from rich.table import Table

    from features.cache import resolve_cache_dir
    from features.config import DataConfig
    from features.errors import ConfigError
    from training.cli.common import followed_data
    from training.display.data_line import data_line, describe_source

    told = " and ".join(name for name, value in (("--cache-dir", cache_dir), ("--sources-file", sources_file)) if value)
    settings, note = followed_data(source, data_dir, told_by=told, tracking_uri=tracking_uri)
    src = settings.get("source", "live")
    cache_dir = cache_dir or settings.get("cache_dir")
    sources_file = sources_file or settings.get("sources_file")
    console = Console()
    columns = ["series", "source", "first", "last", "rows", "gap", "age", "status"]
    table_rows: list[list[str]] = []
    notes: list[str] = []
    if src == "live":
        from features.live import (
            read_cache_entries,
            resolve_sources,
            to_panel,
            utc_now,
            utc_today,
        )

        root = resolve_cache_dir(cache_dir)
        now = utc_now()
        today = utc_today(now)
        entries = read_cache_entries(root, resolve_sources(sources_file), today)
        usable = {e.source.series_id: e.values for e in entries if e.usable}
        panel = to_panel(usable) if usable else None
        cov = _coverage_rows(panel, today) if usable else {}
        columns.append("fetched")
        for e in entries:
            sid = e.source.series_id
            if sid in cov:
                c = cov[sid]
                table_rows.append([sid, e.source.label, c["first"], c["last"], str(c["rows"]), _cell(c["max_gap_days"]),
                                   _cell(c["age_days"]), c["status"], _ago(now - e.record.fetched)])
            else:
                status = "[red]unusable[/red]" if e.problem else "[red]missing[/red]"
                table_rows.append([sid, e.source.label, "–", "–", "0", "–", "–", status, "–"])
                if e.problem:
                    notes.append(f"{sid}: {e.problem}")
        title = f"Live cache {root}"
        config = DataConfig(source="live", cache_dir=str(root), sources_file=str(sources_file) if sources_file else None)
        line = (data_line(config, to_panel(usable).index, note) if usable
                else f"Data: {describe_source(config)}, nothing cached" + (f"; {note}" if note else ""))
        if len(usable) < len(entries):
            notes.append("run `regime data fetch --source live` to download what is missing")
    elif src in ("csv", "demo"):
        from features.sources import load_panel

        config = DataConfig(**{**settings, "source": src, "start": None, "end": None})
        panel = load_panel(config, check=False)
        line = data_line(config, panel.index, note)
        today = pd.Timestamp.today().normalize()
        columns.remove("source")
        for sid, c in _coverage_rows(panel, today).items():
            table_rows.append([sid, c["first"], c["last"], str(c["rows"]), _cell(c["max_gap_days"]),
                               _cell(c["age_days"]), c["status"]])
        title = "Coverage per series"
    else:
        raise ConfigError(f"`--source` must be one of live, csv, demo. Got '{src}'.")
    if panel is not None:  # shown, not refused: this command is for looking at the data
        from features.plausibility import panel_findings

        notes[:0] = [f"[yellow]implausible[/yellow] {f.series_id}: {f.message}" for f in panel_findings(panel)]
    table = Table(title=title, box=box.SIMPLE, padding=(0, 0), pad_edge=False,
                  caption="gap: longest gap (days); age: days since the last value; stale: older than its cadence allows")
    for col in columns:
        table.add_column(col, justify="left" if col in ("series", "source", "status") else "right", no_wrap=True)
    for row in table_rows:
        table.add_row(*row)
    console.print(line, markup=False, highlight=False, soft_wrap=True)
    console.print(table)
    for note in notes:
        console.print(note)


@app.command()
def export(
    data_dir: Annotated[Path, typer.Option("--data-dir", help="Folder to write <series_id>.csv files (date,value) into; created if needed.")],
    cache_dir: CacheDirOpt = None,
    sources_file: SourcesFileOpt = None,
) -> None:
    """Write the cached live data as a folder of date,value CSV files, readable with --source csv.

    Exports the cache as it is (no download; run `regime data fetch` first) and writes
    sources.json with where and when each series was fetched.
    """
    import json
    from dataclasses import asdict

    from rich.console import Console

    from features.cache import atomic_write_text, resolve_cache_dir
    from features.config import DataConfig
    from features.csv_source import format_series_csv
    from features.errors import DataError
    from features.live import (
        FETCH_HINT,
        read_cache_entries,
        resolve_sources,
        to_panel,
        utc_now,
        utc_today,
    )
    from training.display.data_line import data_line

    root = resolve_cache_dir(cache_dir)
    entries = read_cache_entries(root, resolve_sources(sources_file), utc_today(utc_now()))
    usable = [e for e in entries if e.usable]
    if not usable:
        raise DataError(f"nothing usable is cached in {root}; {FETCH_HINT}")
    console = Console()
    config = DataConfig(source="live", cache_dir=str(root), sources_file=str(sources_file) if sources_file else None)
    panel = to_panel({e.source.series_id: e.values for e in usable})
    console.print(data_line(config, panel.index), markup=False, highlight=False, soft_wrap=True)
    try:
        for e in usable:
            atomic_write_text(data_dir / f"{e.source.series_id}.csv", format_series_csv(e.values))
        records = {e.source.series_id: asdict(e.record) for e in usable}
        atomic_write_text(data_dir / "sources.json", json.dumps(records, indent=2) + "\n")
    except OSError as exc:
        raise DataError(f"cannot write to {data_dir} ({exc.strerror or exc})") from None
    for e in entries:
        if not e.usable:
            console.print(f"[yellow]skipped {e.source.series_id}[/yellow]: {e.problem or 'not cached'}")
    console.print(f"Wrote {len(usable)} series to {data_dir} (read them with `--source csv --data-dir {data_dir}`)")
