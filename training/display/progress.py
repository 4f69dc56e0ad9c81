"""The progress interface of long jobs (kept light: the CLI imports it at start-up)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from features.config import DataConfig


class Reporter:
    """Receives progress from a job; the CLI subclasses it with a progress bar. Default: silent."""

    def data(self, config: DataConfig, panel: pd.DataFrame, note: str = "") -> None:
        """The job read its data: ``panel`` from ``config`` (the CLI prints the data line)."""

    def stage(self, name: str) -> None:
        """A new stage begins."""

    def fold(self, done: int, total: int) -> None:
        """A walk-forward fold finished."""
