"""One promotion at a time per store: reading the champion, comparing and moving the alias under a lock.

Two trainings that finish together would otherwise both compare against the same
champion and the last alias write would win, whatever its data. For a local store the
lock is an exclusive ``fcntl`` file lock beside it (released by the kernel when a process
dies, so a killed job never leaves it held). A remote store (a tracking server, a
database URL) has no lock the registry offers: trainings registering into one are
serialised by whoever runs them (docs/reliability.md).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urlparse

logger = logging.getLogger(__name__)

LOCK_NAME = "promotion.lock"


def lock_path(tracking_uri: str) -> Path | None:
    """The lock file of a local store, or None for a remote one.

    Parameters
    ----------
    tracking_uri : str
        ``sqlite:///path/mlflow.db`` (lock ``path/mlflow.db.promotion.lock``), a
        ``file:`` URI or a plain folder of MLflow's file store (lock ``.promotion.lock`` in it).

    Returns
    -------
    pathlib.Path or None
    """
    if tracking_uri.startswith("sqlite:///"):
        db = Path(tracking_uri.removeprefix("sqlite:///"))
        return db.with_name(f"{db.name}.{LOCK_NAME}")
    if tracking_uri.split(":")[0] in ("databricks", "databricks-uc", "uc"):
        return None
    parsed = urlparse(tracking_uri)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path)) / f".{LOCK_NAME}"
    if parsed.scheme == "":  # a folder of the file store
        return Path(tracking_uri) / f".{LOCK_NAME}"
    return None


@contextmanager
def promotion_lock(tracking_uri: str) -> Iterator[Path | None]:
    """Hold the store's promotion lock for the block (waits for another training's promotion).

    Parameters
    ----------
    tracking_uri : str
        The store (see :func:`lock_path`).

    Yields
    ------
    pathlib.Path or None
        The lock file held, or None when the store has no lock (remote, or no ``fcntl``).
    """
    path = lock_path(tracking_uri)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        path = None
    if path is None:
        logger.info("no promotion lock for %s: concurrent trainings into it are not serialised", tracking_uri)
        yield None
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            logger.info("waiting for another training's promotion (lock %s)", path)
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield path
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
