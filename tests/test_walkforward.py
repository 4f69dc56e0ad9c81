"""Walk-forward folds and the purge: exact index ranges on literal sizes."""

from __future__ import annotations

import numpy as np
import pytest

from features.config import FeatureConfig
from features.design import build_design
from features.errors import DataError
from models.pipeline import RegimeForecastPipeline
from training.evaluation.folds import Fold, walk_forward_folds


def test_expanding_folds_exact_ranges():
    folds = walk_forward_folds(n_rows=20, first=2, initial_train=8, step=4)
    assert folds == [Fold(0, 2, 10, 14), Fold(1, 2, 14, 18), Fold(2, 2, 18, 20)]


def test_rolling_folds_keep_a_fixed_window():
    folds = walk_forward_folds(n_rows=20, first=2, initial_train=8, step=5, window="rolling")
    assert [(f.train_start, f.cutoff, f.test_end) for f in folds] == [(2, 10, 15), (7, 15, 20)]


def test_test_blocks_tile_the_sample_without_overlap():
    folds = walk_forward_folds(1000, 100, 300, 64)
    covered = np.concatenate([np.arange(f.cutoff, f.test_end) for f in folds])
    assert np.array_equal(covered, np.arange(400, 1000))


def test_too_short_history_is_a_clear_error():
    with pytest.raises(DataError, match="too little history"):
        walk_forward_folds(100, 10, 200, 20)


@pytest.mark.parametrize("embargo", [0, 5])
def test_no_training_target_window_reaches_the_test_period(demo_market, embargo):
    design = build_design(demo_market.panel.loc["2016":"2021"], FeatureConfig(), (5, 21, 63))
    pipe = RegimeForecastPipeline(horizons=(5, 21, 63), embargo=embargo)
    for fold in walk_forward_folds(len(design.index), design.first_complete(), 504, 126):
        for h in (5, 21, 63):
            rows = pipe.training_rows(design, h, fold.cutoff, fold.train_start)
            assert rows.max() + h + embargo < fold.cutoff  # the window (i, i+h] ends before the test block
            assert rows.max() + h + embargo == fold.cutoff - 1  # ... and nothing more than needed is purged
            assert design.index[rows.max() + h] < design.index[fold.cutoff]
            assert np.isfinite(design.targets[f"fwd_{h}d"].iloc[rows]).all()


def test_final_fit_uses_every_row_with_a_known_target(demo_market):
    design = build_design(demo_market.panel.loc["2016":"2021"], FeatureConfig(), (21,))
    rows = RegimeForecastPipeline(horizons=(21,)).training_rows(design, 21, len(design.index))
    assert rows[-1] == len(design.index) - 22  # the last row whose 21-day window has ended
