"""Optuna tuning on the walk-forward objective, shared by many workers.

:mod:`~training.tuning.space` (search space and sampler), :mod:`~training.tuning.period`
(the panel cut before the sealed segment), :mod:`~training.tuning.objective` (walk-forward
skill, fold by fold), :mod:`~training.tuning.storage` (journal
files and databases), :mod:`~training.tuning.records` (MLflow records of a study) and
:mod:`~training.tuning.worker` (one worker; ``regime train --params best``).
"""
