"""Draw a training run's figures (and run its lead-lag scan) in worker processes while the run goes on.

Drawing a dozen PNG figures with matplotlib takes seconds of pure-Python work that holds the
interpreter lock, so threads do not help; a forked worker process does, on a machine with a
second core. The figures are the same bytes either way (matplotlib draws deterministically),
and with one job (``n_jobs=1``) or where ``fork`` is not available they are drawn in this
process, at once.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Any


def _follow_parent(parent: int) -> None:
    """Worker start-up: leave Ctrl-C to the parent, and exit when the parent is gone.

    The parent handles Ctrl-C (it ends the run and stops the workers); a worker of a parent
    killed outright (SIGKILL) would otherwise wait for work forever.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="follow-parent").start()


class PlotJobs:
    """Figures submitted as ``(draw, *args)`` calls, drawn in a worker process; :meth:`wait` joins them.

    Parameters
    ----------
    n_jobs : int
        Processes the run may use. With 2 or more, that many worker processes draw (forked when
        the first figure is submitted, so they share the parent's loaded modules; the parent
        mostly waits for the walk-forward's figures by then); with 1, every figure is drawn in
        this process when submitted.

    Examples
    --------
    >>> with PlotJobs(2) as jobs:  # doctest: +SKIP
    ...     jobs.submit(plots.cumulative_ic, predictions, out / "cumulative_ic.png")
    ...     paths = jobs.wait()
    """

    def __init__(self, n_jobs: int = 2) -> None:
        self.n_jobs = n_jobs
        self._pool: ProcessPoolExecutor | None = None
        self._futures: list[Future] = []
        self._done: list[Path] = []

    def _worker(self) -> ProcessPoolExecutor | None:
        if self.n_jobs < 2 or "fork" not in multiprocessing.get_all_start_methods():
            return None
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self.n_jobs, mp_context=multiprocessing.get_context("fork"),
                                             initializer=_follow_parent, initargs=(os.getpid(),))
        return self._pool

    def submit(self, draw: Callable[..., Path], *args: Any, **kwargs: Any) -> None:
        """Draw ``draw(*args, **kwargs)`` (a :mod:`training.display.plots` function writing a file)."""
        pool = self._worker()
        if pool is None:
            self._done.append(draw(*args, **kwargs))
        else:
            self._futures.append(pool.submit(draw, *args, **kwargs))

    def run(self, work: Callable[..., Any], *args: Any) -> Future:
        """Start ``work(*args)`` (CPU-bound, its result wanted: the lead-lag scan); its Future.

        Queued behind the figures submitted before it; done at once, in this process, without workers.
        """
        pool = self._worker()
        if pool is not None:
            return pool.submit(work, *args)
        done: Future = Future()
        try:
            done.set_result(work(*args))
        except Exception as exc:  # noqa: BLE001 - handed to the caller by result(), as from a worker
            done.set_exception(exc)
        return done

    def wait(self) -> list[Path]:
        """Block until every submitted figure is written; their paths, in order of submission.

        Raises
        ------
        Exception
            The first error a figure raised, as raised in the worker.
        """
        self._done.extend(f.result() for f in self._futures)
        self._futures = []
        return list(self._done)

    def close(self) -> None:
        """Stop the worker process (figures not yet drawn are cancelled)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> "PlotJobs":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
