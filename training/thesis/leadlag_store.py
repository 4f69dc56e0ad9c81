"""The report's lead-lag scan, computed once with the training run and reused by ``regime report``.

``regime train`` runs :func:`run_scan` with the report's default settings on the final model's
filtered regimes and logs the results under ``evaluation/leadlag/`` with a key
(:func:`scan_key`): the settings, the first and last date, and SHA-256 fingerprints of the
BTC and metal prices and of the regime labels the scan read. ``regime report`` computes the
key of its own inputs and reuses the logged results only when the two keys are equal, so a
reused table is the one computing now would give, to the last bit (the tables are parquet
files: float64 exactly). Anything else (other settings, an ``--as-of`` cut, other data or
regimes, a run logged before the scan was) is computed as before, and the report says why.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from training.thesis.report_cache import render_key
from training.tracking.fingerprint import content_digest

#: Where a training run logs the scan (under its ``evaluation/`` artifacts).
ARTIFACT_DIR = "evaluation/leadlag"
KEY_FILE = "key.json"
#: Bump when :func:`training.thesis.leadlag.analyze_metal` would give other numbers on the same
#: inputs: results logged by an older computation are then recomputed, not reused.
METHOD = 1
_FORMAT = 1
_TABLES = ("xcorr", "regressions", "best", "granger", "events_summary", "events_paths", "events_labels")


@dataclass(frozen=True)
class ScanSettings:
    """The settings of the report's lead-lag scan (:func:`training.thesis.leadlag.analyze_metals`)."""

    metals: tuple[str, ...] = ("silver", "gold")
    max_lag: int = 126
    horizon: int = 21
    window: int = 63
    n_shifts: int = 100
    random_state: int = 0


def scan_key(aligned: pd.DataFrame, regimes: pd.Series, start: pd.Timestamp, settings: ScanSettings) -> dict[str, Any]:
    """What a scan is computed from: settings, dates and fingerprints of the inputs it reads.

    The scan reads BTC's and each metal's point-in-time prices over the whole index (the
    trailing returns and breakouts look back before ``start``) and the regime labels on the
    index from ``start`` on; those are what the fingerprints cover.
    """
    from training.thesis.leadlag import METALS

    labels = regimes.reindex(aligned.index)
    labels = labels.where(labels.index >= start)
    return {
        "format": _FORMAT,
        "method": METHOD,
        "settings": {**asdict(settings), "metals": list(settings.metals)},
        "start": f"{start:%Y-%m-%d}",
        "first": f"{aligned.index[0]:%Y-%m-%d}",
        "last": f"{aligned.index[-1]:%Y-%m-%d}",
        "prices": content_digest(aligned["btc_usd"], *(aligned[METALS[m]] for m in settings.metals)),
        "regimes": content_digest(labels.astype(object)),
    }


def run_scan(aligned: pd.DataFrame, regimes: pd.Series, start: pd.Timestamp, settings: ScanSettings,
             parallel: bool = True) -> dict[str, Any]:
    """:func:`~training.thesis.leadlag.analyze_metals` with ``settings`` (what the report computes).

    ``parallel=False`` scans the metals one after the other in the calling thread (the same
    results: :func:`analyze_metals` gives those of :func:`analyze_metal` per metal).
    """
    from training.thesis.leadlag import analyze_metal, analyze_metals

    kwargs = {"max_lag": settings.max_lag, "horizon": settings.horizon, "window": settings.window,
              "n_shifts": settings.n_shifts, "start": start, "random_state": settings.random_state}
    if parallel:
        return analyze_metals(aligned, settings.metals, regimes, **kwargs)
    return {m: analyze_metal(aligned, m, regimes, **kwargs) for m in settings.metals}


def scan_metal(aligned: pd.DataFrame, regimes: pd.Series, start: pd.Timestamp, settings: ScanSettings,
               metal: str) -> tuple[Any, dict[str, bytes]]:
    """One metal's scan (:func:`run_scan`) and its two report figures as PNG bytes (:func:`figure_pngs`).

    What a training run hands to a worker process (:class:`training.display.plot_jobs.PlotJobs`)
    per metal: the scan spends seconds in many small NumPy calls, which a thread would slow
    down by sharing the interpreter lock with the job's own work.
    """
    from dataclasses import replace

    result = run_scan(aligned, regimes, start, replace(settings, metals=(metal,)), parallel=False)[metal]
    return result, figure_pngs({metal: result})[metal]


def key_difference(logged: dict[str, Any], wanted: dict[str, Any]) -> str | None:
    """Why a logged scan does not answer for ``wanted`` (a phrase), or None when the keys are equal."""
    if logged == wanted:
        return None
    if logged.get("format") != wanted["format"] or logged.get("method") != wanted["method"]:
        return "the training run's scan was computed by an older version of the lead-lag code"
    ours, theirs = wanted["settings"], logged.get("settings", {})
    if ours != theirs:
        diffs = [f"{k} {ours[k]} here, {theirs.get(k, 'none')} in the run" for k in ours if ours[k] != theirs.get(k)]
        return "its settings differ from the training run's (" + "; ".join(diffs) + ")"
    for field, what in (("first", "start"), ("last", "end"), ("start", "first complete row is")):
        if logged.get(field) != wanted[field]:
            return (f"its data {what} {wanted[field]}, the training run's scan {what} {logged.get(field)}"
                    + (" (--as-of or data that end earlier)" if field == "last" else ""))
    if logged.get("prices") != wanted["prices"]:
        return "the BTC or metal prices differ from those the training run scanned"
    return "the regime labels differ from those the training run scanned"


