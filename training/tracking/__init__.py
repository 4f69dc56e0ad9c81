"""MLflow: the store (:mod:`~training.tracking.store`), logging and loading the pyfunc model
(:mod:`~training.tracking.model_io`), the registry's versions and aliases
(:mod:`~training.tracking.registry`), earlier runs' artifacts (:mod:`~training.tracking.runs`)
and the identity of a data panel and of a chain's recipe (:mod:`~training.tracking.fingerprint`).
"""
