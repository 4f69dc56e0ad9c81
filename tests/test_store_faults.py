"""Store faults told apart: busy, read-only, full, damaged, empty and missing each get their own one line with the
right advice; read commands write nothing into a store; libraries' tracebacks stay off the terminal."""

from __future__ import annotations

import errno
import logging
import re
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from features.errors import StoreError
from tests.conftest import run_cli
from tests.test_cli import _assert_clean_error
from training.tracking import store as store_module
from training.tracking.store import check_store, configure_tracking


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A healthy, empty MLflow store (its tables made) in a temporary folder; its database file."""
    configure_tracking(f"sqlite:///{tmp_path}/store/mlflow.db")
    return tmp_path / "store" / "mlflow.db"


@pytest.fixture
def locked(db: Path) -> Iterator[Path]:
    """``db`` with another connection holding an exclusive (write) lock on it for the test."""
    other = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN EXCLUSIVE")
    yield db
    other.execute("ROLLBACK")
    other.close()


def test_a_locked_store_is_busy_not_damaged(locked: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    """Another process writing: retried briefly, then one line saying so, and no advice to restore a backup."""
    monkeypatch.setattr(store_module, "BUSY_SECONDS", 0.2)
    code, _, err = run_cli(["predict", "--tracking-uri", f"sqlite:///{locked}"], monkeypatch, capsys)
    _assert_clean_error(code, err, f"sqlite:///{locked} is busy: another process holds a write lock", "not damaged")
    assert "damaged (" not in err and "backup" not in err


def test_a_lock_released_while_waiting_is_no_error(db: Path) -> None:
    """A short write by another process (a training logging a metric) is waited for."""
    connection = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    connection.execute("BEGIN EXCLUSIVE")
    threading.Timer(0.3, lambda: connection.execute("ROLLBACK")).start()
    try:
        assert check_store(f"sqlite:///{db}", write=False) == f"sqlite:///{db}"
    finally:
        connection.close()


@pytest.mark.parametrize("command", [["predict"], ["explain"], ["now"], ["report"]])
def test_a_read_command_on_an_empty_store_writes_nothing_and_says_train_first(
        command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    db = tmp_path / "mlflow.db"
    db.touch()
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli([*command, "--tracking-uri", f"sqlite:///{db}"], monkeypatch, capsys)
    _assert_clean_error(code, err, f"{db} is empty (0 bytes: no runs, no models); train a model first")
    assert db.stat().st_size == 0


def test_a_read_command_on_a_missing_store_creates_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(["predict", "--tracking-uri", f"sqlite:///{tmp_path}/new/mlflow.db"], monkeypatch, capsys)
    _assert_clean_error(code, err, "does not exist; train a model first")
    assert not (tmp_path / "new").exists()


def test_a_read_only_store_is_named_for_writing_only(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_module.os, "access", lambda path, mode: False)
    with pytest.raises(StoreError, match="is read-only .* use a writable store"):
        check_store(f"sqlite:///{db}", write=True)
    assert check_store(f"sqlite:///{db}", write=False) == f"sqlite:///{db}"


def test_a_full_disk_is_refused_before_the_work(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = store_module.shutil.disk_usage
    monkeypatch.setattr(store_module.shutil, "disk_usage", lambda p: real(p)._replace(free=2**20))
    with pytest.raises(StoreError, match=r"the disk is full \(1.0 MB free .*nothing was changed. Free some space"):
        check_store(f"sqlite:///{db}", write=True)
    assert check_store(f"sqlite:///{db}", write=False)  # reading needs no space


@pytest.mark.parametrize(("problem", "needle"), [
    (b"", "is empty"),
    (b"SQLite format 3\x00" + b"\x00" * 84, "is damaged ("),
])
def test_empty_and_damaged_are_told_apart(problem: bytes, needle: str, tmp_path: Path) -> None:
    db = tmp_path / "mlflow.db"
    db.write_bytes(problem)
    with pytest.raises(StoreError, match=re.escape(needle)):
        check_store(f"sqlite:///{db}", write=False)


def test_a_read_command_closes_no_runs(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Marking a dead process's run KILLED is a write: only commands that write do it."""
    closed: list[bool] = []
    monkeypatch.setattr("training.tracking.stale_runs.close_dead_runs", lambda: closed.append(True) or [])
    configure_tracking(f"sqlite:///{db}", write=False)
    assert closed == []
    configure_tracking(f"sqlite:///{db}", write=True)
    assert closed == [True]


def test_library_tracebacks_stay_off_the_terminal(capsys) -> None:
    """MLflow logs each failed SQL statement with its traceback before raising; without --debug neither shows."""
    from training.cli.verbosity import configure_logging

    factory = logging.getLogRecordFactory()
    try:
        configure_logging()
        try:
            raise sqlite3.OperationalError("database or disk is full")
        except sqlite3.OperationalError:
            logging.getLogger("mlflow.store.db.utils").exception("SQLAlchemy database error")
            logging.getLogger("mlflow.tracking").error("could not log", exc_info=True)
        err = capsys.readouterr().err
        assert "Traceback" not in err and "SQLAlchemy" not in err and "could not log" in err
    finally:
        logging.setLogRecordFactory(factory)


@pytest.mark.parametrize(("exc", "needle"), [
    (sqlite3.OperationalError("database is locked"), "busy: another process held a write lock"),
    (sqlite3.OperationalError("database or disk is full"), "no space left on the device"),
    (OSError(errno.ENOSPC, "No space left on device", "/x/plot.png"), "/x/plot.png: No space left on device (free"),
    (PermissionError(errno.EACCES, "Permission denied", "/x/out.csv"), "/x/out.csv: Permission denied (no permission"),
])
def test_os_and_sqlite_faults_in_plain_words(exc: BaseException, needle: str) -> None:
    from training.cli.plain import plain_error

    wrapped = RuntimeError("(raised as a result of Query-invoked autoflush)")
    wrapped.__cause__ = exc
    assert needle in (plain_error(wrapped) or "")
    assert plain_error(ValueError("a bug")) is None