def figure_pngs(results: dict[str, Any]) -> dict[str, dict[str, bytes]]:
    """The report's lead-lag figures of ``results`` as PNG bytes (metal -> name -> bytes)."""
    from training.thesis.report import event_figure, figure_png, leadlag_figure

    return {m: {"leadlag": figure_png(leadlag_figure(r)), "events": figure_png(event_figure(r))}
            for m, r in results.items()}


def write_scan(results: dict[str, Any], key: dict[str, Any], folder: Path,
               pngs: dict[str, dict[str, bytes]] | None = None) -> None:
    """Write ``results`` (metal -> :class:`LeadLagResult`), their figures ``pngs`` and ``key`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    meta: dict[str, Any] = {}
    for metal, res in results.items():
        tables = {"xcorr": res.xcorr, "regressions": res.regressions, "best": res.best, "granger": res.granger,
                  "events_summary": res.events.summary, "events_paths": res.events.paths,
                  "events_labels": res.events.events.to_frame()}
        (folder / metal).mkdir(exist_ok=True)
        for name, table in tables.items():
            table.to_parquet(folder / metal / f"{name}.parquet")
        meta[metal] = {"window": res.window, "horizon": res.horizon, "n_shifts": res.n_shifts,
                       "level": res.events.level, "groups": list(res.events.groups),
                       "dtypes": {name: _dtypes(t) for name, t in tables.items()}}
        for name, png in (pngs or {}).get(metal, {}).items():
            (folder / metal / f"{name}.png").write_bytes(png)
    figures = render_key() if pngs else None
    (folder / KEY_FILE).write_text(json.dumps({**key, "results": meta, "figures": figures}, indent=1), encoding="utf-8")


def _dtypes(frame: pd.DataFrame) -> dict[str, Any]:
    """The dtypes parquet may not restore by itself (object columns read back as strings)."""
    return {"columns": {str(c): str(t) for c, t in frame.dtypes.items()}, "index": str(frame.index.dtype)}


def _restore(frame: pd.DataFrame, dtypes: dict[str, Any]) -> pd.DataFrame:
    for col, t in dtypes["columns"].items():
        if str(frame[col].dtype) != t:
            frame[col] = frame[col].astype(t)
    if str(frame.index.dtype) != dtypes["index"]:
        frame.index = frame.index.astype(dtypes["index"])
    return frame


def read_logged_key(run_id: str) -> dict[str, Any] | None:
    """The key of the scan a training run logged, or None (runs logged before it was, or without one)."""
    from mlflow.exceptions import MlflowException

    from training.tracking.runs import downloaded

    try:
        with downloaded(run_id, f"{ARTIFACT_DIR}/{KEY_FILE}") as path:
            return json.loads(path.read_text(encoding="utf-8"))
    except (MlflowException, OSError, ValueError):
        return None


def load_scan(root: Path, logged: dict[str, Any]) -> dict[str, Any]:
    """The results :func:`write_scan` wrote into ``root`` with key ``logged``."""
    from training.thesis.leadlag import EventStudy, LeadLagResult

    out = {}
    for metal, meta in logged["results"].items():
        t = {name: _restore(pd.read_parquet(root / metal / f"{name}.parquet"), meta["dtypes"][name]) for name in _TABLES}
        events = EventStudy(t["events_labels"].iloc[:, 0], t["events_paths"], t["events_summary"], meta["level"],
                            list(meta["groups"]))
        out[metal] = LeadLagResult(metal=metal, window=meta["window"], horizon=meta["horizon"], xcorr=t["xcorr"],
                                   regressions=t["regressions"], best=t["best"], granger=t["granger"], events=events,
                                   n_shifts=meta["n_shifts"])
    return out


def load_pngs(root: Path, logged: dict[str, Any]) -> dict[str, dict[str, bytes]] | None:
    """The figures :func:`write_scan` wrote into ``root``, or None when there are none or this
    machine would draw them otherwise (another matplotlib version or font)."""
    if logged.get("figures") != render_key():
        return None
    try:
        return {m: {name: (root / m / f"{name}.png").read_bytes() for name in ("leadlag", "events")}
                for m in logged["results"]}
    except OSError:
        return None


@dataclass(frozen=True)
class LoggedScan:
    """What :func:`logged_scan` found: the results (None: compute now), their figures (None: draw now), why."""

    results: dict[str, Any] | None
    figures: dict[str, dict[str, bytes]] | None
    note: str


def logged_scan(run_id: str, wanted: dict[str, Any]) -> LoggedScan:
    """The training run's scan when its key equals ``wanted`` (else None) and a sentence saying which.

    The note reads ``lead-lag scan: from the training run ...`` or ``lead-lag scan: computed now
    because ...``. The logged figures come with the results when this machine draws them the same way.
    """
    logged = read_logged_key(run_id)
    if logged is None:
        return LoggedScan(None, None, "lead-lag scan: computed now because the training run logged none "
                                      "(runs before this version did not)")
    why = key_difference({k: v for k, v in logged.items() if k not in ("results", "figures")}, wanted)
    if why is not None:
        return LoggedScan(None, None, f"lead-lag scan: computed now because {why}")
    from training.tracking.runs import downloaded

    with downloaded(run_id, ARTIFACT_DIR) as root:  # read into memory before the copy goes
        return LoggedScan(load_scan(root, logged), load_pngs(root, logged),
                          f"lead-lag scan: from the training run {run_id} (same settings, dates, prices and regime "
                          "labels)")
