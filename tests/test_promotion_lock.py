"""The promotion lock of a remote store: chosen before the work, a PostgreSQL advisory lock every
machine reaches, exclusive across sessions, released when its session ends, never showing a password."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from features.errors import ConfigError, StoreError
from training.config import Config
from training.promotion.advisory import lock_key
from training.promotion.lock import LOCK_URL_ENV, choose_lock, promotion_lock
from training.tracking.credentials import hide_password

SERVER = "http://mlflow-host:5000"


@pytest.fixture
def postgres_url() -> str:
    """The test PostgreSQL's URL; skips where there is none."""
    url = os.environ.get("REGIME_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("REGIME_TEST_POSTGRES_URL is unset: `source .ci/postgres.sh` starts a test PostgreSQL")
    try:
        choose_lock(SERVER, url)
    except StoreError as exc:
        pytest.skip(f"the PostgreSQL of REGIME_TEST_POSTGRES_URL is unreachable: {exc}")
    return url


def test_a_remote_store_without_a_lock_is_refused_unless_the_caller_serialises(monkeypatch):
    monkeypatch.delenv(LOCK_URL_ENV, raising=False)
    with pytest.raises(ConfigError, match=r"^nothing serialises promotions into http://mlflow-host:5000: .*"
                                          r"REGIME_LOCK_URL .*--promote-without-lock"):
        choose_lock(SERVER)
    lock = choose_lock(SERVER, without_lock=True)
    assert lock.path is None and lock.url is None and lock.describe() == "no lock"


def test_the_lock_database_must_be_postgresql_and_reachable_and_its_password_is_never_shown():
    with pytest.raises(ConfigError, match="only PostgreSQL offers the advisory lock"):
        choose_lock(SERVER, "mysql://u@h/db")
    with pytest.raises(StoreError) as caught:
        choose_lock(SERVER, "postgresql://team:s3cret@127.0.0.1:1/locks")
    message = str(caught.value)
    assert message.startswith("promotion lock database postgresql://team:***@127.0.0.1:1/locks: connection failed")
    assert message.endswith("nothing was changed")
    assert "s3cret" not in message and "\n" not in message


def test_passwords_are_hidden_in_the_logged_config():
    cfg = Config().replace(tracking={"tracking_uri": "http://ann:pw1@host:5000",
                                     "lock_url": "postgresql://ann:pw2@db/locks?password=pw3"})
    tracking = cfg.to_dict()["tracking"]
    assert tracking["tracking_uri"] == "http://ann:***@host:5000"
    assert tracking["lock_url"] == "postgresql://ann:***@db/locks?password=***"
    assert hide_password("sqlite:///mlruns/mlflow.db") == "sqlite:///mlruns/mlflow.db"


def test_a_postgresql_store_is_its_own_lock(postgres_url, monkeypatch):
    monkeypatch.delenv(LOCK_URL_ENV, raising=False)
    assert choose_lock(postgres_url).url == postgres_url
    monkeypatch.setenv(LOCK_URL_ENV, postgres_url)
    assert choose_lock(SERVER).url == postgres_url


#: Another process that holds the advisory lock of model $MODEL until stdin closes.
HOLDER = textwrap.dedent("""\
    import os, sys
    from training.promotion.lock import PromotionLock, promotion_lock
    with promotion_lock(PromotionLock("http://mlflow-host:5000", url=os.environ["LOCK"]), os.environ["MODEL"]):
        print("held", flush=True)
        sys.stdin.read()
""")


def _holders(url: str, key: int) -> int:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND "
                                     "((classid::bigint << 32) | objid::bigint) = :k"), {"k": key}
                                ).scalar()
    finally:
        engine.dispose()


def test_the_advisory_lock_waits_for_another_process_and_ends_with_it(postgres_url, caplog):
    model = f"lock-test-{os.getpid()}"
    lock = choose_lock(SERVER, postgres_url)
    with subprocess.Popen([sys.executable, "-c", HOLDER], env={**os.environ, "LOCK": postgres_url, "MODEL": model},
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as holder:
        try:
            assert holder.stdout.readline().strip() == "held"
            with promotion_lock(lock, "another-model") as confirm:  # other models do not wait
                confirm()
            # the holder dies holding it, without a word, 2 s from now: its session ends, and the lock with it
            killer = threading.Timer(2.0, holder.kill)
            killer.start()
            start = time.monotonic()
            with caplog.at_level(logging.INFO, logger="training.promotion"), promotion_lock(lock, model) as confirm:
                waited = time.monotonic() - start
                confirm()
                assert _holders(postgres_url, lock_key(model)) == 1
            killer.join()
        finally:
            holder.kill()
    assert 1.5 < waited < 30
    assert "waiting for another training's promotion (PostgreSQL advisory lock" in caplog.text
    assert _holders(postgres_url, lock_key(model)) == 0


def test_a_lost_session_stops_the_promotion_before_the_alias(postgres_url):
    lock = choose_lock(SERVER, postgres_url)
    model = f"lost-{os.getpid()}"
    with pytest.raises(StoreError, match="the champion alias was not moved"):
        with promotion_lock(lock, model) as confirm:
            engine = create_engine(postgres_url, poolclass=NullPool)
            with engine.connect() as conn:  # the database ends the lock's session (a restart, a network cut)
                conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
                                  "AND ((classid::bigint << 32) | objid::bigint) = :k"),
                             {"k": lock_key(model)})
                conn.commit()
            engine.dispose()
            confirm()
