"""Honest out-of-sample evaluation: folds, the walk-forward engine, metrics and scores.

:mod:`~training.evaluation.folds` (where each test block starts and ends),
:mod:`~training.evaluation.walk_forward` (refit fold by fold, collect forecasts),
:mod:`~training.evaluation.metrics` (IC, OOS R², bootstrap, Diebold-Mariano),
:mod:`~training.evaluation.scores` (tables of every forecaster),
:mod:`~training.evaluation.skill` (squared-error skill and the pooled test the gate uses),
:mod:`~training.evaluation.sealed` (where the sealed final segment starts), and the regime and
strategy summaries (:mod:`~training.evaluation.regime_quality`,
:mod:`~training.evaluation.strategy`).
"""
