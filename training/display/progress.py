"""The progress interface of long jobs (kept light: the CLI imports it at start-up)."""

from __future__ import annotations


class Reporter:
    """Receives progress from a job; the CLI subclasses it with a progress bar. Default: silent."""

    def stage(self, name: str) -> None:
        """A new stage begins."""

    def fold(self, done: int, total: int) -> None:
        """A walk-forward fold finished."""
