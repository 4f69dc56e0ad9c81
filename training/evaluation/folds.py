"""Walk-forward folds: expanding or rolling training windows with periodic refits.

Purging (dropping training rows whose forward target window reaches the test period)
happens where the targets are known, in ``RegimeForecastPipeline.training_rows``; the
folds here only say where each test block starts and ends.
"""

from __future__ import annotations

from dataclasses import dataclass

from features.errors import DataError


@dataclass(frozen=True)
class Fold:
    """One refit: train on positions ``[train_start, cutoff)`` (then purged), test on ``[cutoff, test_end)``."""

    number: int
    train_start: int
    cutoff: int
    test_end: int


def walk_forward_folds(
    n_rows: int, first: int, initial_train: int, step: int, window: str = "expanding"
) -> list[Fold]:
    """Folds over rows ``first .. n_rows - 1``.

    Parameters
    ----------
    n_rows : int
        Rows in the design.
    first : int
        First row with complete features.
    initial_train : int
        Rows of history before the first test row.
    step : int
        Test block length (refit cadence).
    window : {"expanding", "rolling"}
        ``rolling`` keeps only the last ``initial_train`` rows for training.

    Raises
    ------
    DataError
        When the history is too short for even one fold.
    """
    if initial_train < 1 or step < 1:
        raise ValueError(f"`initial_train` and `step` must be >= 1. Got {initial_train}, {step}.")
    first_test = first + initial_train
    if first_test >= n_rows:
        raise DataError(
            f"too little history for walk-forward evaluation: {n_rows - first} business days with complete "
            f"features, need more than initial_train={initial_train}"
        )
    folds = []
    for number, cutoff in enumerate(range(first_test, n_rows, step)):
        train_start = first if window == "expanding" else cutoff - initial_train
        folds.append(Fold(number, train_start, cutoff, min(cutoff + step, n_rows)))
    return folds
