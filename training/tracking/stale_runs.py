"""Runs left RUNNING by a process that died without clean-up (SIGKILL, the OOM killer, power loss).

Such a process cannot end its run, so MLflow would show it RUNNING for ever. Every run this
product starts carries :func:`process_tags` (host, boot, process id and start time); the next
command that uses a writable store calls :func:`close_dead_runs`, which marks the runs whose
process is gone as KILLED, records why in the tag ``regime.closed``, and logs a warning the
user sees. Runs started on another machine, or without these tags, are left alone: their
process cannot be checked from here.
"""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path

logger = logging.getLogger(__name__)

HOST, BOOT, PID, STARTED = "regime.host", "regime.boot_id", "regime.pid", "regime.pid_started"
CLOSED = "regime.closed"


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:  # not Linux
        return ""


def _start_ticks(pid: int) -> str | None:
    """Start time of process ``pid`` in clock ticks after boot (Linux), None where unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]  # field 22; the name before ')' may hold spaces


def process_tags() -> dict[str, str]:
    """Tags identifying the current process, for the runs it starts."""
    pid = os.getpid()
    return {HOST: socket.gethostname(), BOOT: _boot_id(), PID: str(pid), STARTED: _start_ticks(pid) or ""}


def process_gone(tags: dict[str, str]) -> bool:
    """Whether the process described by ``tags`` (from :func:`process_tags`) no longer runs.

    False when it cannot be told: another host, or tags missing.
    """
    if tags.get(HOST) != socket.gethostname() or not tags.get(PID, "").isdigit():
        return False
    if tags.get(BOOT) and tags[BOOT] != _boot_id():
        return True  # the machine was restarted since
    pid = int(tags[PID])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # exists, owned by someone else
    started = _start_ticks(pid)
    return bool(tags.get(STARTED)) and started is not None and started != tags[STARTED]  # the pid was reused


def close_dead_runs() -> list[str]:
    """Mark RUNNING runs of processes that no longer exist as KILLED; returns their ids.

    Uses the store MLflow points at. Each closed run gets the tag ``regime.closed`` and one
    warning line. Never raises: a store that cannot be searched or written is left as it is.
    """
    from mlflow import MlflowClient
    from mlflow.entities import ViewType

    closed: list[str] = []
    try:
        client = MlflowClient()
        experiments = [e.experiment_id for e in client.search_experiments(view_type=ViewType.ALL)]
        running = client.search_runs(experiments, "attributes.status = 'RUNNING'", max_results=1000) if experiments else []
        for run in running:
            tags = run.data.tags
            if not process_gone(tags):
                continue
            why = (f"left RUNNING by process {tags[PID]} on {tags[HOST]}, which no longer exists (killed?); "
                   "marked KILLED by the next command using the store")
            client.set_tag(run.info.run_id, CLOSED, why)
            client.set_terminated(run.info.run_id, "KILLED")
            closed.append(run.info.run_id)
            logger.warning("run %s (%s) was %s", run.info.run_id, run.info.run_name, why)
    except Exception:  # noqa: BLE001 - tidying must never stop the command the user asked for
        logger.debug("could not check the store for runs of dead processes", exc_info=True)
    return closed
