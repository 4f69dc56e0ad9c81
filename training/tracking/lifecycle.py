"""A run's life: started with its process's tags, always ended, store faults said in one line.

:func:`tracked_run` replaces ``mlflow.start_run`` for the product's jobs. The run carries
:func:`~training.tracking.stale_runs.process_tags`, so a run whose process is killed is closed
by the next command (:mod:`~training.tracking.stale_runs`). A job that fails ends its run
FAILED (KILLED on Ctrl-C) before the error propagates; when the store itself is the problem
(a full disk, a read-only or vanished folder) the error becomes one :class:`StoreError` that
names the store and says what happened to the run, instead of MLflow's tracebacks.
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from features.errors import StoreError
from training.tracking.stale_runs import process_tags

logger = logging.getLogger(__name__)

_FULL = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))
_READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)


def store_fault(exc: BaseException) -> str | None:
    """What went wrong with the store in ``exc`` (or its causes): a full disk, a read-only place or a lock held by
    another process, else None."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        text = str(e)
        if isinstance(e, OSError) and e.errno in _FULL or "database or disk is full" in text:
            where = getattr(e, "filename2", None) or getattr(e, "filename", None)
            return "no space left on the device" + (f" (writing {where})" if where else "")
        if isinstance(e, OSError) and e.errno in _READ_ONLY or "readonly database" in text:
            where = getattr(e, "filename", None)
            return "the store cannot be written" + (f" ({where}: {e.strerror})" if where else "")
        if "database is locked" in text:
            return "busy: another process held a write lock on it for longer than MLflow waits (20 s)"
        e = e.__cause__ or e.__context__
    return None


def _end_quietly(status: str) -> bool:
    """End the active run with ``status``; False if the store refused (MLflow's error log silenced)."""
    import mlflow

    quiet = logging.getLogger("mlflow.store.db.utils")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    try:
        mlflow.end_run(status=status)
        return True
    except Exception:  # noqa: BLE001 - the job's own error is the one to report
        logger.debug("could not end the run as %s", status, exc_info=True)
        return False
    finally:
        quiet.setLevel(level)


@contextmanager
def tracked_run(experiment_id: str, **kwargs: Any) -> Iterator[Any]:
    """``mlflow.start_run`` with the process's tags that always ends the run, for jobs that write a store.

    On an exception the run ends FAILED (KILLED for Ctrl-C) and the exception propagates;
    a store fault (:func:`store_fault`) propagates as a one-line :class:`StoreError` saying
    whether the run could be marked FAILED (else the next command marks it KILLED).
    """
    import mlflow

    tags = {**process_tags(), **kwargs.pop("tags", {})}
    run = mlflow.start_run(experiment_id=experiment_id, tags=tags, **kwargs)
    try:
        yield run
    except BaseException as exc:
        ended = _end_quietly("KILLED" if isinstance(exc, KeyboardInterrupt) else "FAILED")
        fault = None if isinstance(exc, KeyboardInterrupt) else store_fault(exc)
        if fault is None:
            raise
        outcome = "marked FAILED" if ended else "left RUNNING; the next command using the store marks it KILLED"
        raise StoreError(f"MLflow store {mlflow.get_tracking_uri()}: {fault}; run {run.info.run_id} was {outcome}; "
                         "runs and models stored before are intact (free space or fix the store, then rerun)") from None
    else:
        if not _end_quietly("FINISHED"):
            raise StoreError(f"MLflow store {mlflow.get_tracking_uri()}: run {run.info.run_id} finished but could "
                             "not be marked FINISHED (is the disk full?); the next command using the store marks it "
                             "KILLED")
