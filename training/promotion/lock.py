"""One promotion at a time per store: reading the champion, comparing and moving the alias under a lock.

Two trainings that finish together would otherwise both compare against the same
champion and the last alias write would win, whatever its data. Which lock serialises them
depends on the store (:func:`choose_lock`):

- a local store (``sqlite:///``, a file store): an exclusive ``fcntl`` file lock beside it
  (released by the kernel when a process dies, so a killed job never leaves it held);
- a remote store (a tracking server, a database URL): a PostgreSQL advisory lock
  (:mod:`training.promotion.advisory`) on the database named by ``[tracking] lock_url`` or
  ``$REGIME_LOCK_URL``, by default the store's own database when it is PostgreSQL. A remote
  store with no lock is refused before the work unless ``promote_without_lock`` says the
  caller serialises its trainings (docs/decisions.md, docs/deploy.md).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from features.errors import ConfigError
from training.promotion.advisory import advisory_lock, check_lock_database
from training.tracking.credentials import hide_password

logger = logging.getLogger(__name__)

LOCK_NAME = "promotion.lock"
#: Environment variable naming the lock database of a remote store.
LOCK_URL_ENV = "REGIME_LOCK_URL"


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


@dataclass(frozen=True)
class PromotionLock:
    """How promotions into one store are serialised.

    Attributes
    ----------
    store : str
        The tracking URI.
    path : pathlib.Path or None
        The file lock of a local store.
    url : str or None
        The PostgreSQL database of the advisory lock of a remote store.
    """

    store: str
    path: Path | None = None
    url: str | None = None

    def describe(self) -> str:
        """The lock in words, without passwords."""
        if self.path is not None:
            return f"file lock {self.path}"
        if self.url is not None:
            return f"PostgreSQL advisory lock on {hide_password(self.url)}"
        return "no lock"


def choose_lock(tracking_uri: str, lock_url: str | None = None, without_lock: bool = False) -> PromotionLock:
    """The lock that serialises promotions into ``tracking_uri``, checked before the work.

    Parameters
    ----------
    tracking_uri : str
        The store.
    lock_url : str, optional
        ``[tracking] lock_url``; None reads ``$REGIME_LOCK_URL``, then the store itself when it
        is a PostgreSQL URL. Not used for a local store (its file lock serves).
    without_lock : bool
        ``promote_without_lock``: a remote store without a lock is accepted (the caller
        serialises its trainings).

    Returns
    -------
    PromotionLock

    Raises
    ------
    ConfigError
        For a remote store without a lock (and not ``without_lock``), or a lock URL that is not PostgreSQL's.
    StoreError
        When the lock database cannot be reached.
    """
    path = lock_path(tracking_uri)
    if path is not None:
        try:
            import fcntl  # noqa: F401 - only its presence matters here
        except ImportError:  # pragma: no cover - Windows: no file lock
            path = None
        return PromotionLock(tracking_uri, path=path)
    url = lock_url or os.environ.get(LOCK_URL_ENV) or (tracking_uri if tracking_uri.startswith("postgresql") else None)
    if url:
        check_lock_database(url)
        return PromotionLock(tracking_uri, url=url)
    if without_lock:
        return PromotionLock(tracking_uri)
    raise ConfigError(f"nothing serialises promotions into {hide_password(tracking_uri)}: trainings that finish "
                      "together could both become champion. Set $REGIME_LOCK_URL (or [tracking] lock_url) to a "
                      "PostgreSQL database every training reaches, or pass --promote-without-lock if you serialise "
                      "them yourself (docs/deploy.md); --no-register trains without promoting")


@contextmanager
def promotion_lock(lock: PromotionLock, model_name: str) -> Iterator[Callable[[], None]]:
    """Hold ``lock`` for the block (waits for another training's promotion).

    Parameters
    ----------
    lock : PromotionLock
        From :func:`choose_lock`.
    model_name : str
        The registered model being promoted (the advisory lock's key).

    Yields
    ------
    callable
        ``confirm()``, to call just before moving the alias: raises when the lock was lost
        (an advisory lock whose database session ended); nothing for a file lock or no lock.
    """
    if lock.url is not None:
        with advisory_lock(lock.url, model_name) as confirm:
            yield confirm
        return
    if lock.path is None:
        if lock_path(lock.store) is None:  # a remote store, on the caller's word (promote_without_lock)
            logger.warning("promotion into %s is not locked (--promote-without-lock): trainings finishing together "
                           "are serialised only by whoever runs them", hide_password(lock.store))
        yield _nothing
        return
    import fcntl

    lock.path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock.path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            logger.info("waiting for another training's promotion (lock %s)", lock.path)
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield _nothing
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _nothing() -> None:
    """``confirm()`` of a lock that cannot be lost while its process lives."""
