"""Optuna tuning on the walk-forward objective, shared by many workers.

:mod:`~training.tuning.space` (search space and sampler), :mod:`~training.tuning.objective`
(hold-out split and walk-forward objective), :mod:`~training.tuning.storage` (journal
files and databases), :mod:`~training.tuning.records` (MLflow records of a study) and
:mod:`~training.tuning.worker` (one worker; ``regime train --params best``).
"""
