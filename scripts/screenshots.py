"""Screenshots of what users look at: the HTML report and the MLflow UI, rendered in headless Chromium.

Run it in a folder where a model was trained (``./mlruns``), e.g. after
``regime train --source csv --data-dir ../shared/data``::

    .venv/bin/python scripts/screenshots.py                  # PNGs into docs/img
    .venv/bin/python scripts/screenshots.py --workdir /tmp/w --out /tmp/shots --readme-figures

It writes the pictures the README shows into ``--out``: ``report.png`` (the top of
``regime report``) and ``mlflow_runs.png`` (the experiment's runs in MLflow's UI), and with
``--readme-figures`` the plots refreshed from the champion (the walk-forward regime timeline of
its training run and the SHAP waterfall of ``--explain-date``). Pictures only for checking go
to ``--check-dir``: ``report_full.png`` (the whole report), ``mlflow_run.png`` (the champion's
training run) and ``mlflow_model.png`` (the registered model's versions). Look at them.

The MLflow UI is served as ``regime ui`` serves it (:mod:`training.tracking.ui_server`) on a
loopback address (127.0.0.2 and a free port by default) for the duration of the script, and
opened at the address ``regime ui`` prints: the training runs in the "Model training" view
(``?workflowType=machine_learning``). Not 127.0.0.1 or localhost: on those the UI opens its
assistant panel on a browser's first visit, which would cover a third of every screenshot
of a fresh profile. Chromium is the Debian package ``chromium`` (``apt-get install -y
chromium``); it runs with a throw-away profile and with background networking off (on a
closed network it otherwise waits for its update and sync services).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from features.errors import StoreError
from training.tracking.ui_server import (
    TRAINING_VIEW,
    runs_address,
    server_command,
    start_server,
    stop_server,
)

MODEL = "btc-forward-return"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
]


def find_chromium() -> str:
    """Path of the Chromium binary, or exit with what to install."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    sys.exit("error: no chromium on PATH; install it with `apt-get install -y chromium`")


def screenshot(chromium: str, url: str, path: Path, size: tuple[int, int], wait_ms: int = 0) -> Path:
    """Render ``url`` at ``size`` and save a PNG; ``wait_ms`` of virtual time lets a JavaScript app draw."""
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        cmd = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={size[0]},{size[1]}",
               f"--screenshot={path}"]
        if wait_ms:
            cmd.append(f"--virtual-time-budget={wait_ms}")
        subprocess.run([*cmd, url], check=True, capture_output=True, timeout=180)
    print(f"wrote {path}")
    return path


def trim_bottom(path: Path, margin: int = 24) -> Path:
    """Cut the empty page background below the content of a tall screenshot (its bottom-left pixel's colour)."""
    from PIL import Image, ImageChops

    with Image.open(path) as im:
        rgb = im.convert("RGB")
    background = Image.new("RGB", rgb.size, rgb.getpixel((0, rgb.height - 1)))
    box = ImageChops.difference(rgb, background).getbbox()
    if box:
        rgb.crop((0, 0, rgb.width, min(rgb.height, box[3] + margin))).save(path)
    return path


def free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def champion(store: Path):
    """The champion version and its training run's experiment id (read from the store directly)."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient(tracking_uri=f"sqlite:///{store}", registry_uri=f"sqlite:///{store}")
    try:
        version = client.get_model_version_by_alias(MODEL, "champion")
    except MlflowException:
        sys.exit(f"error: no {MODEL}@champion in {store}; run `regime train` there first")
    return client, version, client.get_run(version.run_id).info.experiment_id


def regime(workdir: Path, *args: str) -> None:
    """Run a ``regime`` command in ``workdir`` (the store there), failing loudly."""
    exe = Path(sys.executable).with_name("regime")
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    done = subprocess.run([str(exe), *args], cwd=workdir, env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"error: regime {' '.join(args)} failed:\n{done.stderr}")
    print(done.stdout.splitlines()[0])  # the data line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path.cwd(), help="folder holding mlruns/ (default: here)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "docs" / "img",
                        help="where the PNGs go (default: docs/img)")
    parser.add_argument("--check-dir", type=Path, default=None,
                        help="where the pictures only for checking go (default: outputs/screenshots/ in --workdir)")
    parser.add_argument("--readme-figures", action="store_true",
                        help="also refresh the README's regime timeline and SHAP waterfall from the champion")
    parser.add_argument("--explain-date", default="2024-03-15", help="date of the README's waterfall")
    parser.add_argument("--wait-ms", type=int, default=20000, help="virtual time for the MLflow UI to render")
    parser.add_argument("--host", default="127.0.0.2", help="loopback address of the MLflow server (see above)")
    args = parser.parse_args()

    workdir = args.workdir.resolve()
    store = workdir / "mlruns" / "mlflow.db"
    if not store.is_file():
        sys.exit(f"error: no MLflow store at {store}; run `regime train` in {workdir} first")
    out, check = args.out.resolve(), (args.check_dir or workdir / "outputs" / "screenshots").resolve()
    out.mkdir(parents=True, exist_ok=True)
    check.mkdir(parents=True, exist_ok=True)
    chromium = find_chromium()
    client, version, experiment_id = champion(store)

    with tempfile.TemporaryDirectory(prefix="screenshots-") as tmp:
        report = Path(tmp) / "report.html"
        regime(workdir, "report", "--output", str(report), "--no-log")
        screenshot(chromium, report.as_uri(), out / "report.png", (1280, 1500))
        trim_bottom(screenshot(chromium, report.as_uri(), check / "report_full.png", (1280, 12000)))
        if args.readme_figures:
            timeline = client.download_artifacts(version.run_id, "evaluation/regime_timeline_oos.png", tmp)
            shutil.copyfile(timeline, out / "regime_timeline_oos_real.png")
            print(f"wrote {out / 'regime_timeline_oos_real.png'}")
            regime(workdir, "explain", "--date", args.explain_date, "--output-dir", str(Path(tmp) / "explain"))
            name = f"waterfall_{args.explain_date}_21d.png"
            shutil.copyfile(Path(tmp) / "explain" / name, out / name)
            print(f"wrote {out / name}")

    uri, port = f"sqlite:///{store}", free_port(args.host)
    base = f"http://{args.host}:{port}"
    try:
        server = start_server(server_command(uri, args.host, port), base)
    except StoreError as exc:
        sys.exit(f"error: {exc}")
    try:
        pages = {  # the first is the address `regime ui` prints
            out / "mlflow_runs.png": runs_address(base, experiment_id),
            check / "mlflow_run.png": f"{base}/#/experiments/{experiment_id}/runs/{version.run_id}{TRAINING_VIEW}",
            check / "mlflow_model.png": f"{base}/#/models/{MODEL}{TRAINING_VIEW}",
        }
        for path, url in pages.items():
            screenshot(chromium, url, path, (1440, 900), wait_ms=args.wait_ms)
    finally:
        stop_server(server)


if __name__ == "__main__":
    main()
