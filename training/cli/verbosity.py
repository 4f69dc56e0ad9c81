"""How much a command says besides its results: the project's own notes, libraries' INFO lines only on request.

MLflow configures its own logger when it is imported (level from ``MLFLOW_LOGGING_LEVEL``,
INFO by default: "Creating initial MLflow database tables...", "Updating database tables"),
so the level is set both in the environment, for an import still to come, and on the logger,
for one already made. Its registry prints ("Successfully registered model ...") follow the
``mlflow`` logger's level (:func:`training.tracking.registry.register_model`).
"""

from __future__ import annotations

import logging
import os

#: The project's packages: their INFO lines (waiting for a lock, which tuning trial is used) are shown.
OWN_PACKAGES = ("features", "regime", "models", "training")
#: Libraries with loggers of their own, held to the libraries' level.
LIBRARIES = ("mlflow", "alembic", "urllib3", "matplotlib", "shap", "numba", "git", "yfinance", "filelock")


def configure_logging(debug: bool = False, verbose: bool = False, quiet: bool = False) -> None:
    """Set the log levels of a command.

    Parameters
    ----------
    debug : bool
        Everything, down to DEBUG.
    verbose : bool
        Also the libraries' INFO lines (MLflow's store set-up and registry messages, ...).
    quiet : bool
        Only warnings and errors, the project's own included.
    """
    own = logging.DEBUG if debug else logging.WARNING if quiet else logging.INFO
    libraries = logging.DEBUG if debug else logging.INFO if verbose and not quiet else logging.WARNING
    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(libraries)
    for name in OWN_PACKAGES:
        logging.getLogger(name).setLevel(own)
    for name in LIBRARIES:
        logging.getLogger(name).setLevel(libraries)
    os.environ["MLFLOW_LOGGING_LEVEL"] = logging.getLevelName(libraries)
    if not debug:
        _drop_library_tracebacks()
        # It logs each failed SQL statement (a full disk: the statement, its values, a link) before raising it
        # as an MlflowException, which the command then states in one line.
        logging.getLogger("mlflow.store.db.utils").setLevel(logging.CRITICAL)
    # hmmlearn warns when a MAP step (the transition prior) lowers the likelihood by a hair: not news.
    logging.getLogger("hmmlearn").setLevel(logging.DEBUG if debug else logging.ERROR)


def _drop_library_tracebacks() -> None:
    """Keep libraries' log lines, but not the tracebacks they attach (``exc_info``, ``stack_info``).

    MLflow logs a full traceback for each failed write (a full disk gave three before the
    command's own one-line error); the error the command then raises says what happened, and
    ``--debug`` shows everything. Set on the record factory, so it holds for handlers that
    libraries add to their own loggers after this (MLflow adds one when it is imported).
    """
    make = logging.getLogRecordFactory()
    if getattr(make, "drops_library_tracebacks", False):
        return

    def factory(name, level, fn, lno, msg, args, exc_info, func=None, sinfo=None, **kwargs):  # noqa: ANN001
        if name.split(".", 1)[0] not in OWN_PACKAGES:
            exc_info, sinfo = None, None
        return make(name, level, fn, lno, msg, args, exc_info, func, sinfo, **kwargs)

    factory.drops_library_tracebacks = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
