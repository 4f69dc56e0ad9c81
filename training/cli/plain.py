"""Library and OS exceptions that reach the command line, in plain words.

The product translates what it can where it calls a library (a model that cannot be loaded,
LightGBM refusing a parameter, a store that cannot serve). What still arrives at the CLI's
one error handler is either a fault of the machine (a full disk, a file that cannot be
written, a store another process holds) or a bug; :func:`plain_error` words the first kind,
and only bugs remain ``unexpected``.
"""

from __future__ import annotations

import errno
import sys

#: What to do about an OS error, by its errno.
ADVICE = {
    errno.ENOSPC: "free some space and rerun",
    errno.EACCES: "no permission: choose a place you can write to",
    errno.EPERM: "no permission: choose a place you can write to",
    errno.EROFS: "a read-only file system: choose a place you can write to",
    errno.EISDIR: "a folder where a file was expected: give a file name",
    errno.ENOTDIR: "a file where a folder was expected",
    errno.ENOENT: "no such file or folder",
}


#: What SQLite says when the store's disk is full, its file read-only or its lock held by another process.
SQLITE_FAULTS = ("database or disk is full", "readonly database", "database is locked")


def plain_error(exc: BaseException) -> str | None:
    """One line naming the store or file at fault and the fix, or None when ``exc`` is no such fault (a bug).

    Examples: ``MLflow store sqlite:///mlruns/mlflow.db: no space left on the device (writing
    ...); free some space and rerun``; ``/tmp/x.png: Permission denied (no permission: choose a
    place you can write to)``.
    """
    from training.tracking.lifecycle import store_fault

    chain = _chain(exc)
    sqlite = next((e for e in chain if not isinstance(e, OSError) and any(t in str(e) for t in SQLITE_FAULTS)), None)
    if sqlite is not None:
        fault = store_fault(sqlite)
        mlflow = sys.modules.get("mlflow")
        uri = mlflow.get_tracking_uri() if mlflow is not None else "(the MLflow store)"
        return f"MLflow store {uri}: {fault}; nothing more was written (rerun when it is fixed)"
    os_error = next((e for e in chain if isinstance(e, OSError) and e.errno in ADVICE), None)
    if os_error is not None:
        where = os_error.filename2 or os_error.filename
        what = f"{where}: {os_error.strerror}" if where else os_error.strerror or str(os_error)
        return f"{what} ({ADVICE[os_error.errno]})"
    return None


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and the exceptions it was raised from or during, outermost first."""
    out: list[BaseException] = []
    e: BaseException | None = exc
    while e is not None and all(e is not seen for seen in out):
        out.append(e)
        e = e.__cause__ or e.__context__
    return out
