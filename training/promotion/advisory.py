"""A PostgreSQL advisory lock: one promotion at a time across every machine that reaches the database.

``pg_advisory_lock`` is held by a database session, not by a row or a file: it waits while
another session holds the same key and is released by ``pg_advisory_unlock`` or when the
session ends, so a training whose process dies or whose network drops never leaves it held.
The session runs in autocommit (no open transaction, so ``idle_in_transaction_session_timeout``
cannot end it), and the key is derived from the registered model's name: trainings of one
model wait for each other, other models do not. Messages show the URL without its password.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from features.errors import ConfigError, StoreError
from training.tracking.credentials import hide_password

logger = logging.getLogger(__name__)

#: Seconds to wait for the lock database to answer a connection.
CONNECT_TIMEOUT = 10


def lock_key(model_name: str) -> int:
    """The advisory lock's key for a registered model: a signed 64-bit integer (PostgreSQL's ``bigint``).

    Parameters
    ----------
    model_name : str

    Returns
    -------
    int
    """
    digest = hashlib.blake2b(f"btc-regime promotion {model_name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _engine(url: str) -> Any:
    """A pool-less SQLAlchemy engine on ``url`` in autocommit; a :class:`ConfigError` for a URL that is not PostgreSQL's."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError
    from sqlalchemy.pool import NullPool

    shown = hide_password(url)
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(f"promotion lock {shown} is not a database URL (postgresql://user@host/db)") from None
    if parsed.get_backend_name() != "postgresql":
        raise ConfigError(f"promotion lock {shown}: only PostgreSQL offers the advisory lock it needs "
                          "(postgresql://user@host/db)")
    try:
        return create_engine(parsed, poolclass=NullPool, isolation_level="AUTOCOMMIT",
                             connect_args={"connect_timeout": CONNECT_TIMEOUT})
    except ImportError as exc:
        driver = getattr(exc, "name", None) or "its driver"
        raise ConfigError(f"promotion lock {shown}: {driver} is not installed (`pip install 'psycopg[binary]'`)") from None


def _failure(url: str, exc: BaseException, consequence: str) -> StoreError:
    cause = getattr(exc, "orig", None) or exc  # the driver's own words, without SQLAlchemy's wrapping
    return StoreError(f"promotion lock database {hide_password(url)}: {_first_line(cause)}; {consequence}")


@contextmanager
def _session(url: str, consequence: str) -> Iterator[Callable[[str, dict[str, int] | None], Any]]:
    """One session on ``url``; yields ``query(sql, params)`` -> first column of the first row.

    A database that cannot be reached, or fails one of these queries, is one :class:`StoreError`
    line ending with ``consequence``; errors raised by the block itself pass unchanged.
    """
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    engine = _engine(url)
    try:
        try:
            conn = engine.connect()
        except SQLAlchemyError as exc:
            raise _failure(url, exc, consequence) from None

        def query(sql: str, params: dict[str, int] | None = None) -> Any:
            try:
                return conn.execute(text(sql), params or {}).scalar()
            except SQLAlchemyError as exc:
                raise _failure(url, exc, consequence) from None

        try:
            yield query
        finally:
            conn.close()
    finally:
        engine.dispose()


def check_lock_database(url: str) -> None:
    """Connect to the lock database once, before the work (a :class:`StoreError` line if it cannot be reached).

    Parameters
    ----------
    url : str
        SQLAlchemy URL of a PostgreSQL database.
    """
    with _session(url, "nothing was changed") as query:
        query("SELECT 1")


@contextmanager
def advisory_lock(url: str, model_name: str) -> Iterator[Callable[[], None]]:
    """Hold the promotion lock of ``model_name`` on the database at ``url`` for the block.

    Parameters
    ----------
    url : str
        SQLAlchemy URL of a PostgreSQL database every training reaches.
    model_name : str
        The registered model (the lock's key, :func:`lock_key`).

    Yields
    ------
    callable
        ``confirm()``: raises a :class:`StoreError` when the session, and with it the lock,
        has been lost (call it just before the write the lock protects).

    Raises
    ------
    ConfigError
        For a URL that is not PostgreSQL's, or a missing driver.
    StoreError
        When the database cannot be reached, or fails before the protected write.
    """
    key = lock_key(model_name)
    shown = hide_password(url)
    with _session(url, "the champion alias was not moved") as query:
        if not query("SELECT pg_try_advisory_lock(:k)", {"k": key}):
            logger.info("waiting for another training's promotion (PostgreSQL advisory lock %d on %s)", key, shown)
            query("SELECT pg_advisory_lock(:k)", {"k": key})

        def confirm() -> None:
            if not query("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                         "AND pid = pg_backend_pid()"):
                raise StoreError(f"the promotion lock on {shown} was lost; the champion alias was not moved")

        try:
            yield confirm
        finally:
            try:
                query("SELECT pg_advisory_unlock(:k)", {"k": key})
            except StoreError:  # the session is gone, and the lock with it
                logger.warning("could not release the promotion lock on %s: its session had ended, "
                               "which released it", shown)
