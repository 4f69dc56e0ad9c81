"""Benchmark: where the seconds of training and prediction go.

Usage::

    .venv/bin/python benchmarks/run.py                 # demo market + ../shared/data when present
    .venv/bin/python benchmarks/run.py --repeats 3 --scaling --tune

Measures, each as the median over ``--repeats``: ``regime --help`` start-up (new process), the
import floor of every command on a registered model (:data:`IMPORT_FLOOR`, a process doing
nothing else), the plain walk-forward ``regime train`` is judged against (:func:`plain_walk_forward`),
the whole training job and its stages (in a throw-away MLflow store), single HMM and
LightGBM fits, the commands users wait for as whole processes (``regime train``, a cold
``regime predict`` from the registry, ``regime now``, ``regime explain --date 2024-03-15``,
``regime report``), a warm prediction for one new day (model in memory), served daily updates
with 500 and 1,000 business days of history (a real ``mlflow models serve`` on 127.0.0.1,
:mod:`benchmarks.serving`), peak memory, optionally tuning throughput and how training time
scales with history and feature count. Prints a table and writes
``benchmarks/results/<timestamp>.json``. Not a test: numbers depend on the machine and
its load (the load average at the start and at the end is recorded).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
BIN = Path(sys.executable).parent


def median_time(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Median wall time of ``fn`` over ``repeats`` calls, and the last result."""
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def run_cmd(args: list[str], env: dict[str, str], cwd: Path = REPO) -> None:
    subprocess.run(args, check=True, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


#: The day ``regime explain`` is timed on (inside both the demo market and the real data).
EXPLAIN_DATE = "2024-03-15"


def bench_commands(model_uri: str, env: dict[str, str], repeats: int, work: Path) -> dict[str, float]:
    """Whole-process medians of the read commands a user waits for, on a registered model."""
    regime = str(BIN / "regime")
    out = work / "outputs"
    commands = {
        "predict_cold_s": [regime, "predict", "--model-uri", model_uri, "--rows", "1"],
        "now_s": [regime, "now", "--model-uri", model_uri],
        "explain_s": [regime, "explain", "--model-uri", model_uri, "--date", EXPLAIN_DATE, "--output-dir", str(out)],
        "report_s": [regime, "report", "--model-uri", model_uri, "--output", str(out / "report.html")],
    }
    return {k: median_time(lambda a=args: run_cmd(a, env, cwd=work), repeats)[0] for k, args in commands.items()}


#: What a cold command cannot avoid importing: MLflow with its SQL store (the registry), LightGBM
#: (which imports scikit-learn and SciPy) and pandas; timed as a process doing nothing else.
IMPORT_FLOOR = "import mlflow.pyfunc, mlflow.store.tracking.sqlalchemy_store, lightgbm, pandas"


def bench_import_floor(repeats: int) -> float:
    """Whole-process median of importing what every command on a registered model needs."""
    return median_time(lambda: run_cmd([sys.executable, "-c", IMPORT_FLOOR], dict(os.environ)), max(repeats, 5))[0]


def plain_walk_forward(design: Any, horizons: tuple[int, ...] = (5, 21, 63), refits: int = 32) -> float:
    """Seconds of the reference the training job is judged against: a plain walk-forward.

    One-thread LightGBM (300 trees, 15 leaves) refit on an expanding window ``refits`` times per
    horizon (purged: a training row's target window ends before the test block), on the job's
    own features, every horizon; no regime model, baselines, metrics or logging.
    """
    import numpy as np
    from lightgbm import LGBMRegressor

    from features.target import target_name

    X = design.features.to_numpy(float)
    first = design.first_complete()
    n = len(design.index)
    t0 = time.perf_counter()
    for h in horizons:
        y = design.targets[target_name(h)].to_numpy(float)
        cuts = np.linspace(first + (n - first) // 3, n, refits + 1).astype(int)
        for cut, end in zip(cuts[:-1], cuts[1:]):
            rows = np.arange(first, cut - h)
            rows = rows[np.isfinite(y[rows])]
            model = LGBMRegressor(n_estimators=300, num_leaves=15, n_jobs=1, verbose=-1, random_state=0)
            model.fit(X[rows], y[rows]).predict(X[cut:end])
    return time.perf_counter() - t0


def bench_train_command(data: dict[str, Any], store: Path, repeats: int) -> float:
    """Whole-process median of ``regime train`` on ``data`` (its own store: the other figures' champion stays)."""
    store.mkdir(parents=True, exist_ok=True)
    args = [str(BIN / "regime"), "train", "--source", data["source"], "--tracking-uri", f"sqlite:///{store}/mlflow.db"]
    if "data_dir" in data:
        args += ["--data-dir", data["data_dir"]]
    return median_time(lambda: run_cmd(args, dict(os.environ), cwd=store), repeats)[0]


def bench_dataset(name: str, data: dict[str, Any], repeats: int, store: Path, scaling: bool) -> dict[str, Any]:
    """Every measurement on one data source."""
    import pandas as pd

    from features.sources import load_panel
    from regime import RegimeHMM
    from training.config import Config
    from training.jobs.train import make_template, run_training

    uri = f"sqlite:///{store}/mlflow.db"
    cfg = Config().replace(data=data, tracking={"tracking_uri": uri, "experiment": f"bench-{name}",
                                                "model_name": f"bench-{name}", "force_promote": True})
    res: dict[str, Any] = {"dataset": name}
    t_load, panel = median_time(lambda: load_panel(cfg.data), repeats)
    res["load_s"] = t_load

    template = make_template(cfg)
    design = template.make_design(panel)
    res["rows"] = len(design.index) - design.first_complete()
    res["features"] = design.features.shape[1]
    res["features_s"], _ = median_time(lambda: template.make_design(panel), repeats)
    obs = design.regime_obs.iloc[design.first_complete():]
    res["hmm_fit_s"], _ = median_time(lambda: RegimeHMM(n_init=template.hmm_n_init, random_state=0).fit(obs), repeats)
    fitted = make_template(cfg).fit_design(design)
    X = fitted.design_matrix(design)
    rows = fitted.training_rows(design, 21, len(design.index))
    from models.forecaster import LGBMForecaster

    res["plain_walk_forward_s"], _ = median_time(lambda: plain_walk_forward(design), repeats)
    res["lgbm_fit_s"], _ = median_time(lambda: LGBMForecaster().fit(X.iloc[rows], design.targets["fwd_21d"].iloc[rows]), repeats)

    totals, stages = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = run_training(cfg, panel=panel)
        totals.append(time.perf_counter() - t0)
        stages.append(result.timings)
    res["train_total_s"] = statistics.median(totals)
    res["train_stages_s"] = {k: statistics.median(s[k] for s in stages) for k in stages[0]}
    res["folds"] = result.n_folds

    env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "PATH": f"{BIN}:{os.environ.get('PATH', '')}"}
    model_uri = f"models:/bench-{name}@champion"
    res.update(bench_commands(model_uri, env, repeats, store))
    res["train_command_s"] = bench_train_command(data, store / f"train-{name}", repeats)

    from benchmarks.serving import serving_latency

    res.update(serving_latency(model_uri, panel, env, BIN, store / f"serve-{name}.log"))

    import mlflow

    mlflow.set_tracking_uri(uri)
    model = mlflow.pyfunc.load_model(model_uri)
    flat = panel.reset_index()
    flat["date"] = flat["date"].dt.strftime("%Y-%m-%d")
    nxt = flat.iloc[[-1]].copy()
    nxt["date"] = (pd.Timestamp(flat["date"].iloc[-1]) + pd.offsets.BDay(1)).strftime("%Y-%m-%d")
    grown = pd.concat([flat, nxt], ignore_index=True)
    try:  # a warm daily update asks for the newest row only (older versions predict every row)
        model.predict(grown, params={"last": 1})
        params = {"last": 1}
    except Exception:  # noqa: BLE001
        params = None
    warm = [median_time(lambda: model.predict(grown, params=params), 1)[0] for _ in range(max(5, repeats * 5))]
    res["predict_warm_one_day_s"] = statistics.median(warm)

    if scaling:
        res["scaling"] = scaling_table(cfg, panel)
    return res


def scaling_table(cfg: Any, panel: Any) -> list[dict[str, Any]]:
    """Walk-forward time (no baselines, no bootstrap) by years of history and by feature windows."""
    from training.jobs.train import evaluate

    light = cfg.replace(evaluation={"baselines": False, "n_bootstrap": 0})
    out = []
    end = panel.index.max()
    for years in (4, 6, 8, 10, 12):
        part = panel.loc[end - __import__("pandas").DateOffset(years=years):]
        if len(part) < 252 * (years - 0.5):
            continue
        t0 = time.perf_counter()
        _, result, _, _ = evaluate(light.replace(data={"start": None}), part)
        out.append({"years": years, "windows": "5/21/63", "folds": len(result.folds), "seconds": time.perf_counter() - t0})
    for windows in ((21,), (5, 21, 63), (5, 10, 21, 63, 126)):
        t0 = time.perf_counter()
        design, result, _, _ = evaluate(light.replace(features={"return_windows": windows}), panel)
        out.append({"years": "all", "windows": "/".join(map(str, windows)), "features": design.features.shape[1],
                    "folds": len(result.folds), "seconds": time.perf_counter() - t0})
    return out


def bench_help(repeats: int) -> float:
    env = dict(os.environ)
    return median_time(lambda: run_cmd([str(BIN / "regime"), "--help"], env), repeats)[0]


def bench_tune(store: Path, trials: int = 4) -> dict[str, float]:
    """Trials per minute of `regime tune` on the demo market (one worker)."""
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{store}/mlflow.db"}
    t0 = time.perf_counter()
    run_cmd([str(BIN / "regime"), "tune", "--trials", str(trials), "--study", "bench",
             "--storage", str(store / "journal.log")], env)
    minutes = (time.perf_counter() - t0) / 60
    return {"trials": trials, "minutes": minutes, "trials_per_minute": trials / minutes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="repeats per measurement (median reported)")
    parser.add_argument("--scaling", action="store_true", help="also measure scaling with history and features")
    parser.add_argument("--tune", action="store_true", help="also measure tuning throughput")
    parser.add_argument("--only", choices=["demo", "real"], help="one data set only")
    parser.add_argument("--data-dir", type=Path, default=SHARED, help="real data folder (default ../shared/data)")
    args = parser.parse_args()

    report: dict[str, Any] = {"when": time.strftime("%Y-%m-%dT%H:%M:%S"), "cpus": os.cpu_count(),
                              "load_avg": os.getloadavg(), "repeats": args.repeats}
    report["help_s"] = bench_help(max(args.repeats, 5))
    report["import_floor_s"] = bench_import_floor(args.repeats)
    sets = {"demo": {"source": "demo"}}
    if args.data_dir.is_dir():
        sets["real"] = {"source": "csv", "data_dir": str(args.data_dir.resolve())}
    report["datasets"] = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, data in sets.items():
            if args.only and name != args.only:
                continue
            report["datasets"].append(bench_dataset(name, data, args.repeats, Path(tmp), args.scaling))
        if args.tune:
            report["tune"] = bench_tune(Path(tmp))
    report["load_avg_end"] = os.getloadavg()
    report["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report["peak_rss_children_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024

    print(f"regime --help: {report['help_s'] * 1000:.0f} ms (target < 500 ms)")
    for d in report["datasets"]:
        print(f"\n== {d['dataset']}: {d['rows']} rows x {d['features']} features, {d['folds']} folds ==")
        print(f"train total        {d['train_total_s']:7.2f} s   (target < 30 s)")
        for k, v in d["train_stages_s"].items():
            print(f"  {k:<17}{v:7.2f} s")
        print(f"one HMM fit        {d['hmm_fit_s']:7.3f} s   one LightGBM fit {d['lgbm_fit_s']:.3f} s")
        print(f"regime train       {d['train_command_s']:7.2f} s   (whole process; walk-forward stage "
              f"{d['train_stages_s'].get('walk-forward', float('nan')):.2f} s)")
        print(f"plain walk-forward {d['plain_walk_forward_s']:7.2f} s   (reference: `regime train` target <= 0.8 x this; "
              f"now {d['train_command_s'] / d['plain_walk_forward_s']:.2f} x)")
        print(f"predict cold       {d['predict_cold_s']:7.2f} s   (target <= 2.0 s, new process from the registry; "
              f"import floor {report['import_floor_s']:.2f} s)")
        print(f"regime now         {d['now_s']:7.2f} s   (target <= 2.5 s)")
        print(f"regime explain     {d['explain_s']:7.2f} s   (target <= 3.0 s, --date {EXPLAIN_DATE})")
        print(f"regime report      {d['report_s']:7.2f} s   (target <= 5 s)")
        print(f"predict warm 1 day {d['predict_warm_one_day_s'] * 1000:7.1f} ms  (target <= 15 ms)")
        print(f"served, 500 days   {d['serve_500d_p50_ms']:7.1f} ms  p50 (p90 {d['serve_500d_p90_ms']:.1f}; target <= 20 ms)")
        print(f"served, 1000 days  {d['serve_1000d_p50_ms']:7.1f} ms  p50 (p90 {d['serve_1000d_p90_ms']:.1f}; "
              f"{d['serve_1000d_p50_ms'] / d['serve_500d_p50_ms']:.2f} x the 500-day figure, target <= 1.2)")
        print(f"served, floor      {d['serve_500d_floor_p50_ms']:7.1f} ms  p50 at 500 days, "
              f"{d['serve_1000d_floor_p50_ms']:.1f} ms at 1000 (a model that does nothing, same signature)")
        for row in d.get("scaling", []):
            print(f"  scaling {row}")
    if "tune" in report:
        print(f"\ntuning: {report['tune']['trials_per_minute']:.1f} trials/minute")
    print(f"\npeak RSS {report['peak_rss_mb']:.0f} MB (children {report['peak_rss_children_mb']:.0f} MB); "
          f"load average at start {report['load_avg'][0]:.1f}, at the end {report['load_avg_end'][0]:.1f}")
    out = REPO / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"bench_{time.strftime('%Y%m%d_%H%M%S')}.json"
    path.write_text(json.dumps(report, indent=2, default=str))
    print(f"wrote {path}")


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    main()
