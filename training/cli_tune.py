"""``regime tune``: Optuna search over the walk-forward objective (placeholder)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root ``app``."""
