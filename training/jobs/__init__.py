"""The jobs a command runs: training (:mod:`~training.jobs.train`) and explaining
(:mod:`~training.jobs.explain`). Side effects (MLflow, files) live here, not in estimators."""
