"""The ``regime`` command line: thin commands that parse, call a job, print.

:mod:`~training.cli.app` holds the root app and ``train``/``predict``/``explain``;
:mod:`~training.cli.data` the ``data`` group; :mod:`~training.cli.tune` ``tune``;
:mod:`~training.cli.thesis` ``leadlag``/``now``/``report``; :mod:`~training.cli.common`
the shared options and loaders. Light imports only: ``regime --help`` loads no model stack.
"""

from training.cli.app import app, main

__all__ = ["app", "main"]
