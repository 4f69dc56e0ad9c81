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
    # hmmlearn warns when a MAP step (the transition prior) lowers the likelihood by a hair: not news.
    logging.getLogger("hmmlearn").setLevel(logging.DEBUG if debug else logging.ERROR)
