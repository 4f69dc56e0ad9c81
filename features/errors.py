"""Exceptions the product raises for problems a user can fix.

Every error here is caught by the CLI and printed as one line (no traceback): the
message must name the file, series or argument at fault and say what was expected.
"""

from __future__ import annotations


class RegimeError(Exception):
    """Base class for user-facing errors (bad data, bad arguments, missing models)."""


class DataError(RegimeError):
    """Input data is missing, malformed or insufficient."""


class ConfigError(RegimeError):
    """A configuration value or CLI option is out of range."""


class ModelError(RegimeError):
    """A model cannot be found, loaded or applied to the given input."""


class StoreError(RegimeError):
    """The MLflow store cannot be used: missing, read-only, damaged, full, or under a file."""
