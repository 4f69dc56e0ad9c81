"""Errors raised by the libraries the project calls (hmmlearn, LightGBM) become one line naming what to change."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.errors import ConfigError, DataError
from regime.hmm import RegimeHMM
from training.lgbm_params import check_lgbm_params


def test_hmmlearn_refusing_the_observations_is_one_line(monkeypatch):
    def refuse(self, X, lengths=None):
        raise ValueError("'covars' must be symmetric, positive-definite")

    monkeypatch.setattr("hmmlearn.hmm.GaussianHMM.fit", refuse)
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(300, 2)), columns=["metals", "dollar"],
                     index=pd.bdate_range("2020-01-01", periods=300))
    with pytest.raises(DataError) as info:
        RegimeHMM(n_states=3, n_init=1, anchor=0).fit(X)
    assert str(info.value) == ("the regime model (3-state Gaussian HMM on metals, dollar) cannot be fitted on these "
                               "300 rows (hmmlearn: 'covars' must be symmetric, positive-definite); an observation that "
                               "barely moves or too few rows do this: try fewer states (--n-states) or more data")


@pytest.mark.parametrize(("params", "needle"), [
    ({"num_leaves": 1}, "num_leaves = 1 is refused by LightGBM (Check failed: (num_leaves) > (1))"),
    ({"learning_rate": -1}, "learning_rate = -1 is refused by LightGBM (Check failed: (learning_rate) > (0.0))"),
    ({"max_depth": 2.5}, "max_depth = 2.5 is refused by LightGBM (Parameter max_depth should be of type int"),
    ({"objective": "nope"}, "objective = 'nope' is refused by LightGBM (Unknown objective type name: nope)"),
    ({"n_estimators": 0}, "n_estimators = 0 is refused by LightGBM (Number of boosting rounds must be greater than 0"),
    ({"num_leafs": 8}, "num_leafs is not a LightGBM parameter"),
])
def test_lightgbm_parameters_are_checked_by_lightgbm_before_the_work(params, needle, capfd):
    with pytest.raises(ConfigError) as info:
        check_lgbm_params(params)
    assert str(info.value).startswith(f"`lgbm_params`: {needle}"), str(info.value)
    assert "config_auto.cpp" not in str(info.value) and "[LightGBM]" not in capfd.readouterr().out


def test_lightgbm_aliases_and_valid_values_pass():
    check_lgbm_params({"n_estimators": 60, "min_data_in_leaf": 5, "num_leaves": 8, "learning_rate": 0.05})
